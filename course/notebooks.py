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
``environment``     removed                      locked cell checking the packages
==================  ===========================  ==================================

Optional tasks (``OPTIONAL_TASKS``) are extra credit: their graded cells carry
0 points for nbgrader (so the gradebook's maximum is the required points) and
their points in the cell metadata key ``extra_credit``, which
``neurograder.extra_credit`` turns into nbgrader's ``Grade.extra_credit``.
An untouched optional task never stops Restart & Run All: its smoke call is
wrapped so that a stub prints that it was skipped, and its code answer is a
function (``function`` in the cell's metadata) that a generated locked cell
right after it calls the same way.

Every generated cell gets a cell id derived from its grade_id, so regenerating
after a prose edit changes only the cells whose text changed.

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
REQUIREMENTS = ROOT / "requirements.txt"  # pinned versions the environment cell names
#: Packages the student notebook needs (import name -> pip name); torch is optional.
STUDENT_PACKAGES = {"numpy": "numpy", "matplotlib": "matplotlib", "h5py": "h5py", "ipywidgets": "ipywidgets"}
#: Files the student notebook needs next to it: (path in the repo, path in the assignment).
COMPANIONS = [
    (ROOT / "book" / "module1" / "shd_data.py", "shd_data.py"),
    (ROOT / "book" / "module1" / "data" / "shd_sample.h5", "data/shd_sample.h5"),
]
#: Inputs whose change makes the notebooks out of date.
INPUTS = [CHAPTER, ANSWERS, REQUIREMENTS, ROOT / "_config.yml", Path(__file__), ROOT / "course" / "stubs.py",
          ROOT / "grader" / "neurograder" / "checks.py", ROOT / "grader" / "nbgrader_config.py",
          *sorted((ROOT / "solutions").glob("*.py")), *(src for src, _ in COMPANIONS)]
#: Tags that only mean something on the book page.
BOOK_TAGS = {"remove-cell", "remove-input", "remove-output", "hide-input", "hide-output", "hide-cell"}

SCHEMA = 3  # nbgrader cell metadata schema
#: Optional tasks (book/contract.md): their points are extra credit.
OPTIONAL_TASKS = {"3.1", "3.2", "4.3"}
#: Cell metadata key holding an optional task's extra-credit points (nbgrader's points are 0).
EXTRA_CREDIT_KEY = "extra_credit"
#: Where the generated points table goes in a notebook-only cell of the chapter.
POINTS_MARK = "{points-table}"


class SourceError(ValueError):
    """The chapter source is malformed (a cell names an unknown function, check, ...)."""


def read_chapter(path: Path = CHAPTER) -> nbformat.NotebookNode:
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(path.read_text(encoding="utf-8"), path=str(path))


def model_answers(path: Path = ANSWERS) -> dict[str, str]:
    """The sections of solutions/answers.md, keyed by the ``## grade_id`` headings, with every
    quoted claim (``{glue:text}`name```) replaced by its computed, checked text."""
    from solutions.claims import substitute

    answers, key = {}, None
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^## (\S+)\s*$", line)
        if m:
            key = m.group(1)
            answers[key] = []
        elif key:
            answers[key].append(line)
    return {k: substitute("\n".join(v).strip()) for k, v in answers.items()}


MATH_BLOCK = re.compile(r"^```\{math\}\n(?::label: *(\S+)\n)?(.*?)^```\n?", re.S | re.M)
ROLE = re.compile(r"\{(\w+)(?::\w+)?\}`([^`]*)`")


def equation_numbers(cells) -> dict[str, int]:
    """Labels of the chapter's numbered equations, numbered in order of appearance."""
    labels = [m.group(1) for c in cells if c.cell_type == "markdown" for m in MATH_BLOCK.finditer(c.source)
              if m.group(1)]
    return {label: n for n, label in enumerate(labels, 1)}


def site_url() -> str:
    """The course site's public base URL from _config.yml (``course_links.site_url``), or ""."""
    return str(course_links().get("site_url") or "").rstrip("/")


def course_links() -> dict:
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8")) or {}
    return config.get("course_links") or {}


def myst_to_jupyter(text: str, equations: dict[str, int], base_url: str | None = None) -> str:
    """MyST markup that plain Jupyter cannot render, as Markdown + LaTeX that it can.

    ```{math}``` blocks become $$ ... \\tag{N} $$; {eq}`label` becomes "Eq. (N)"; a quoted claim
    ({glue:text}`name`) becomes its computed text; {doc}`text <page>` becomes a link to the page on
    the course site when ``course_links.site_url`` is configured, else its text; a {numref} is an
    error (the notebook has no figure numbers); other roles keep their text.
    """
    from solutions.claims import quote

    base_url = site_url() if base_url is None else base_url
    def block(m):
        tag = f" \\tag{{{equations[m.group(1)]}}}" if m.group(1) else ""
        return f"$$\n{m.group(2).strip()}{tag}\n$$\n"

    def role(m):
        kind, body = m.groups()
        if kind == "eq":
            return f"Eq. ({equations[body]})"
        if kind == "glue":
            return quote(body)
        if kind == "numref":
            raise SourceError(f"{{numref}}`{body}` in a notebook cell: the notebook has no figure numbers")
        label = re.sub(r"\s*<[^>]*>$", "", body)
        target = re.search(r"<([^>]*)>$", body)
        if kind == "doc" and base_url:
            page = target.group(1) if target else body
            return f"[{label}]({base_url}/module1/{page}.html)"
        return label

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
        meta, follow = _clean_meta(cell), []
        optional = gid is not None and gid.startswith("task") and task_of(gid) in OPTIONAL_TASKS
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
            if check.bonus != optional:
                raise SourceError(f"cell {n}: check {gid!r} is {'' if check.bonus else 'not '}a bonus check "
                                  f"but Task {task_of(gid)} is {'' if optional else 'not '}optional")
            source = hidden_cell_source(check, task_of(gid))
            new = nbformat.v4.new_code_cell(source, metadata=meta)
            new.metadata["nbgrader"] = _nbgrader(gid, grade=True, locked=True,
                                                 points=0 if optional else check.points)
            if optional:
                new.metadata[EXTRA_CREDIT_KEY] = check.points
        elif role == "test":
            if optional:
                raise SourceError(f"cell {n}: a visible test of optional Task {task_of(gid)} would stop Run All")
            new = nbformat.v4.new_code_cell(cell.source, metadata=meta)
            new.metadata["nbgrader"] = _nbgrader(gid, grade=True, locked=True,
                                                 points=float(cell.metadata["points"]))
        elif role == "answer":
            if gid not in answers:
                raise SourceError(f"cell {n}: no model answer `## {gid}` in {ANSWERS.name}")
            new = nbformat.v4.new_markdown_cell(answers[gid], metadata=meta)
            new.metadata["nbgrader"] = _nbgrader(gid, solution=True, grade=True,
                                                 points=_graded_points(new, cell, optional))
        elif role == "manual":
            if gid not in answers:
                raise SourceError(f"cell {n}: no model answer `## {gid}` in {ANSWERS.name}")
            new = nbformat.v4.new_code_cell(manual_cell_source(cell.source, answers[gid]), metadata=meta)
            new.metadata["nbgrader"] = _nbgrader(gid, solution=True, grade=True,
                                                 points=_graded_points(new, cell, optional))
            if optional and "function" not in cell.metadata:
                raise SourceError(f"cell {n}: optional Task {task_of(gid)}'s code answer needs `function` "
                                  "(a stub outside a function would stop Run All)")
            if optional:  # the next cell runs the function, or says the task was skipped
                call = nbformat.v4.new_code_cell(optional_call_source(cell.metadata["function"], task_of(gid)))
                call.metadata["nbgrader"] = _nbgrader(f"{gid}-show", locked=True)
                call.id = cell_id(call.metadata["nbgrader"]["grade_id"])
                follow.append(call)
        elif role == "provided":
            module, _, name = cell.metadata["function"].rpartition(".")
            func = getattr(importlib.import_module(module), name, None)
            if func is None:
                raise SourceError(f"cell {n}: {module} has no function {name!r}")
            new = nbformat.v4.new_code_cell(stubs.function_source(func), metadata=meta)
            new.metadata["nbgrader"] = _nbgrader(f"provided-{n:03d}", locked=True)
        elif role == "environment":
            new = nbformat.v4.new_code_cell(environment_cell_source(), metadata=meta)
            new.metadata["nbgrader"] = _nbgrader("environment-check", locked=True)
        elif role in (None, "notebook"):
            if cell.cell_type == "code":
                alt = figure_description(cell)
                if alt:  # Jupyter has no alt text: the description goes next to the figure
                    text = nbformat.v4.new_markdown_cell(f"*The figure below, described:* {alt}")
                    text.metadata["nbgrader"] = _nbgrader(f"figure-{n:03d}-description", locked=True)
                    text.id = cell_id(text.metadata["nbgrader"]["grade_id"])
                    cells.append(text)
                new = nbformat.v4.new_code_cell(cell.source, metadata=meta)
            else:
                new = nbformat.v4.new_markdown_cell(myst_to_jupyter(cell.source, equations), metadata=meta)
            new.metadata["nbgrader"] = _nbgrader(f"{cell.cell_type}-{n:03d}", locked=True)
        else:
            raise SourceError(f"cell {n}: unknown course role {role!r}")
        new.id = cell_id(new.metadata["nbgrader"]["grade_id"])
        cells.append(new)
        cells += follow
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


def figure_description(cell) -> str:
    """The alt text of a chapter figure cell (``mystnb.image.alt``), on one line, or ""."""
    alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
    return " ".join(str(alt).split())


def cell_id(grade_id: str) -> str:
    """A stable nbformat cell id for a generated cell: its grade_id, in the allowed alphabet."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", grade_id)[:64]


def _graded_points(new, cell, optional: bool) -> float:
    """nbgrader points of a hand-graded cell: 0 for an optional task, whose points go to extra credit."""
    points = float(cell.metadata["points"])
    if optional:
        new.metadata[EXTRA_CREDIT_KEY] = points
        return 0.0
    return points


def skipped_message(task: str) -> str:
    return f"Task {task} is optional and not attempted: skipped (it only adds extra credit)."


def hidden_cell_source(check, task: str) -> str:
    """A hidden test cell: a visible smoke call, then the hidden tests nbgrader strips from the release.
    An optional task's smoke call prints that it was skipped instead of raising for the stub."""
    kind = "extra-credit points" if check.bonus else "points"
    unit = kind if check.points != 1 else kind[:-1]
    smoke = check.smoke_code()
    if check.bonus:
        smoke = (f"try:\n    {smoke}\nexcept NotImplementedError:\n"
                 f"    print({skipped_message(task)!r})")
    return (f"# `{check.name}` must be defined and run; hidden tests ({check.points:g} {unit}) "
            f"check it on many inputs when your notebook is graded.\n{smoke}\n"
            "### BEGIN HIDDEN TESTS\nfrom neurograder.checks import run_check\n"
            f"run_check({check.grade_id!r}, globals())\n### END HIDDEN TESTS")


def manual_cell_source(head: str, answer: str) -> str:
    """A hand-graded code cell: the chapter's lines, then the model answer between solution markers,
    indented like the head's last line (so an answer can be the body of a function the head starts;
    the release's stub then raises only when that function is called)."""
    head = head.rstrip()
    indent = re.match(r"\s*", head.splitlines()[-1]).group(0) if head else ""
    body = "\n".join(f"{indent}{ln}" if ln.strip() else "" for ln in stubs_markers(answer).splitlines())
    return f"{head}\n{body}"


def optional_call_source(function: str, task: str) -> str:
    """The locked cell after an optional task's function: shows what it returns, or says the task
    was skipped while the function is still the stub."""
    return (f"# Shows what your `{function}()` returns (optional Task {task}).\n"
            f"from IPython.display import display\n\ntry:\n    shown = {function}()\n"
            f"except NotImplementedError:\n    print({skipped_message(task)!r})\n"
            f"else:\n    if shown is not None:\n        display(shown)")


def stubs_markers(answer: str) -> str:
    from course import stubs

    return f"{stubs.BEGIN}\n{answer}\n{stubs.END}"


def pinned_versions(path: Path = REQUIREMENTS) -> dict[str, str]:
    """{package: version} of the exact pins in requirements.txt."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def student_requirements() -> dict[str, str]:
    """{import name: pip requirement} of the packages the student notebook needs, pinned."""
    pins = pinned_versions()
    return {module: f"{pkg}=={pins[pkg]}" if pkg in pins else pkg for module, pkg in STUDENT_PACKAGES.items()}


def environment_cell_source() -> str:
    """The notebook's first code cell: says, per missing package, what to install."""
    needed = student_requirements()
    return f"""# Run this cell first: it checks that the packages this notebook needs are installed.
import importlib.util

NEEDED = {needed!r}  # import name -> pip requirement (the versions the course was tested with)
missing = [req for module, req in NEEDED.items() if importlib.util.find_spec(module) is None]
for req in missing:
    print(f"Missing package: run  %pip install {{req}}  in a new cell, then restart the kernel.")
if not missing:
    print("All packages found. PyTorch is optional: nothing in this notebook needs it.")"""


# ---------------------------------------------------------------- launch links
def launch_links(links: dict | None = None) -> dict[str, str]:
    """{"JupyterHub": nbgitpuller URL, "Colab": URL} for the released notebook, from
    ``course_links`` in _config.yml; a link is offered only when its settings are all given."""
    from urllib.parse import quote, urlencode

    links = course_links() if links is None else links
    repo, branch = links.get("repository") or "", links.get("branch") or "main"
    path = (links.get("notebook_path") or "").strip("/")
    hub = (links.get("jupyterhub") or "").rstrip("/")
    out = {}
    if not (repo and path):
        return out
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repo):
        raise SourceError(f"course_links.repository must be a GitHub 'owner/name', got {repo!r}")
    if hub:
        query = urlencode({"repo": f"https://github.com/{repo}", "branch": branch,
                           "urlpath": f"lab/tree/{repo.split('/')[1]}/{path}"})
        out["JupyterHub"] = f"{hub}/hub/user-redirect/git-pull?{query}"
    out["Colab"] = f"https://colab.research.google.com/github/{repo}/blob/{quote(branch)}/{quote(path)}"
    return out


def launch_links_html(links: dict | None = None) -> str:
    """The chapter's launch links as HTML ("" when none is configured)."""
    from html import escape

    found = launch_links(links)
    if not found:
        return ""
    items = " · ".join(f"<a href='{escape(url)}'>Open the assignment in {escape(name)}</a>"
                       for name, url in found.items())
    return f"<p class='launch-links'>{items}</p>"


# ---------------------------------------------------------------- points
def task_of(grade_id: str) -> str:
    """'task41_li_surface_hidden' -> '4.1'; 'task0_input_data' -> '0'."""
    m = re.match(r"task(\d)(\d?)_", grade_id)
    if not m:
        raise SourceError(f"grade_id {grade_id!r} does not start with task<N>_")
    return m.group(1) + (f".{m.group(2)}" if m.group(2) else "")


def points_by_task(cells) -> dict[str, dict[str, float]]:
    """{task: {"autograded": points, "manual": points}} over the graded cells, in order; an optional
    task's points are its cells' extra credit."""
    table: dict[str, dict[str, float]] = {}
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        kind = "autograded" if cell.cell_type == "code" and not meta.get("solution") else "manual"
        row = table.setdefault(task_of(meta["grade_id"]), {"autograded": 0.0, "manual": 0.0})
        row[kind] += float(meta["points"]) + float(cell.metadata.get(EXTRA_CREDIT_KEY, 0))
    return table


POINTS_HEADER = ("task", "autograded", "graded by hand", "points")


def points_rows(cells=None) -> tuple[list[tuple[str, ...]], float, float]:
    """The points table's rows, the required total and the extra-credit total."""
    if cells is None:
        cells = instructor_notebook().cells
    rows, core, extra = [], 0.0, 0.0
    for task, p in points_by_task(cells).items():
        total = p["autograded"] + p["manual"]
        optional = task in OPTIONAL_TASKS
        core, extra = (core, extra + total) if optional else (core + total, extra)
        rows.append((f"{task} (optional)" if optional else task, f"{p['autograded']:g}", f"{p['manual']:g}",
                     f"{total:g} extra credit" if optional else f"{total:g}"))
    return rows, core, extra


def points_table_markdown(cells=None) -> str:
    """The points table as a Markdown table (the notebook renders GFM tables)."""
    rows, core, extra = points_rows(cells)
    lines = ["| " + " | ".join(POINTS_HEADER) + " |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines.append(f"| **total** | | | **{core:g}** + {extra:g} extra credit |")
    return "\n".join(lines)


def points_table_html(cells=None) -> str:
    """The points table as an HTML table (the book page shows HTML outputs as they are)."""
    from html import escape

    rows, core, extra = points_rows(cells)
    head = "".join(f"<th>{escape(h)}</th>" for h in POINTS_HEADER)
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    total = (f"<tr><th scope='row'>total</th><td></td><td></td>"
             f"<td><strong>{core:g}</strong> + {extra:g} extra credit</td></tr>")
    return (f"<table class='points-table'><caption>Points per task (the gradebook's maximum is "
            f"{core:g}; optional tasks add extra credit)</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}{total}</tbody></table>")


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
    parser.add_argument("command", choices=["build", "source", "student-requirements"],
                        help="build: all steps; source: step 1 only; student-requirements: print the "
                             "pip requirements the student notebook's environment cell names")
    parser.add_argument("--force", action="store_true", help="rebuild even if inputs are unchanged")
    args = parser.parse_args(argv)
    from solutions.claims import ClaimError

    try:
        if args.command == "student-requirements":
            print(" ".join(student_requirements().values()))
        elif args.command == "source":
            step_source()
        else:
            build(force=args.force)
    except SourceError as err:
        print(f"[notebooks] error in {CHAPTER.relative_to(ROOT)}: {err}", file=sys.stderr)
        return 2
    except ClaimError as err:  # a claim the text quotes is false, or not registered
        print(f"[notebooks] {err}; fix the text or solutions/claims.py", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
