"""Make the assignment notebooks from the one chapter source.

``book/module1/neurons.md`` is the book page *and* the source of the
assignment. Its cells say, in their metadata key ``course``, where they go:

==================  ===========================  ==================================
``course``          book page                    instructor notebook (nbgrader)
==================  ===========================  ==================================
(none)              shown                        locked cell
``book``            shown                        left out
``notebook``        removed (tag remove-cell)    locked cell
``solution``        stub shown (``show_stub``)   solution cell from solutions/
``test``            runs on the reference        visible autograded test
``hidden``          runs, removed                hidden test (``run_check``)
``answer``          removed                      manually graded written answer
``manual``          removed                      manually graded code answer
``provided``        source shown (``show_source``)  locked cell with a function's source
==================  ===========================  ==================================

Pipeline (``python -m course.notebooks build``), steps in order:

1. ``source``: write ``grader/source/module1/neurons.ipynb`` and copy the files
   the notebook needs next to it (data loader and sample);
2. ``release``: ``nbgrader generate_assignment module1`` (the real CLI);
3. ``download``: zip the release into ``_build/downloads/module1.zip``, which
   the chapter links.

A step is skipped when the hash of its inputs is unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
# ---- settings, in one place
CHAPTER = ROOT / "book" / "module1" / "neurons.md"  # the one source
ASSIGNMENT = "module1"  # nbgrader assignment id (fixed by the course contract)
NOTEBOOK = "neurons.ipynb"  # notebook name (fixed by the course contract)
COURSE_DIR = ROOT / "grader"  # nbgrader course root
SOURCE_DIR = COURSE_DIR / "source" / ASSIGNMENT
RELEASE_DIR = COURSE_DIR / "release" / ASSIGNMENT
DOWNLOAD = ROOT / "_build" / "downloads" / f"{ASSIGNMENT}.zip"  # linked from the chapter
ANSWERS = ROOT / "solutions" / "answers.md"  # model answers of the written questions
#: Files the student notebook needs next to it: (path in the repo, path in the assignment).
COMPANIONS = [
    (ROOT / "book" / "module1" / "shd_data.py", "shd_data.py"),
    (ROOT / "book" / "module1" / "data" / "shd_sample.h5", "data/shd_sample.h5"),
]
#: Inputs whose change makes the notebooks out of date.
INPUTS = [CHAPTER, ANSWERS, Path(__file__), ROOT / "course" / "stubs.py",
          ROOT / "grader" / "neurograder" / "checks.py", ROOT / "grader" / "nbgrader_config.py",
          *sorted((ROOT / "solutions").glob("*.py")), *(src for src, _ in COMPANIONS)]
#: Tags that only mean something on the book page.
BOOK_TAGS = {"remove-cell", "remove-input", "remove-output", "hide-input", "hide-output", "hide-cell"}

SCHEMA = 3  # nbgrader cell metadata schema
#: Optional tasks (COURSE_SPEC.md): their points are extra credit.
OPTIONAL_TASKS = {"3.1", "3.2", "4.3"}
#: Where the generated points table goes in a notebook-only cell of the chapter.
POINTS_MARK = "{points-table}"


class SourceError(ValueError):
    """The chapter source is malformed (a cell names an unknown function, check, ...)."""


def read_chapter(path: Path = CHAPTER) -> nbformat.NotebookNode:
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(path.read_text(encoding="utf-8"), path=str(path))


def model_answers(path: Path = ANSWERS) -> dict[str, str]:
    """The sections of solutions/answers.md, keyed by the ``## grade_id`` headings."""
    answers, key = {}, None
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^## (\S+)\s*$", line)
        if m:
            key = m.group(1)
            answers[key] = []
        elif key:
            answers[key].append(line)
    return {k: "\n".join(v).strip() for k, v in answers.items()}


MATH_BLOCK = re.compile(r"^```\{math\}\n(?::label: *(\S+)\n)?(.*?)^```\n?", re.S | re.M)
ROLE = re.compile(r"\{(\w+)(?::\w+)?\}`([^`]*)`")


def equation_numbers(cells) -> dict[str, int]:
    """Labels of the chapter's numbered equations, numbered in order of appearance."""
    labels = [m.group(1) for c in cells if c.cell_type == "markdown" for m in MATH_BLOCK.finditer(c.source)
              if m.group(1)]
    return {label: n for n, label in enumerate(labels, 1)}


def myst_to_jupyter(text: str, equations: dict[str, int]) -> str:
    """MyST markup that plain Jupyter cannot render, as Markdown + LaTeX that it can.

    ```{math}``` blocks become $$ ... \\tag{N} $$; {eq}`label` becomes "Eq. (N)"; other roles
    ({doc}, {numref}, {cite}, ...) keep their text (the book links them; the notebook cannot).
    """
    def block(m):
        tag = f" \\tag{{{equations[m.group(1)]}}}" if m.group(1) else ""
        return f"$$\n{m.group(2).strip()}{tag}\n$$\n"

    def role(m):
        kind, body = m.groups()
        if kind == "eq":
            return f"Eq. ({equations[body]})"
        if kind == "numref":
            return "a figure on the course's web page"
        return re.sub(r"\s*<[^>]*>$", "", body)

    text = re.sub(r"^\(\S+\)=\n", "", text, flags=re.M)  # (target)= labels
    return ROLE.sub(role, MATH_BLOCK.sub(block, text))


def _nbgrader(grade_id, *, solution=False, grade=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def _clean_meta(cell):
    meta = {k: v for k, v in cell.metadata.items() if k not in {"course", "grade_id", "points", "function",
                                                                   "value"}}
    tags = [t for t in meta.get("tags", []) if t not in BOOK_TAGS]
    if tags:
        meta["tags"] = tags
    else:
        meta.pop("tags", None)
    return meta


def instructor_notebook(chapter: nbformat.NotebookNode | None = None) -> nbformat.NotebookNode:
    """The nbgrader source notebook: solutions between markers, hidden tests, points."""
    from course import stubs
    from neurograder.checks import CHECKS

    chapter = chapter or read_chapter()
    reference = importlib.import_module("solutions.reference")
    answers = model_answers()
    equations = equation_numbers(chapter.cells)
    cells, seen = [], set()
    for n, cell in enumerate(chapter.cells):
        role = cell.metadata.get("course")
        gid = cell.metadata.get("grade_id")
        if role == "book":
            continue
        if gid is not None and gid in seen:
            raise SourceError(f"grade_id {gid!r} is used twice")
        seen.add(gid)
        meta = _clean_meta(cell)
        if role == "solution":
            if "function" in cell.metadata:
                name = cell.metadata["function"]
                if not hasattr(reference, name):
                    raise SourceError(f"cell {n}: solutions.reference has no function {name!r}")
                source = stubs.solution_source(getattr(reference, name))
            elif "value" in cell.metadata:
                source = stubs.value_solution_source(cell.metadata["value"])
            else:
                raise SourceError(f"cell {n}: a solution cell needs `function` or `value`")
            new = nbformat.v4.new_code_cell(source, metadata=meta)
            new.metadata["nbgrader"] = _nbgrader(gid, solution=True)
        elif role == "hidden":
            if gid not in CHECKS:
                raise SourceError(f"cell {n}: no check {gid!r} in neurograder.checks")
            check = CHECKS[gid]
            kind = "bonus points" if check.bonus else "points"
            unit = kind if check.points != 1 else kind[:-1]
            source = (f"# `{check.name}` must be defined and run; hidden tests ({check.points:g} {unit}) "
                      f"check it on many inputs when your notebook is graded.\n{check.smoke_code()}\n"
                      "### BEGIN HIDDEN TESTS\nfrom neurograder.checks import run_check\n"
                      f"run_check({gid!r}, globals())\n### END HIDDEN TESTS")
            new = nbformat.v4.new_code_cell(source, metadata=meta)
            new.metadata["nbgrader"] = _nbgrader(gid, grade=True, locked=True, points=check.points)
        elif role == "test":
            new = nbformat.v4.new_code_cell(cell.source, metadata=meta)
            new.metadata["nbgrader"] = _nbgrader(gid, grade=True, locked=True,
                                                 points=float(cell.metadata["points"]))
        elif role == "answer":
            if gid not in answers:
                raise SourceError(f"cell {n}: no model answer `## {gid}` in {ANSWERS.name}")
            new = nbformat.v4.new_markdown_cell(answers[gid], metadata=meta)
            new.metadata["nbgrader"] = _nbgrader(gid, solution=True, grade=True,
                                                 points=float(cell.metadata["points"]))
        elif role == "manual":
            if gid not in answers:
                raise SourceError(f"cell {n}: no model answer `## {gid}` in {ANSWERS.name}")
            source = f"{cell.source.rstrip()}\n{stubs.BEGIN}\n{answers[gid]}\n{stubs.END}"
            new = nbformat.v4.new_code_cell(source, metadata=meta)
            new.metadata["nbgrader"] = _nbgrader(gid, solution=True, grade=True,
                                                 points=float(cell.metadata["points"]))
        elif role == "provided":
            module, _, name = cell.metadata["function"].rpartition(".")
            func = getattr(importlib.import_module(module), name, None)
            if func is None:
                raise SourceError(f"cell {n}: {module} has no function {name!r}")
            new = nbformat.v4.new_code_cell(stubs.function_source(func), metadata=meta)
            new.metadata["nbgrader"] = _nbgrader(f"provided-{n:03d}", locked=True)
        elif role in (None, "notebook"):
            if cell.cell_type == "code":
                new = nbformat.v4.new_code_cell(cell.source, metadata=meta)
            else:
                new = nbformat.v4.new_markdown_cell(myst_to_jupyter(cell.source, equations), metadata=meta)
            new.metadata["nbgrader"] = _nbgrader(f"{cell.cell_type}-{n:03d}", locked=True)
        else:
            raise SourceError(f"cell {n}: unknown course role {role!r}")
        cells.append(new)
    table = points_table_markdown(cells)
    for cell in cells:
        if POINTS_MARK in cell.source:
            cell.source = cell.source.replace(POINTS_MARK, table)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                  "name": "python3"},
                   "language_info": {"name": "python"}}
    nbformat.validate(nb)
    return nb


# ---------------------------------------------------------------- points
def task_of(grade_id: str) -> str:
    """'task41_li_surface_hidden' -> '4.1'; 'task0_input_data' -> '0'."""
    m = re.match(r"task(\d)(\d?)_", grade_id)
    if not m:
        raise SourceError(f"grade_id {grade_id!r} does not start with task<N>_")
    return m.group(1) + (f".{m.group(2)}" if m.group(2) else "")


def points_by_task(cells) -> dict[str, dict[str, float]]:
    """{task: {"autograded": points, "written": points}} over the graded cells, in order."""
    table: dict[str, dict[str, float]] = {}
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        kind = "autograded" if cell.cell_type == "code" and not meta.get("solution") else "manual"
        row = table.setdefault(task_of(meta["grade_id"]), {"autograded": 0.0, "manual": 0.0})
        row[kind] += float(meta["points"])
    return table


def points_table_markdown(cells=None) -> str:
    """The points table of the assignment, from the graded cells themselves."""
    if cells is None:
        cells = instructor_notebook().cells
    rows = ["| task | autograded | graded by hand | points |", "|---|---|---|---|"]
    core = extra = 0.0
    for task, p in points_by_task(cells).items():
        total = p["autograded"] + p["manual"]
        optional = task in OPTIONAL_TASKS
        core, extra = (core, extra + total) if optional else (core + total, extra)
        label = f"{task} (optional)" if optional else task
        rows.append(f"| {label} | {p['autograded']:g} | {p['manual']:g} | "
                    f"{total:g}{' extra credit' if optional else ''} |")
    rows.append(f"| **total** | | | **{core:g}** + {extra:g} extra credit |")
    return "\n".join(rows)


# ---------------------------------------------------------------- pipeline steps
def _digest() -> str:
    h = hashlib.sha256()
    for path in INPUTS:
        h.update(path.name.encode())
        h.update(path.read_bytes() if path.exists() else b"<missing>")
    return h.hexdigest()


def write_source(dest: Path) -> Path:
    """Write the instructor notebook and its companion files into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    nbformat.write(instructor_notebook(), dest / NOTEBOOK)
    for src, rel in COMPANIONS:
        if not src.exists():
            raise SourceError(f"{src.relative_to(ROOT)} is missing; the notebook needs it")
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest / rel)
    return dest / NOTEBOOK


def step_source() -> None:
    write_source(SOURCE_DIR)
    print(f"[notebooks] wrote {SOURCE_DIR.relative_to(ROOT)}/{NOTEBOOK}", flush=True)


def venv_env() -> dict:
    """The environment with this interpreter's bin/ first on PATH: nbgrader runs
    `alembic` from PATH when it creates a gradebook."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def step_release() -> None:
    cmd = [str(Path(sys.executable).with_name("nbgrader")), "generate_assignment", ASSIGNMENT,
           "--force", "--log-level=WARN"]
    print(f"[notebooks] {' '.join(cmd[1:])} (in grader/)", flush=True)
    subprocess.run(cmd, cwd=COURSE_DIR, check=True, env=venv_env())


def step_download() -> None:
    DOWNLOAD.parent.mkdir(parents=True, exist_ok=True)
    tmp = DOWNLOAD.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(RELEASE_DIR.rglob("*")):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts:
                info = zipfile.ZipInfo(f"{ASSIGNMENT}/{path.relative_to(RELEASE_DIR)}",
                                       date_time=(2026, 1, 1, 0, 0, 0))  # byte-identical rebuilds
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
    tmp.replace(DOWNLOAD)
    print(f"[notebooks] wrote {DOWNLOAD.relative_to(ROOT)}", flush=True)


STEPS = [step_source, step_release, step_download]
STAMP = ROOT / ".stamps" / "notebooks.sha256"


def build(force: bool = False) -> None:
    digest = _digest()
    outputs = [SOURCE_DIR / NOTEBOOK, RELEASE_DIR / NOTEBOOK, DOWNLOAD]
    if not force and STAMP.exists() and STAMP.read_text() == digest and all(p.exists() for p in outputs):
        print("[notebooks] up to date", flush=True)
        return
    for step in STEPS:
        step()
    STAMP.parent.mkdir(exist_ok=True)
    STAMP.write_text(digest)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "source"], help="build: all steps; source: step 1 only")
    parser.add_argument("--force", action="store_true", help="rebuild even if inputs are unchanged")
    args = parser.parse_args(argv)
    try:
        if args.command == "source":
            step_source()
        else:
            build(force=args.force)
    except SourceError as err:
        print(f"[notebooks] error in {CHAPTER.relative_to(ROOT)}: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
