"""Helpers for the chapter tests: make submissions and score them.

A submission is the release notebook with its solution cells filled in; it is
scored the way nbgrader scores it (a graded cell earns its points when it runs
without error), either in this process (fast, for the corpus) or by the real
nbgrader CLI (tests/test_chapter_grading.py).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from pathlib import Path

import matplotlib
import nbformat

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def graded_cells(nb) -> dict[str, float]:
    """{grade_id: points} of the autograded test cells."""
    return {
        m["grade_id"]: float(m["points"])
        for c in nb.cells
        if (m := nbgrader_meta(c)).get("grade") and not m.get("solution") and c.cell_type == "code"
    }


def solution_sources(nb) -> dict[str, str]:
    return {
        nbgrader_meta(c)["grade_id"]: c.source
        for c in nb.cells
        if nbgrader_meta(c).get("solution") and c.cell_type == "code"
    }


def make_submission(instructor_nb, release_nb, replace: dict[str, str] | None = None):
    """The release notebook with every code solution cell filled in: the reference
    solution (from the instructor notebook) unless ``replace`` gives other code."""
    reference = solution_sources(instructor_nb)
    replace = replace or {}
    unknown = set(replace) - set(reference)
    assert not unknown, f"no solution cells {unknown}"
    nb = nbformat.reads(nbformat.writes(release_nb), as_version=4)
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if cell.cell_type == "code" and nbgrader_meta(cell).get("solution"):
            cell.source = replace.get(gid, reference[gid]).strip("\n")
    return nb


def score_in_process(submission, instructor_nb) -> dict[str, bool]:
    """Run the setup cells before the first solution (environment check, imports), the solution
    cells and the graded test cells of a
    submission, with the hidden tests put back from the instructor notebook, in a fresh
    namespace; return {grade_id: passed} for the graded test cells."""
    hidden = {
        nbgrader_meta(c)["grade_id"]: c.source
        for c in instructor_nb.cells
        if nbgrader_meta(c).get("grade") and c.cell_type == "code"
    }
    namespace: dict = {"__name__": "__main__"}
    results: dict[str, bool] = {}
    first_solution = next(i for i, c in enumerate(submission.cells) if nbgrader_meta(c).get("solution"))
    setup = [c for c in submission.cells[:first_solution] if c.cell_type == "code"]  # environment, imports
    with _in_dir(ROOT / "book" / "module1"), contextlib.redirect_stdout(io.StringIO()):
        for cell in submission.cells:
            meta = nbgrader_meta(cell)
            manual = meta.get("solution") and meta.get("grade")  # graded by hand, not run here
            if (
                cell.cell_type != "code"
                or manual
                or not (any(cell is c for c in setup) or meta.get("solution") or meta.get("grade"))
            ):
                continue
            gid = meta.get("grade_id")
            source = hidden.get(gid, cell.source) if meta.get("grade") else cell.source
            try:
                exec(compile(source, f"<cell {gid}>", "exec"), namespace)
                ok = True
            except Exception:  # noqa: BLE001 - a failing cell is a lost point, as in nbgrader
                ok = False
            if meta.get("grade") and not meta.get("solution"):
                results[gid] = ok
    return results


@contextlib.contextmanager
def _in_dir(path: Path):
    old = os.getcwd()
    sys.path.insert(0, str(path))
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)
        sys.path.remove(str(path))
