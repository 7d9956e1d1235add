"""One student's autograde results as a plain record, and that record written to a gradebook.

A Dask worker grades against a private copy of the gradebook and returns
:func:`submission_record`; the driver writes it into the course's gradebook with
:func:`apply_record`, in one transaction. The record holds every field nbgrader's autograde
chain (and ours: extra credit, hand grades, extensions, late penalties) writes for one
submission, so the course gradebook ends up as a local run leaves it.
"""

from __future__ import annotations

import datetime as dt

GRADE_FIELDS = ("auto_score", "manual_score", "extra_credit", "needs_manual_grade")
COMMENT_FIELDS = ("auto_comment", "manual_comment")
NOTEBOOK_FIELDS = ("flagged", "late_submission_penalty")


def submission_record(db_url: str, assignment: str, student: str) -> dict:
    """Plain (JSON-able) fields of ``student``'s submission of ``assignment``."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        sub = gb.find_submission(assignment, student)
        return {
            "timestamp": sub.timestamp.isoformat() if sub.timestamp else None,
            "extension": sub.extension.total_seconds() if sub.extension else None,
            "notebooks": {
                nb.name: {
                    **{f: getattr(nb, f) for f in NOTEBOOK_FIELDS},
                    "grades": {g.name: {f: getattr(g, f) for f in GRADE_FIELDS} for g in nb.grades},
                    "comments": {c.name: {f: getattr(c, f) for f in COMMENT_FIELDS} for c in nb.comments},
                }
                for nb in sub.notebooks
            },
        }


def apply_record(db_url: str, course_id: str, assignment: str, student: str, record: dict) -> None:
    """Write ``record`` as ``student``'s submission: student and submission rows are made if
    missing, then every field is set and committed once."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id) as gb:
        gb.update_or_create_student(student)
        sub = gb.update_or_create_submission(assignment, student)
        sub.timestamp = dt.datetime.fromisoformat(record["timestamp"]) if record["timestamp"] else None
        sub.extension = dt.timedelta(seconds=record["extension"]) if record["extension"] is not None else None
        for nb in sub.notebooks:
            rec = record["notebooks"].get(nb.name)
            if rec is None:
                continue
            for f in NOTEBOOK_FIELDS:
                setattr(nb, f, rec[f])
            for grade in nb.grades:
                for f, v in rec["grades"].get(grade.name, {}).items():
                    setattr(grade, f, v)
            for comment in nb.comments:
                for f, v in rec["comments"].get(comment.name, {}).items():
                    setattr(comment, f, v)
        gb.db.commit()
