"""The instructor notebook (nbgrader source) made from a module's chapter, one role at a time.

(One file of ~340 lines: each role's small handler stands next to the ``ROLES`` table that
names it and the orchestrator that runs them, so a role is read in one place.)

Cells of the chapter say, in their metadata key ``course``, where they go:

==================  ===========================  ==================================
``course``          book page                    instructor notebook (nbgrader)
==================  ===========================  ==================================
(none)              shown                        locked cell
``book``            shown                        left out
``notebook``        removed (tag remove-cell)    locked cell
``solution``        stub shown (``show_stub``)   solution cell from the module's code
``test``            runs on the reference        visible autograded test
``hidden``          marker only (nothing runs)   hidden test (written here)
``answer``          removed                      manually graded written answer
``manual``          removed                      manually graded code answer
``provided``        source shown (``show_source``)  locked cell with a function's source
``environment``     removed                      locked cell checking the packages
==================  ===========================  ==================================

``ROLES`` maps each role to a small handler ``(cell, n, ctx) -> [new cells]``;
:func:`instructor_notebook` runs them in order, gives every cell an id derived from its
grade_id (so a prose edit changes only that cell) and fills in the points table. Cells without
a grade_id in the chapter are numbered per kind (``markdown-NNN``, ``code-NNN``,
``provided-NNN``); the prose is no nbgrader cell (read-only through Jupyter's own flags), so
new paragraphs after the first submissions change nothing the gradebook records.

Optional tasks (the manifest's ``[tasks]``) are extra credit: their graded cells carry 0
points for nbgrader and their points in ``EXTRA_CREDIT_KEY``; their smoke calls are wrapped so
an untouched stub prints that it was skipped, and a code answer is a function (``function`` in
the cell's metadata) that a generated locked cell right after it calls the same way.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from functools import cached_property

import nbformat

from course import stubs
from course.chapter import (
    SourceError,
    equation_numbers,
    figure_description,
    model_answers,
    myst_to_jupyter,
    read_chapter,
)
from course.environment import environment_cell_source
from course.manifest import Module
from course.points import EXTRA_CREDIT_KEY, POINTS_MARK, points_table_markdown

SCHEMA = 3  # nbgrader cell metadata schema
#: Tags that only mean something on the book page.
BOOK_TAGS = {"remove-cell", "remove-input", "remove-output", "hide-input", "hide-output", "hide-cell"}
#: Chapter metadata keys that steer generation and never reach the notebook.
COURSE_KEYS = {"course", "grade_id", "points", "function", "value"}
#: The generic entry a hidden test cell calls (finds the module's checks through its manifest).
HIDDEN_ENTRY = "neurograder.hidden"


@dataclass
class Context:
    """What the role handlers read: the module and, loaded once, its code and answers."""

    module: Module
    equations: dict
    #: cells numbered so far per id prefix (:meth:`next_id`)
    counts: dict = field(default_factory=dict)

    def next_id(self, prefix: str) -> str:
        """``<prefix>-NNN``, numbered among the cells of that prefix only: a new cell of one kind
        (e.g. a paragraph of prose) leaves the ids of the other kinds as they were."""
        k = self.counts[prefix] = self.counts.get(prefix, -1) + 1
        return f"{prefix}-{k:03d}"

    @cached_property
    def answers(self) -> dict[str, str]:
        return model_answers(self.module)

    @cached_property
    def checks(self) -> dict:
        return self.module.checks()

    def optional(self, gid) -> bool:
        return gid is not None and self.module.is_optional(gid)


def nbgrader_meta(grade_id, *, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": SCHEMA,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return meta


def clean_meta(cell) -> dict:
    """The chapter cell's metadata without the course's own keys and the book-only tags."""
    meta = {k: v for k, v in cell.metadata.items() if k not in COURSE_KEYS}
    tags = [t for t in meta.get("tags", []) if t not in BOOK_TAGS]
    if tags:
        meta["tags"] = tags
    else:
        meta.pop("tags", None)
    return meta


def cell_id(grade_id: str) -> str:
    """A stable nbformat cell id for a generated cell: its grade_id, in the allowed alphabet."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", grade_id)[:64]


def _code(source, cell, meta_nbgrader):
    new = nbformat.v4.new_code_cell(source, metadata=clean_meta(cell))
    new.metadata["nbgrader"] = meta_nbgrader
    return new


def _markdown(source, cell, meta_nbgrader):
    new = nbformat.v4.new_markdown_cell(source, metadata=clean_meta(cell))
    new.metadata["nbgrader"] = meta_nbgrader
    return new


def _prose(source, cell, name: str):
    """A Markdown cell of the chapter's text: read-only in Jupyter (its own ``editable`` and
    ``deletable`` flags) but no nbgrader cell, so adding or removing prose after submissions
    changes nothing the gradebook records (nbgrader refuses any change to its cells then)."""
    new = nbformat.v4.new_markdown_cell(source, metadata=clean_meta(cell))
    new.metadata.update(editable=False, deletable=False)
    new.id = cell_id(name)
    return new


def _hand_points(new, cell, optional: bool) -> float:
    """nbgrader points of a hand-graded cell: 0 for an optional task, whose points go to extra credit."""
    points = float(cell.metadata["points"])
    if optional:
        new.metadata[EXTRA_CREDIT_KEY] = points
        return 0.0
    return points


def skipped_message(task: str) -> str:
    return f"Task {task} is optional and not attempted: skipped (it only adds extra credit)."


def hidden_cell_source(check, task: str, optional: bool, assignment: str) -> str:
    """A hidden test cell: a visible smoke call, then the hidden tests nbgrader strips from the release.
    An optional task's smoke call prints that it was skipped instead of raising for the stub."""
    kind = "extra-credit points" if optional else "points"
    unit = kind if check.points != 1 else kind[:-1]
    smoke = check.smoke_code()
    if optional:
        smoke = f"try:\n    {smoke}\nexcept NotImplementedError:\n    print({skipped_message(task)!r})"
    return (
        f"# `{check.name}` must be defined and run; hidden tests ({check.points:g} {unit}) "
        f"check it on many inputs when your notebook is graded.\n{smoke}\n"
        f"### BEGIN HIDDEN TESTS\nfrom {HIDDEN_ENTRY} import checks_of\n"
        f"run_check = checks_of({assignment!r})\n"
        f"run_check({check.grade_id!r}, globals())\n### END HIDDEN TESTS"
    )


def manual_cell_source(head: str, answer: str) -> str:
    """A hand-graded code cell: the chapter's lines, then the model answer between solution markers,
    indented like the head's last line (so an answer can be the body of a function the head starts;
    the release's stub then raises only when that function is called)."""
    head = head.rstrip()
    marked = f"{stubs.BEGIN}\n{answer}\n{stubs.END}"
    indent = re.match(r"\s*", head.splitlines()[-1]).group(0) if head else ""
    body = "\n".join(f"{indent}{ln}" if ln.strip() else "" for ln in marked.splitlines())
    return f"{head}\n{body}"


def optional_call_source(function: str, task: str) -> str:
    """The locked cell after an optional task's function: shows what it returns, or says the task
    was skipped while the function is still the stub."""
    return (
        f"# Shows what your `{function}()` returns (optional Task {task}).\n"
        f"from IPython.display import display\n\ntry:\n    shown = {function}()\n"
        f"except NotImplementedError:\n    print({skipped_message(task)!r})\n"
        f"else:\n    if shown is not None:\n        display(shown)"
    )


# ---------------------------------------------------------------- role handlers
def role_book(cell, n, ctx):
    return []


def role_solution(cell, n, ctx):
    gid = cell.metadata.get("grade_id")
    if "function" in cell.metadata:
        reference, name = ctx.module.code("reference"), cell.metadata["function"]
        if not hasattr(reference, name):
            raise SourceError(f"cell {n}: the reference module has no function {name!r}")
        source = stubs.solution_source(getattr(reference, name))
    elif "value" in cell.metadata:
        source = stubs.value_solution_source(cell.metadata["value"], ctx.module.code("values"))
    else:
        raise SourceError(f"cell {n}: a solution cell needs `function` or `value`")
    return [_code(source, cell, nbgrader_meta(gid, solution=True))]


def role_hidden(cell, n, ctx):
    gid = cell.metadata.get("grade_id")
    if gid not in ctx.checks:
        raise SourceError(f"cell {n}: no check {gid!r} in the module's checks")
    check, task, optional = ctx.checks[gid], ctx.module.task_of(gid).number, ctx.optional(gid)
    new = _code(
        hidden_cell_source(check, task, optional, ctx.module.assignment),
        cell,
        nbgrader_meta(gid, grade=True, locked=True, points=0 if optional else check.points),
    )
    if optional:
        new.metadata[EXTRA_CREDIT_KEY] = check.points
    return [new]


def role_test(cell, n, ctx):
    gid = cell.metadata.get("grade_id")
    if ctx.optional(gid):
        raise SourceError(
            f"cell {n}: a visible test of optional Task {ctx.module.task_of(gid).number} would stop Run All"
        )
    return [
        _code(cell.source, cell, nbgrader_meta(gid, grade=True, locked=True, points=float(cell.metadata["points"])))
    ]


def _model_answer(cell, n, ctx) -> str:
    gid = cell.metadata.get("grade_id")
    if gid not in ctx.answers:
        where = ctx.module.answers.name if ctx.module.answers else "the module's answers file"
        raise SourceError(f"cell {n}: no model answer `## {gid}` in {where}")
    return ctx.answers[gid]


def role_answer(cell, n, ctx):
    gid = cell.metadata.get("grade_id")
    new = _markdown(_model_answer(cell, n, ctx), cell, nbgrader_meta(gid, solution=True, grade=True))
    new.metadata["nbgrader"]["points"] = _hand_points(new, cell, ctx.optional(gid))
    return [new]


def role_manual(cell, n, ctx):
    gid = cell.metadata.get("grade_id")
    new = _code(
        manual_cell_source(cell.source, _model_answer(cell, n, ctx)),
        cell,
        nbgrader_meta(gid, solution=True, grade=True),
    )
    new.metadata["nbgrader"]["points"] = _hand_points(new, cell, ctx.optional(gid))
    if not ctx.optional(gid):
        return [new]
    task = ctx.module.task_of(gid).number
    if "function" not in cell.metadata:
        raise SourceError(
            f"cell {n}: optional Task {task}'s code answer needs `function` "
            "(a stub outside a function would stop Run All)"
        )
    # the next cell runs the function, or says the task was skipped
    call = nbformat.v4.new_code_cell(optional_call_source(cell.metadata["function"], task))
    call.metadata["nbgrader"] = nbgrader_meta(f"{gid}-show", locked=True)
    return [new, call]


def provided_function(dotted: str, module: Module, n: int):
    """The function a ``provided`` cell names: ``<role>.<name>`` of the manifest's Python
    (``reference.pulse_train``), or a dotted module path the chapter gives."""
    where, _, name = dotted.rpartition(".")
    code = module.code(where) if where in module.python else importlib.import_module(where)
    func = getattr(code, name, None)
    if func is None:
        raise SourceError(f"cell {n}: {where} has no function {name!r}")
    return func


def role_provided(cell, n, ctx):
    func = provided_function(cell.metadata["function"], ctx.module, n)
    return [_code(stubs.function_source(func), cell, nbgrader_meta(ctx.next_id("provided"), locked=True))]


def role_environment(cell, n, ctx):
    return [_code(environment_cell_source(), cell, nbgrader_meta("environment-check", locked=True))]


def role_shown(cell, n, ctx):
    """A cell shown in both (no role) or only in the notebook: locked; a figure's description
    goes next to it (Jupyter has no alt text)."""
    if cell.cell_type != "code":
        source = myst_to_jupyter(cell.source, ctx.equations, ctx.module)
        return [_prose(source, cell, ctx.next_id("markdown"))]
    out = []
    code_id = ctx.next_id("code")
    alt = figure_description(cell)
    if alt:
        out.append(
            _prose(f"*The figure below, described:* {alt}", nbformat.v4.new_markdown_cell(), f"{code_id}-description")
        )
    out.append(_code(cell.source, cell, nbgrader_meta(code_id, locked=True)))
    return out


ROLES = {
    "book": role_book,
    "solution": role_solution,
    "hidden": role_hidden,
    "test": role_test,
    "answer": role_answer,
    "manual": role_manual,
    "provided": role_provided,
    "environment": role_environment,
    None: role_shown,
    "notebook": role_shown,
}


# ---------------------------------------------------------------- the orchestrator
def _check_unique(chapter) -> None:
    seen = set()
    for cell in chapter.cells:
        gid = cell.metadata.get("grade_id")
        if gid is not None and gid in seen:
            raise SourceError(f"grade_id {gid!r} is used twice")
        seen.add(gid)


def _generate(chapter, ctx) -> list:
    cells = []
    for n, cell in enumerate(chapter.cells):
        role = cell.metadata.get("course")
        if role not in ROLES:
            raise SourceError(f"cell {n}: unknown course role {role!r}")
        for new in ROLES[role](cell, n, ctx):
            if "nbgrader" in new.metadata:  # (prose cells carry their own id)
                new.id = cell_id(new.metadata["nbgrader"]["grade_id"])
            cells.append(new)
    return cells


def _fill_points_table(cells, module) -> None:
    table = points_table_markdown(cells, module)
    for cell in cells:
        if POINTS_MARK in cell.source:
            cell.source = cell.source.replace(POINTS_MARK, table)


def _notebook(cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nbformat.validate(nb)
    return nb


def instructor_notebook(module: Module, chapter: nbformat.NotebookNode | None = None) -> nbformat.NotebookNode:
    """The nbgrader source notebook of ``module``: solutions between markers, hidden tests, points."""
    chapter = chapter or read_chapter(module.chapter)
    _check_unique(chapter)
    cells = _generate(chapter, Context(module, equation_numbers(chapter.cells)))
    _fill_points_table(cells, module)
    return _notebook(cells)
