"""Do hand grades follow the answer they were given for (``neurograder.hand_grades``)?

An unchanged answer keeps its hand score and comment through a forced regrade and is not
flagged again; a resubmitted, changed answer loses the stale score (kept in the student's
history) and is flagged. Checked on the rule itself and end to end: the instructor's
``python -m neurograder.batch`` on a course made by the real ``nbgrader generate_assignment``,
hand grades entered through nbgrader's gradebook API (what formgrader calls), totals read back
from nbgrader's own CSV export.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attacks import corpus  # noqa: E402
from neurograder import hand_grades  # noqa: E402

CELL = "task41_answer"
FIRST = "A larger tau makes the surface fade more slowly after each spike."
SECOND = "I am not sure what tau does."


def _rows(score=None, comment=None, extra=None):
    return (
        SimpleNamespace(manual_score=score, needs_manual_grade=True, extra_credit=extra),
        SimpleNamespace(manual_comment=comment),
    )


def test_unchanged_answer_keeps_score_and_is_not_flagged():
    record = {"answers": {}, "history": []}
    grade, comment = _rows()
    assert hand_grades.follow(grade, comment, "nb/a", FIRST, record) == "new"
    grade.manual_score, comment.manual_comment = 2.0, "clear"
    grade.needs_manual_grade = True  # what SaveAutoGrades does on every regrade
    assert hand_grades.follow(grade, comment, "nb/a", FIRST + "  \n\n", record) == "kept"
    assert (grade.manual_score, grade.needs_manual_grade, comment.manual_comment) == (2.0, False, "clear")
    assert record["history"] == []


def test_changed_answer_drops_stale_score_into_history():
    record = {"answers": {}, "history": []}
    grade, comment = _rows()
    hand_grades.follow(grade, comment, "nb/a", FIRST, record)
    grade.manual_score, comment.manual_comment = 2.0, "clear"
    assert hand_grades.follow(grade, comment, "nb/a", SECOND, record) == "dropped"
    assert (grade.manual_score, grade.needs_manual_grade, comment.manual_comment) == (None, True, None)
    (old,) = record["history"]
    assert (old["cell"], old["score"], old["comment"], old["answer"]) == ("nb/a", 2.0, "clear", FIRST)


def test_extra_credit_of_a_changed_optional_answer_moves_to_history():
    """An optional answer (0 points) is graded by hand through extra credit: it follows the
    answer too."""
    record = {"answers": {}, "history": []}
    grade, comment = _rows()
    hand_grades.follow(grade, comment, "nb/opt", FIRST, record)
    grade.extra_credit = 2.0
    assert hand_grades.follow(grade, comment, "nb/opt", FIRST, record) == "kept"
    assert hand_grades.follow(grade, comment, "nb/opt", SECOND, record) == "dropped"
    assert grade.extra_credit is None and grade.needs_manual_grade is True
    assert record["history"][0]["extra_credit"] == 2.0


def test_score_without_record_is_kept_for_review():
    """A hand score given before any record existed is kept (nbgrader's behaviour)."""
    record = {"answers": {}, "history": []}
    grade, comment = _rows(score=1.0, comment="ok")
    assert hand_grades.follow(grade, comment, "nb/a", FIRST, record) == "new"
    assert grade.manual_score == 1.0 and grade.needs_manual_grade is True


def test_unreadable_record_starts_afresh(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{ not json")
    assert hand_grades.load_record(path) == {"answers": {}, "history": []}


# ------------------------------------------------------------------- end to end
def _submit(course: Path, answer: str):
    nb = corpus.honest_notebook(course)
    corpus.set_cell(nb, CELL, answer)
    corpus.write_submission(course, "ada", nb, timestamp=corpus.ON_TIME)


def _grade(course: Path, *extra):
    done = subprocess.run(
        [sys.executable, "-m", "neurograder.batch", "--course", str(course), "--jobs", "1", "--no-progress", *extra],
        cwd=course,
        env=corpus.venv_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _state(course: Path):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        g = gb.find_grade(CELL, "neurons", "module1", "ada")
        c = gb.find_comment(CELL, "neurons", "module1", "ada")
        return g.manual_score, g.needs_manual_grade, c.manual_comment


def _hand_grade(course: Path, score: float, text: str):
    """What formgrader's API does when the grader saves a score and a comment."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        g = gb.find_grade(CELL, "neurons", "module1", "ada")
        c = gb.find_comment(CELL, "neurons", "module1", "ada")
        g.manual_score, g.needs_manual_grade, c.manual_comment = score, False, text
        gb.db.commit()


def _exported(course: Path) -> float:
    with open(course / "grades.csv", newline="") as fh:
        return next(float(r["score"]) for r in csv.DictReader(fh) if r["student_id"] == "ada")


@pytest.mark.timeout(900)
def test_hand_grade_survives_forced_regrade_and_follows_resubmission(tmp_path, new_course):
    course = new_course(tmp_path / "course")
    _submit(course, FIRST)
    _grade(course)
    assert _state(course) == (None, True, None)  # a new answer: to be graded by hand
    auto_only = _exported(course)
    _hand_grade(course, 2.0, "clear and right")

    _grade(course, "--force")  # the instructor regrades everything
    assert _state(course) == (2.0, False, "clear and right")
    assert _exported(course) == pytest.approx(auto_only + 2.0)

    _submit(course, SECOND)  # the student resubmits another answer
    _grade(course)
    assert _state(course) == (None, True, None)
    assert _exported(course) == pytest.approx(auto_only)
    record = json.loads(hand_grades.record_path(course, "module1", "ada").read_text())
    (old,) = record["history"]
    assert (old["score"], old["comment"], old["answer"].strip()) == (2.0, "clear and right", FIRST)
