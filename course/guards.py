"""Two guards the notebook build runs before it deletes or writes anything under grader/.

* **Hand edits.** The instructor notebook ``grader/source/<assignment>/<notebook>`` is
  generated; the digest of what was generated is stored beside it
  (``grader/source/.<assignment>.<notebook>.sha256``, never committed). When the file no
  longer has that digest it was edited by hand: the build stops and names the chapter
  source to edit instead. ``python -m course.notebooks build --discard-edits`` overwrites
  the edited notebook (the edit is lost).
* **Structure after submissions.** nbgrader cannot add or remove graded, solution or locked
  cells of a notebook that has submissions in the gradebook (``generate_assignment`` stops,
  after deleting the release). The build compares the new notebook's cells with the
  gradebook's, using nbgrader's own cell predicates, and refuses such a change first.
  Adding cases to an existing hidden check changes no cell and is always possible.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from course.manifest import COURSE_DIR, MANIFEST, Module

#: nbgrader's default gradebook of the course (grader/nbgrader_config.py sets no other)
GRADEBOOK = COURSE_DIR / "gradebook.db"
DISCARD = "python -m course.notebooks build --discard-edits"


class GuardError(RuntimeError):
    """The build would lose an instructor's work; nothing was deleted or written."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digest_file(module: Module) -> Path:
    """Where the digest of the generated instructor notebook is kept."""
    return module.source_dir.parent / f".{module.assignment}.{module.notebook}.sha256"


def record_generated(module: Module) -> None:
    digest_file(module).write_text(sha256(module.source_dir / module.notebook) + "\n")


def check_not_hand_edited(module: Module) -> None:
    """Stop if the generated instructor notebook was changed since it was generated."""
    path, record = module.source_dir / module.notebook, digest_file(module)
    if not (path.exists() and record.exists()):
        return
    if sha256(path) == record.read_text().strip():
        return
    raise GuardError(
        f"{path.relative_to(COURSE_DIR.parent)} was edited by hand since it was generated, and "
        f"the build would overwrite it. It is made from "
        f"{module.chapter.relative_to(COURSE_DIR.parent)} and the code named in "
        f"{(module.folder / MANIFEST).relative_to(COURSE_DIR.parent)}: make the change there. "
        f"To discard the hand edit, run `{DISCARD}`."
    )


def graded_cells(cells) -> dict[str, set[str]]:
    """The cells nbgrader records per notebook (grade, solution, task, source), by grade_id,
    classified with nbgrader's own predicates (as its SaveCells does)."""
    from nbgrader import utils

    kinds = {"grade": set(), "solution": set(), "task": set(), "source": set()}
    for cell in cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        grade, solution, task = utils.is_grade(cell), utils.is_solution(cell), utils.is_task(cell)
        for kind, flag in (("grade", grade), ("solution", solution), ("task", task)):
            if flag:
                kinds[kind].add(gid)
        if grade or solution or task or utils.is_locked(cell):
            kinds["source"].add(gid)
    return kinds


def recorded_cells(module: Module, gradebook: Path = GRADEBOOK) -> dict[str, set[str]] | None:
    """The cells the gradebook holds for the module's notebook, or None when it has no
    submissions (then nbgrader takes any change)."""
    if not gradebook.exists():
        return None
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{gradebook}") as gb:
        try:
            nb = gb.find_notebook(Path(module.notebook).stem, module.assignment)
        except MissingEntry:
            return None
        if not nb.submissions:
            return None
        return {
            "grade": {c.name for c in nb.grade_cells},
            "solution": {c.name for c in nb.solution_cells},
            "task": {c.name for c in nb.task_cells},
            "source": {c.name for c in nb.source_cells},
        }


def _listed(verb: str, ids: list[str], shown: int = 6) -> str:
    if not ids:
        return ""
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    graded = [i for i in ids if not i.startswith(("code-", "markdown-", "provided-"))]
    first = (graded + [i for i in ids if i not in graded])[:shown]  # graded cells first
    return f"{verb} {', '.join(first)}{more}"


def check_structure(module: Module, nb, gradebook: Path = GRADEBOOK) -> None:
    """Refuse a new notebook whose graded/solution/locked cells differ from the gradebook's
    while the notebook has submissions."""
    old = recorded_cells(module, gradebook)
    if old is None:
        return
    new = graded_cells(nb.cells)
    added = sorted(set().union(*new.values()) - set().union(*old.values()))
    removed = sorted(set().union(*old.values()) - set().union(*new.values()))
    if all(new[k] == old[k] for k in new):
        return
    what = "; ".join(part for part in (_listed("adds", added), _listed("removes", removed)) if part)
    raise GuardError(
        f"{module.assignment}/{module.notebook} has submissions in {gradebook.name}, and this change "
        f"{what or 'changes which cells are graded'}: nbgrader cannot add or remove cells once "
        f"there are submissions (code cells without a grade_id are numbered in order, so adding "
        f"or removing one renumbers the ones after it). Nothing was deleted or written. Prose "
        f"can change freely; to check more inputs, add cases to the existing check (no new "
        f"cell needed); to grade something new, put it in a new assignment; or revert the "
        f"cell change in {module.chapter.name}."
    )
