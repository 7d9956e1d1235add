"""The class report's data: what grading left behind, read into records, and the numbers.

:func:`collect` reads the nbgrader gradebook (students, scores, per-cell grades, lateness,
cells awaiting hand grading), the batch's per-student status file (``<assignment>_report.csv``:
corrupted, foreign, error ...) when there is one, and the failure messages the autograder wrote
into ``autograded/<student>/<assignment>/*.ipynb``; :func:`student_rows`, :func:`cell_rows` and
:func:`common_mistakes` compute the numbers. The page is drawn by :mod:`neurograder.report_page`;
the command is :mod:`neurograder.report`.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

#: a student is "at risk" below this fraction of the assignment's maximum (or when the
#: submission is missing or could not be graded)
AT_RISK_FRACTION = 0.5
#: how many of the commonest mistakes the report lists, and example students per mistake
TOP_MISTAKES = 10
EXAMPLES_PER_MISTAKE = 3
#: longest failure message kept (they are written by the grader, but quote student errors)
MESSAGE_CHARS = 300
#: statuses of the batch file that mean "not graded from the student's own work"
UNGRADED = {"missing", "corrupted", "error", "foreign", "refused"}
_NUMBER = re.compile(r"\d+(\.\d+)?(e[-+]?\d+)?")


@dataclass
class CellGrade:
    name: str  # the grade cell's grade_id
    score: float
    max_score: float
    auto: bool  # a test cell scored by the autograder (False: an answer graded by hand)
    needs_manual: bool


@dataclass
class Student:
    id: str
    status: str  # graded | missing | corrupted | foreign | error ...
    score: float | None = None  # points before any late penalty
    max_score: float | None = None
    late_seconds: float = 0.0  # after any extension
    late_penalty: float = 0.0
    needs_manual: bool = False
    cells: list[CellGrade] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # grade_id -> message
    message: str = ""

    @property
    def final(self) -> float | None:
        """Points after the late penalty (None: nothing was graded)."""
        return None if self.score is None else max(0.0, self.score - self.late_penalty)


@dataclass
class ClassData:
    assignment: str
    max_score: float
    students: list[Student]


# ---------------------------------------------------------------------------- 1. collect
def _batch_statuses(course: Path, assignment: str) -> dict[str, dict]:
    path = course / f"{assignment}_report.csv"
    if not path.exists():
        return {}
    with open(path, newline="") as fh:
        return {row["student"]: row for row in csv.DictReader(fh)}


def failure_messages(nb_path: Path) -> dict[str, str]:
    """grade_id -> the failure message the autograder wrote into that test cell's output."""
    import nbformat

    try:
        nb = nbformat.read(str(nb_path), as_version=4)
    except Exception:  # noqa: BLE001 - unreadable: nothing to quote
        return {}
    found = {}
    for cell in nb.cells:
        md = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or not isinstance(md, dict) or not md.get("grade"):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                lines = [str(x) for x in out.get("traceback", [])]
                text = lines[-1] if lines else str(out.get("evalue", ""))
                found[str(md.get("grade_id"))] = text.strip()[:MESSAGE_CHARS]
                break
    return found


def _late_policy(course: Path):
    """The course's late policy, configured in its nbgrader_config.py."""
    from traitlets.config.loader import PyFileConfigLoader

    from neurograder.late import LatePolicy

    return LatePolicy(config=PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config())


def collect(course: Path, assignment: str) -> ClassData:
    """Everything the report shows, read from the gradebook and the grader's files."""
    from nbgrader.api import Gradebook, MissingEntry

    from neurograder.late import refresh_penalties

    statuses = _batch_statuses(course, assignment)
    students = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        # penalties from the current scores (hand grades given after autograding included)
        refresh_penalties(gb, _late_policy(course), [assignment])
        found = gb.find_assignment(assignment)
        max_score = float(found.max_score)
        # nbgrader grades by hand the cells that are both solution and grade cells
        by_hand = {c.name for nb in found.notebooks for c in nb.solution_cells} & {
            c.name for nb in found.notebooks for c in nb.grade_cells
        }
        ids = sorted({s.id for s in gb.students} | set(statuses))
        for sid in ids:
            row = statuses.get(sid, {})
            try:
                sub = gb.find_submission(assignment, sid)
            except MissingEntry:
                students.append(
                    Student(sid, row.get("status") or "missing", message=row.get("message", "no submission"))
                )
                continue
            cells = []
            for nb in sub.notebooks:
                for g in nb.grades:
                    cells.append(
                        CellGrade(
                            g.name,
                            float(g.score or 0.0),
                            float(g.max_score),
                            g.name not in by_hand,
                            bool(g.needs_manual_grade),
                        )
                    )
            failures = {}
            for path in sorted((course / "autograded" / sid / assignment).glob("*.ipynb")):
                failures.update(failure_messages(path))
            students.append(
                Student(
                    sid,
                    row.get("status") or "graded",
                    float(sub.score),
                    float(sub.max_score),
                    float(sub.total_seconds_late or 0.0),
                    float(sub.late_submission_penalty or 0.0),
                    bool(sub.needs_manual_grade),
                    cells,
                    failures,
                    row.get("message", ""),
                )
            )
    return ClassData(assignment, max_score, students)


# ---------------------------------------------------------------------------- 2. numbers
def at_risk_reasons(s: Student, max_score: float) -> list[str]:
    """Why a student is at risk (empty: not at risk): not graded, or a low score."""
    if s.status in UNGRADED:
        return [f"submission {s.status}"]
    final = s.final
    if final is not None and max_score and final < AT_RISK_FRACTION * max_score:
        return [f"score {final:g} of {max_score:g} (below {AT_RISK_FRACTION:.0%})"]
    return []


def format_late(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours / 24:.1f} days" if hours >= 24 else f"{hours:.1f} h"


def student_rows(data: ClassData) -> list[dict]:
    rows = []
    for s in data.students:
        reasons = at_risk_reasons(s, data.max_score)
        final = s.final
        rows.append(
            {
                "student": s.id,
                "status": s.status,
                "raw_score": "" if s.score is None else round(s.score, 2),
                "late_penalty": round(s.late_penalty, 2),
                "score": "" if final is None else round(final, 2),
                "max_score": data.max_score,
                "percent": "" if final is None or not data.max_score else round(100 * final / data.max_score, 1),
                "late_seconds": round(s.late_seconds, 1),
                "awaiting_hand_grading": sum(c.needs_manual for c in s.cells),
                "at_risk": bool(reasons),
                "reasons": "; ".join(
                    reasons + ([f"late by {format_late(s.late_seconds)}"] if s.late_seconds > 0 else [])
                ),
            }
        )
    return rows


def cell_rows(data: ClassData) -> list[dict]:
    """Per graded cell: how many graded students got full marks, partial, none, or await a
    hand grade (students whose submission was not graded are left out)."""
    per = defaultdict(lambda: {"full": 0, "partial": 0, "none": 0, "awaiting": 0, "max_score": 0.0, "auto": True})
    order = []
    for s in data.students:
        if s.status in UNGRADED:
            continue
        for c in s.cells:
            if c.name not in per:
                order.append(c.name)
            p = per[c.name]
            p["max_score"], p["auto"] = c.max_score, p["auto"] and c.auto
            if c.needs_manual:
                p["awaiting"] += 1
            elif c.score >= c.max_score:
                p["full"] += 1
            elif c.score > 0:
                p["partial"] += 1
            else:
                p["none"] += 1
    rows = []
    for name in order:
        p = per[name]
        judged = p["full"] + p["partial"] + p["none"]
        rows.append(
            {
                "cell": name,
                "graded_by": "autograder" if p["auto"] else "hand",
                "max_score": p["max_score"],
                "full_marks": p["full"],
                "partial": p["partial"],
                "no_marks": p["none"],
                "awaiting_hand_grading": p["awaiting"],
                "pass_rate": "" if not judged else round(p["full"] / judged, 3),
            }
        )
    return rows


def headline(message: str) -> str:
    """The line that says what went wrong: the first line, plus the last one when the first
    only introduces it ("... raised an error on hidden test case 1 of 28:")."""
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    if not lines:
        return "(no message)"
    if lines[0].endswith(":") and len(lines) > 1:
        return f"{lines[0]} {lines[-1]}"
    return lines[0]


def mistake_key(message: str) -> str:
    """A failure's headline with its numbers blanked: the same mistake on other cases (case 2,
    tau=4, shape (50,)) groups together."""
    return _NUMBER.sub("#", headline(message))


def common_mistakes(data: ClassData) -> list[dict]:
    counts, examples, sample = Counter(), defaultdict(list), {}
    for s in data.students:
        if s.status in UNGRADED:
            continue
        for gid, msg in s.failures.items():
            key = (gid, mistake_key(msg))
            counts[key] += 1
            sample.setdefault(key, headline(msg))
            if len(examples[key]) < EXAMPLES_PER_MISTAKE:
                examples[key].append(s.id)
    return [
        {"cell": gid, "count": n, "message": sample[(gid, key)], "examples": " ".join(examples[(gid, key)])}
        for (gid, key), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_MISTAKES]
    ]
