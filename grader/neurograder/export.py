"""``nbgrader export`` with one column per task (set in ``grader/nbgrader_config.py``).

:class:`TaskCsvExportPlugin` writes nbgrader's own CSV columns (``assignment``, ``duedate``,
``timestamp``, ``student_id``, ``last_name``, ``first_name``, ``email``, ``raw_score``,
``late_submission_penalty``, ``score``, ``max_score``: scores agree with nbgrader's
``CsvExportPlugin``) plus, per task, the points earned (``task1``, ``task31`` ...: the grade_id prefix of the cell's
task in the module manifest's ``[tasks]``, with the task's maximum in the header, or "extra credit"
for an optional task, whose column holds only extra credit) and the
``extra_credit`` given. Values are quoted by the ``csv`` module (a name with a comma stays one
field) and control characters are removed, so an LMS gradebook import reads it as written.
"""

from __future__ import annotations

import csv
import re

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

from neurograder.late import LatePolicy, refresh_penalties

#: nbgrader's CsvExportPlugin columns, in its order
BASE_COLUMNS = [
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
]
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def column_name(task: str, maximum: float) -> str:
    """A task's column header: ``task2 (of 5)``; an optional task (no points of its own, only
    extra credit): ``task43 (extra credit)``."""
    return f"{task} (of {maximum:g})" if maximum else f"{task} (extra credit)"


def task_of(assignment: str, cell_name: str) -> str:
    """The column of a graded cell: the grade_id prefix of its task in the assignment's
    manifest, without the trailing ``_`` (``task31`` for Task 3.1's ``task31_band_pass``)."""
    from course.manifest import module

    return module(assignment).task_of(cell_name).prefix.rstrip("_")


def printable(value) -> str:
    return "" if value is None else _CONTROL.sub("", str(value))


def task_maxima(assignment) -> dict[str, float]:
    """task -> maximum points, in notebook order."""
    out: dict[str, float] = {}
    for nb in assignment.notebooks:
        for cell in nb.grade_cells:
            task = task_of(assignment.name, cell.name)
            out[task] = out.get(task, 0.0) + float(cell.max_score)
    return out


def student_row(gradebook: Gradebook, assignment, student, tasks: dict) -> dict:
    row = {
        "assignment": assignment.name,
        "duedate": assignment.duedate,
        "student_id": student.id,
        "last_name": student.last_name,
        "first_name": student.first_name,
        "email": student.email,
        "max_score": assignment.max_score,
        "extra_credit": 0.0,
    }
    row.update({t: 0.0 for t in tasks})
    try:
        sub = gradebook.find_submission(assignment.name, student.id)
    except MissingEntry:
        row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0)
        return row
    penalty = sub.late_submission_penalty or 0.0
    row.update(
        timestamp=sub.timestamp,
        raw_score=sub.score,
        late_submission_penalty=penalty,
        score=max(0.0, sub.score - penalty),
    )
    for nb in sub.notebooks:
        for g in nb.grades:
            task = task_of(assignment.name, g.name)
            row[task] = row.get(task, 0.0) + float(g.score or 0.0)
            row["extra_credit"] += float(g.extra_credit or 0.0)
    return row


class TaskCsvExportPlugin(ExportPlugin):
    """CSV export: nbgrader's columns plus points per task and extra credit."""

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades.csv"
        wanted_a = {str(a) for a in self.assignment}
        wanted_s = {str(s) for s in self.student}
        assignments = [a for a in gradebook.assignments if not wanted_a or a.name in wanted_a]
        # penalties from the current scores (hand grades given after autograding included)
        refresh_penalties(gradebook, LatePolicy(config=self.config), [a.name for a in assignments])
        tasks: dict[str, float] = {}
        for a in assignments:
            for t, mx in task_maxima(a).items():
                tasks[t] = max(tasks.get(t, 0.0), mx)
        header = {t: column_name(t, mx) for t, mx in tasks.items()}
        self.log.info("Exporting grades (one column per task) to %s", dest)
        with open(dest, "w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(BASE_COLUMNS + list(header.values()) + ["extra_credit"])
            for a in assignments:
                for st in gradebook.students:
                    if wanted_s and st.id not in wanted_s:
                        continue
                    row = student_row(gradebook, a, st, tasks)
                    out.writerow(
                        [printable(row.get(k)) for k in BASE_COLUMNS]
                        + [printable(row[t]) for t in tasks]
                        + [printable(row["extra_credit"])]
                    )
