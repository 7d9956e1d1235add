"""Is late work penalised by the one course policy, and do extensions from the one
extensions file excuse it (``neurograder.late``)? End to end, the ``graded_class`` fixture's
late and extended students are checked in tests/test_grader_report.py; here, the rules."""
from __future__ import annotations

import pytest

from neurograder.late import DAY, ExtensionsError, penalty_fraction, read_extensions


@pytest.mark.parametrize("seconds, fraction", [
    (0, 0.0),
    (10 * 60, 0.0),            # within the 15-minute grace period
    (16 * 60, 0.10),           # a started day
    (DAY, 0.10),
    (DAY + 1, 0.20),
    (1.9 * DAY, 0.20),
    (4.5 * DAY, 0.50),
    (30 * DAY, 0.50),          # capped
])
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
