"""Is late work penalised by the one course policy, and do extensions from the one
extensions file excuse it (``neurograder.late``)? End to end, the ``graded_class`` fixture's
late and extended students are checked in tests/test_grader_report.py; here, the rules."""

from __future__ import annotations

import pytest

from neurograder.late import DAY, ExtensionsError, penalty_fraction, read_extensions


@pytest.mark.parametrize(
    "seconds, fraction",
    [
        (0, 0.0),
        (10 * 60, 0.0),  # within the 15-minute grace period
        (16 * 60, 0.10),  # a started day
        (DAY, 0.10),
        (DAY + 1, 0.20),
        (1.9 * DAY, 0.20),
        (4.5 * DAY, 0.50),
        (30 * DAY, 0.50),  # capped
    ],
)
def test_penalty_per_started_day_capped(seconds, fraction):
    assert penalty_fraction(seconds, 10.0, 50.0, 15.0) == pytest.approx(fraction)


def test_extensions_file_is_read_with_comments_and_header(tmp_path):
    path = tmp_path / "extensions.csv"
    path.write_text("student_id,days\n# granted by email\nada, 2\nben,0.5  # half a day\n\n")
    assert read_extensions(path) == {"ada": 2.0, "ben": 0.5}
    assert read_extensions(tmp_path / "none.csv") == {}


@pytest.mark.parametrize("line", ["ada", "ada,two", "ada,-1", ",3", "ada,2,3", "ada,400"])
def test_a_bad_extensions_line_is_a_clear_error(tmp_path, line):
    """A typo must not silently penalise a student: the error names the file and line."""
    path = tmp_path / "extensions.csv"
    path.write_text(f"student_id,days\nok,1\n{line}\n")
    with pytest.raises(ExtensionsError, match=r"extensions.csv, line 3"):
        read_extensions(path)


@pytest.mark.timeout(300)
def test_a_hand_grade_given_after_autograding_is_penalised_too(graded_class, tmp_path):
    """Question: when a late student's written answer is graded by hand after ``make grade``
    (formgrader writes the gradebook directly), do the export and the class report deduct
    the late penalty from the whole new score, with no regrade?"""
    import math

    from nbgrader.api import Gradebook

    import sharing
    from attacks import corpus
    from neurograder import report

    course = sharing.private_copy(graded_class, tmp_path / "course")
    db = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(db) as gb:
        sub = gb.find_submission(corpus.ASSIGNMENT, "dee_late")
        seconds = sub.total_seconds_late
        nb = sub.notebooks[0]
        answer = next(g for g in nb.grades if g.name.endswith("_answer") and g.max_score > 0)
        before = nb.score
        answer.manual_score = answer.max_score  # what formgrader's score box writes
        gb.db.commit()
        raw = before - answer.auto_score + answer.max_score
    # the policy written out (10 % per started day, at most 50 %), not the code under test
    fraction = min(50.0, 10.0 * math.ceil(seconds / 86400)) / 100
    assert seconds > 15 * 60 and fraction > 0
    done = corpus.nbgrader(course, "export", "--to=grades.csv", "--log-level=ERROR", timeout=200)
    assert done.returncode == 0, done.stderr[-3000:]
    import csv

    row = next(r for r in csv.DictReader((course / "grades.csv").open()) if r["student_id"] == "dee_late")
    assert float(row["raw_score"]) == pytest.approx(raw)
    assert float(row["late_submission_penalty"]) == pytest.approx(fraction * raw, abs=1e-3)
    assert float(row["score"]) == pytest.approx(raw * (1 - fraction), abs=1e-3)
    data = report.collect(course, corpus.ASSIGNMENT)
    dee = next(s for s in data.students if s.id == "dee_late")
    assert dee.late_penalty == pytest.approx(fraction * raw, abs=1e-3)
    assert dee.score == pytest.approx(raw)
