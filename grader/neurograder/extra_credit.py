"""Optional tasks as extra credit in nbgrader's gradebook.

An optional task's graded cells carry 0 points (``course.notebooks`` makes them so), so the
gradebook's maximum is the required points. :class:`SaveExtraCredit` runs right after
nbgrader's ``SaveAutoGrades`` in both autograde chains (``grader/nbgrader_config.py``): for
each autograded cell of an optional task's check (the assignment's module manifest) it sets
nbgrader's ``Grade.extra_credit`` to the check's points if the cell ran without error, and to
0 otherwise. nbgrader adds ``extra_credit`` to the cell's score, so the notebook's score, the
feedback's total and ``nbgrader export`` count it, over the required maximum. Hand-graded
optional answers get their extra credit in formgrader's "extra credit" field.
"""

from __future__ import annotations

from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor


def bonus_points(grade_id: str, assignment: str) -> float | None:
    """The extra-credit points of an autograded optional cell, or None if it is not one."""
    from course.manifest import module

    mod = module(assignment)
    check = mod.checks().get(grade_id)
    return float(check.points) if check is not None and mod.is_optional(grade_id) else None


def passed(cell) -> bool:
    """nbgrader's rule for a code test cell: it passes when it has no error output."""
    return not any(out.get("output_type") == "error" for out in cell.get("outputs", []))


class SaveExtraCredit(NbGraderPreprocessor):
    """Record a passing optional check's points as the cell's extra credit (after SaveAutoGrades)."""

    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        with Gradebook(ids["db_url"]) as gb:
            for cell in nb.cells:
                if not (cell.cell_type == "code" and utils.is_grade(cell)):
                    continue
                gid = cell.metadata["nbgrader"]["grade_id"]
                points = bonus_points(gid, ids["assignment"])
                if points is None:
                    continue
                grade = gb.find_grade(gid, ids["notebook"], ids["assignment"], ids["student"])
                grade.extra_credit = points if passed(cell) else 0.0
            gb.db.commit()
        return nb, resources
