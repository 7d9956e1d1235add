"""Hand grades follow the answer they were given for (an ``nbgrader autograde`` step).

nbgrader's ``SaveAutoGrades`` flags every hand-scored cell for review again on each autograde
(so a forced regrade re-flags unchanged answers) and keeps the hand score when a resubmitted
answer changed (so a stale score counts in ``nbgrader export``). :class:`FollowHandGrades` runs
right after it and, for every cell graded by hand (an nbgrader solution cell that is also a
grade cell), compares the answer with the one autograded last time:

* **unchanged** answer with a hand score: the score and comment stay, the cell is not flagged;
* **changed** answer with a hand score (or, for an optional answer, hand-given extra credit):
  the score, extra credit and comment move to the student's history
  (with the answer they were given for), the cell's hand score is cleared and it is flagged
  for grading;
* otherwise nbgrader's own decision stands.

What was autograded last is kept per student in
``<course>/hand_grades/<assignment>/<student>.json``:
``{"answers": {"<notebook>/<grade_id>": {"sha256", "text"}},
"history": [{"cell", "score", "comment", "answer", "replaced_at"}]}``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from pathlib import Path

from nbgrader import utils as nbutils
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from .gradebook_rows import NotebookRows

#: folder (under the course root) of the per-student records
RECORD_DIR = "hand_grades"


def answer_digest(source) -> str:
    """Digest of an answer's text; trailing spaces and blank lines do not count as a change."""
    text = source if isinstance(source, str) else "".join(source)
    lines = [ln.rstrip() for ln in text.strip().splitlines()]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def record_path(root: str | os.PathLike, assignment: str, student: str) -> Path:
    return Path(root) / RECORD_DIR / assignment / f"{student}.json"


def load_record(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"answers": {}, "history": []}
    if not isinstance(data, dict):
        return {"answers": {}, "history": []}
    data.setdefault("answers", {})
    data.setdefault("history", [])
    return data


def save_record(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
    os.replace(tmp, path)


def follow(grade, comment, key: str, text: str, record: dict) -> str:
    """Apply the rule to one hand-graded cell's gradebook rows (``grade``, ``comment``) for
    the answer ``text``; update ``record``; return ``kept``, ``dropped`` or ``new``."""
    before = record["answers"].get(key) or {}
    digest = answer_digest(text)
    record["answers"][key] = {"sha256": digest, "text": text}
    # an optional answer (0 points) is graded by hand through its extra credit
    if grade.manual_score is None and not getattr(grade, "extra_credit", None):
        return "new"
    if before.get("sha256") == digest:
        grade.needs_manual_grade = False
        return "kept"
    if not before:
        # a hand score but no record of the answer it was given for (graded before this
        # step ran): keep it, as nbgrader does, flagged for the grader to confirm
        return "new"
    record["history"].append(
        {
            "cell": key,
            "score": grade.manual_score,
            "extra_credit": getattr(grade, "extra_credit", None),
            "comment": getattr(comment, "manual_comment", None),
            "answer": before.get("text", ""),
            "replaced_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
    )
    grade.manual_score = None
    if getattr(grade, "extra_credit", None) is not None:
        grade.extra_credit = None
    grade.needs_manual_grade = True
    if comment is not None:
        comment.manual_comment = None
    return "dropped"


class FollowHandGrades(NbGraderPreprocessor):
    """After SaveAutoGrades: keep hand grades of unchanged answers, move those of changed
    answers to the student's history. See the module docstring."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        assignment, student, notebook = info["assignment"], info["student"], info["notebook"]
        path = record_path(CourseDirectory(config=self.config).root, assignment, student)
        record = load_record(path)
        unchanged = json.dumps(record, sort_keys=True)
        dropped = []
        hand_graded = [c for c in nb.cells if nbutils.is_solution(c) and nbutils.is_grade(c)]
        if hand_graded:
            with Gradebook(info["db_url"]) as gb:
                rows = NotebookRows(gb, notebook, assignment, student)  # (two queries for all cells)
                for cell in hand_graded:
                    gid = cell.metadata["nbgrader"]["grade_id"]
                    grade = rows.find_grade(gid, notebook, assignment, student)
                    comment = rows.find_comment(gid, notebook, assignment, student)
                    source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
                    if follow(grade, comment, f"{notebook}/{gid}", source, record) == "dropped":
                        dropped.append(gid)
                gb.db.commit()
        if json.dumps(record, sort_keys=True) != unchanged or not path.exists():
            save_record(path, record)
        if dropped:
            self.log.warning(
                "%s: answers changed since they were graded by hand; their scores "
                "moved to %s and they are flagged again: %s",
                student,
                path,
                ", ".join(dropped),
            )
        return nb, resources
