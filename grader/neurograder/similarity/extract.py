"""Step 1: read a class's submissions and pick each student's solution cells and written
answers by the source notebook's grade_ids (the grader's own :func:`student_solution_cells`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..grading import SourceSpec, nbg, student_solution_cells
from .normalise import supplied_material


@dataclass
class Task:
    grade_id: str
    kind: str  # "code" or "answer"


@dataclass
class Submission:
    student: str
    cells: dict[str, str] = field(default_factory=dict)  # grade_id -> raw source
    problem: str | None = None  # why it is not compared at all


def course_tasks(spec: SourceSpec) -> list[Task]:
    """Every solution cell of the source notebook, in notebook order: code or written answer."""
    tasks = []
    for cell in spec.nb.cells:
        md = nbg(cell)
        if md.get("solution") and md.get("grade_id"):
            tasks.append(Task(md["grade_id"], "code" if cell.cell_type == "code" else "answer"))
    return tasks


def read_notebook(path: Path):
    """The notebook's cells at ``path`` (``nb.cells``, each source one string), or a ValueError
    saying why it is unusable.

    Not validated against the schema (a student's stray metadata must not stop the report),
    and outputs are left as read (only sources are compared)."""
    import nbformat

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot be read as a notebook ({type(exc).__name__})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ValueError("is not a Jupyter notebook (no list of cells)")
    cells = []
    for cell in data["cells"]:
        if not isinstance(cell, dict):
            raise ValueError("is not a Jupyter notebook (a cell is not an object)")
        cell = nbformat.NotebookNode(cell)
        if isinstance(cell.get("source"), list):  # as nbformat.read joins them
            cell["source"] = "".join(str(line) for line in cell["source"])
        cells.append(cell)
    return nbformat.NotebookNode(cells=cells)


def _text(source) -> str:
    """A cell source as one string, whatever a hand-edited notebook holds there."""
    if isinstance(source, str):
        return source
    if isinstance(source, list):
        return "".join(str(line) for line in source)
    return "" if source is None else str(source)


def student_answers(nb, tasks: list[Task]) -> dict[str, str]:
    """The student's markdown answer cells, by grade_id (first match)."""
    wanted = {t.grade_id for t in tasks if t.kind == "answer"}
    found = {}
    for cell in nb.cells:
        gid = nbg(cell).get("grade_id")
        if gid in wanted and gid not in found and cell.get("cell_type") == "markdown":
            found[gid] = _text(cell.get("source", ""))
    return found


def load_submission(path: Path, student: str, spec: SourceSpec, tasks: list[Task]) -> Submission:
    """One student's cells; a missing or unreadable notebook is kept with the reason."""
    sub = Submission(student)
    if not path.is_file():
        sub.problem = "no notebook submitted"
        return sub
    try:
        nb = read_notebook(path)
        cells, _ = student_solution_cells(nb, spec)
    except (ValueError, AttributeError, TypeError) as exc:
        sub.problem = (
            f"notebook {exc}"
            if isinstance(exc, ValueError)
            else f"notebook has an unexpected structure ({type(exc).__name__})"
        )
        return sub
    sub.cells = {c["grade_id"]: _text(c["source"]) for c in cells}
    sub.cells.update(student_answers(nb, tasks))
    return sub


def load_class(course: Path, assignment: str, notebook: str | None = None):
    """(spec, tasks, supplied, submissions) of an nbgrader course folder."""
    course = Path(course)
    nb_name = notebook or _only_notebook(course / "source" / assignment)
    spec = SourceSpec.load(course / "source" / assignment / nb_name)
    release = course / "release" / assignment / nb_name
    if not release.is_file():
        raise FileNotFoundError(
            f"{release} is missing: run `make notebooks` (or nbgrader "
            "generate_assignment) first; it says what the course supplies"
        )
    supplied = supplied_material(read_notebook(release))
    tasks = course_tasks(spec)
    root = course / "submitted"
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    subs = [load_submission(p / assignment / nb_name, p.name, spec, tasks) for p in folders]
    return spec, tasks, supplied, subs


def _only_notebook(folder: Path) -> str:
    found = sorted(p.name for p in folder.glob("*.ipynb"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected one notebook in {folder}, found {found or 'none'} (pass --notebook)")
    return found[0]
