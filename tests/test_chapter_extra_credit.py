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

import sharing
from attacks.corpus import ON_TIME
from chapter_tools import make_submission, nbgrader_meta
from course import notebooks
from course.manifest import module
from kernels import ORACLE_ENV, PLAIN_WAITS_CFG

ROOT = Path(__file__).resolve().parents[1]
CHECKS = module("module1").checks()  # module 1's hidden checks, through its manifest
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
    if plain:  # nbgrader's own chain, as in every plain-nbgrader run of the tests
        env.update(ORACLE_ENV)
    done = subprocess.run(
        [NBGRADER, *args, "--log-level=WARN"], cwd=course, capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


def _released_course(course: Path, new_course):
    """A fresh course at ``course`` (the ``new_course`` fixture: the course config, the source
    notebook, the real ``nbgrader generate_assignment``); returns its instructor and release
    notebooks."""
    new_course(course)
    instructor = nbformat.read(course / "source" / notebooks.ASSIGNMENT / notebooks.NOTEBOOK, as_version=4)
    release = nbformat.read(course / "release" / notebooks.ASSIGNMENT / notebooks.NOTEBOOK, as_version=4)
    return instructor, release


def _graded_course(course: Path, new_course, chain: str):
    """``course`` released, with two on-time submissions graded by the real ``nbgrader autograde``
    through ``chain`` ("sandboxed" or "plain"): "everything" did every task, "core" left the
    optional tasks' solution cells as released. Returns the instructor notebook."""
    instructor, release = _released_course(course, new_course)
    stubs = {
        nbgrader_meta(c)["grade_id"]: c.source
        for c in release.cells
        if c.cell_type == "code" and nbgrader_meta(c).get("solution")
    }
    optional = {gid: src for gid, src in stubs.items() if notebooks.task_of(gid) in notebooks.OPTIONAL_TASKS}
    assert optional, "no optional task to leave out"
    for name, nb in {
        "core": make_submission(instructor, release, optional),
        "everything": make_submission(instructor, release),
    }.items():
        dest = course / "submitted" / name / notebooks.ASSIGNMENT
        shutil.copytree(course / "release" / notebooks.ASSIGNMENT, dest)
        nbformat.write(nb, dest / notebooks.NOTEBOOK)
        (dest / "timestamp.txt").write_text(ON_TIME)
    if chain == "plain":  # (its kernel waits in slices, as in every plain-nbgrader run of the tests)
        with open(course / "nbgrader_config.py", "a") as fh:
            fh.write(PLAIN_WAITS_CFG)
    _run(course, "autograde", notebooks.ASSIGNMENT, "--force", plain=chain == "plain")
    return instructor


@pytest.fixture(scope="module")
def feedback_course(tmp_path_factory, new_course):
    """A course graded by the real ``nbgrader autograde`` (sandboxed chain, :func:`_graded_course`)
    with feedback from the real ``nbgrader generate_feedback``: "everything" did every task (the
    optional band-pass passes; the optional code answer waits for a hand grade), "core" left the
    optional tasks as released. Graded once for this module: the sandboxed chain's export test
    reads a copy of it."""
    course = tmp_path_factory.mktemp("feedback") / "course"
    _graded_course(course, new_course, "sandboxed")
    _run(course, "generate_feedback", notebooks.ASSIGNMENT, "--force", plain=False)
    return course


@pytest.mark.timeout(600)
@pytest.mark.parametrize("chain", ["sandboxed", "plain"])
def test_gradebook_maximum_is_the_required_points_and_optional_work_is_extra(chain, request, tmp_path, new_course):
    """Through real nbgrader autograde + export with the course config: does a student with every required
    task right and no optional one export as required/required, and one with everything right get the
    optional autograded points as extra credit on top?"""
    course = tmp_path / "course"
    if chain == "sandboxed":  # the module's sandboxed autograde (feedback_course), copied
        sharing.private_copy(request.getfixturevalue("feedback_course"), course)
        instructor = nbformat.read(course / "source" / notebooks.ASSIGNMENT / notebooks.NOTEBOOK, as_version=4)
    else:
        instructor = _graded_course(course, new_course, chain)
    _run(course, "export", plain=True)
    with open(course / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    required = required_points(instructor)
    # the hand-graded required items (written answers) are not graded yet: nbgrader counts them 0
    hand = sum(
        float(nbgrader_meta(c)["points"])
        for c in instructor.cells
        if nbgrader_meta(c).get("grade") and nbgrader_meta(c).get("solution")
    )
    auto_extra = sum(c.points for c in CHECKS.values() if c.bonus)
    assert float(rows["core"]["max_score"]) == float(rows["everything"]["max_score"]) == required
    assert float(rows["core"]["score"]) == required - hand
    assert float(rows["everything"]["score"]) == required - hand + auto_extra


def _feedback(course: Path, student: str) -> str:
    return (course / "feedback" / student / notebooks.ASSIGNMENT / "neurons.html").read_text()


def _extra_credit_in_gradebook(course: Path, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook("neurons", notebooks.ASSIGNMENT, student)
        return {g.name: float(g.extra_credit or 0) for g in nb.grades if g.max_score == 0}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("student", ["everything", "core"])
def test_feedback_shows_optional_work_as_extra_credit(feedback_course, student):
    """In the feedback page made by the real ``nbgrader generate_feedback``: does every graded cell of an
    optional task show the extra credit nbgrader's gradebook holds for it ("2.0 extra credit", in the
    list at the top and in the cell), never a score out of 0, and does the total say how much of it is
    extra credit, as the chapter's points table counts the optional tasks?"""
    from neurograder import pages

    html = _feedback(feedback_course, student)
    credit = _extra_credit_in_gradebook(feedback_course, student)
    assert "/ 0.0" not in html
    autograded = {gid for gid, check in CHECKS.items() if check.bonus}
    for gid in autograded:
        text = pages.extra_credit_text(credit[gid])
        assert f'<a href="#{gid}">Test cell</a> ({text})' in html
        heading = html.split(f'<a name="{gid}"></a>', 1)[1].split("</div>", 1)[0]
        assert text in heading and "Score:" not in heading
    band = CHECKS["task31_band_pass"].points
    assert credit["task31_band_pass"] == (band if student == "everything" else 0)
    rows, _, _ = notebooks.points_rows()
    assert ("3.1 (optional)", f"{band:g}", "0", f"{band:g} extra credit") in rows
    total = sum(credit.values())
    assert (f"including {pages.extra_credit_text(total)})</h4>" in html) == (total > 0)
    if student == "everything":  # the optional code answer changed: it waits for a hand grade
        assert f"<strong>{pages.UNGRADED}</strong> (extra credit): not graded yet." in html
    else:  # left as released: nbgrader gives it 0, shown as no extra credit
        assert '<a href="#task43_slider_answer">Coding free-response</a> (0.0 extra credit)' in html


def test_a_score_the_page_does_not_have_is_reported_not_invented():
    """If nbgrader's page had no score for an optional cell, is the page left as it was and the cell
    named (the exporter then logs a warning) instead of a guess?"""
    from neurograder import pages

    page = '<h4>neurons (Score: 3.0 / 5.0)</h4><li><a href="#other">Test cell</a> (Score: 1.0 / 1.0)</li>'
    html, missing = pages.show_extra_credit(page, {"task31_band_pass": 2.0})
    assert missing == ["task31_band_pass"]
    assert "(Score: 1.0 / 1.0)" in html
