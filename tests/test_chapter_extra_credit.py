"""Are the optional tasks extra credit, the same on the page, in the notebook and in nbgrader?

Through the real ``nbgrader autograde`` and ``nbgrader export`` with the course's own
``grader/nbgrader_config.py`` (both autograde chains: sandboxed and plain), in a temporary
course: a student with every required task right and no optional one scores the required
maximum (not the required + optional maximum), and a passing optional check adds its points
as extra credit on top.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from chapter_tools import make_submission, nbgrader_meta
from course import notebooks
from neurograder.checks import CHECKS

ROOT = Path(__file__).resolve().parents[1]
NBGRADER = str(Path(sys.executable).with_name("nbgrader"))


def required_points(nb) -> float:
    return sum(float(nbgrader_meta(c).get("points", 0)) for c in nb.cells if nbgrader_meta(c).get("grade"))


def extra_points(nb) -> float:
    return sum(float(c.metadata.get(notebooks.EXTRA_CREDIT_KEY, 0)) for c in nb.cells)


def test_optional_cells_carry_no_nbgrader_points_and_their_points_as_extra_credit():
    """Do optional tasks' graded cells count 0 towards the maximum and carry their points as extra credit,
    and is every bonus check an optional task's?"""
    nb = notebooks.instructor_notebook()
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta.get("grade"):
            continue
        optional = notebooks.task_of(meta["grade_id"]) in notebooks.OPTIONAL_TASKS
        assert (meta["points"] == 0) == optional, meta["grade_id"]
        assert (notebooks.EXTRA_CREDIT_KEY in cell.metadata) == optional, meta["grade_id"]
        if meta["grade_id"] in CHECKS:
            assert CHECKS[meta["grade_id"]].bonus == optional
    rows, core, extra = notebooks.points_rows(nb.cells)
    assert (core, extra) == (required_points(nb), extra_points(nb))
    assert f"**{core:g}** + {extra:g} extra credit" in notebooks.points_table_markdown(nb.cells)
    assert f"<strong>{core:g}</strong> + {extra:g} extra credit" in notebooks.points_table_html(nb.cells)


def _run(course: Path, *args: str, plain: bool) -> None:
    env = notebooks.venv_env()
    if plain:
        env["NEUROGRADER_PLAIN"] = "1"
    done = subprocess.run([NBGRADER, *args, "--log-level=WARN"], cwd=course, capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("chain", ["sandboxed", "plain"])
def test_gradebook_maximum_is_the_required_points_and_optional_work_is_extra(chain, tmp_path):
    """Through real nbgrader autograde + export with the course config: does a student with every required
    task right and no optional one export as required/required, and one with everything right get the
    optional autograded points as extra credit on top?"""
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "grader" / "nbgrader_config.py", course / "nbgrader_config.py")
    notebooks.write_source(course / "source" / notebooks.ASSIGNMENT)
    _run(course, "generate_assignment", notebooks.ASSIGNMENT, "--force", plain=True)
    instructor = nbformat.read(course / "source" / notebooks.ASSIGNMENT / notebooks.NOTEBOOK, as_version=4)
    release = nbformat.read(course / "release" / notebooks.ASSIGNMENT / notebooks.NOTEBOOK, as_version=4)
    stubs = {nbgrader_meta(c)["grade_id"]: c.source for c in release.cells if c.cell_type == "code"}
    optional = {gid for gid in stubs if gid.startswith("task")
                and notebooks.task_of(gid) in notebooks.OPTIONAL_TASKS and nbgrader_meta(
                    next(c for c in release.cells if nbgrader_meta(c).get("grade_id") == gid)).get("solution")}
    students = {"core": make_submission(instructor, release, {gid: stubs[gid] for gid in optional}),
                "everything": make_submission(instructor, release)}
    for name, nb in students.items():
        dest = course / "submitted" / name / notebooks.ASSIGNMENT
        shutil.copytree(course / "release" / notebooks.ASSIGNMENT, dest)
        nbformat.write(nb, dest / notebooks.NOTEBOOK)
    _run(course, "autograde", notebooks.ASSIGNMENT, "--force", plain=chain == "plain")
    _run(course, "export", plain=True)
    with open(course / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    required = required_points(instructor)
    # the hand-graded required items (written answers) are not graded yet: nbgrader counts them 0
    hand = sum(float(nbgrader_meta(c)["points"]) for c in instructor.cells
               if nbgrader_meta(c).get("grade") and nbgrader_meta(c).get("solution"))
    auto_extra = sum(c.points for c in CHECKS.values() if c.bonus)
    assert float(rows["core"]["max_score"]) == float(rows["everything"]["max_score"]) == required
    assert float(rows["core"]["score"]) == required - hand
    assert float(rows["everything"]["score"]) == required - hand + auto_extra
