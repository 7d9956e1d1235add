"""Class report: how a class did on one assignment, as offline HTML and CSV.

``python -m neurograder.report --course grader --assignment module1`` (``make report``) reads
only what grading left behind, never student code:

1. :func:`collect` -- the nbgrader gradebook (students, scores, per-cell grades, lateness,
   cells awaiting hand grading), the batch's per-student status file
   (``<assignment>_report.csv``: corrupted, foreign, error ...) when there is one, and the
   failure messages the autograder wrote into ``autograded/<student>/<assignment>/*.ipynb``;
2. :func:`student_rows`, :func:`cell_rows`, :func:`common_mistakes` -- the numbers;
3. :func:`figures` -- a score histogram and per-cell pass rates (matplotlib, PNG);
4. :func:`render_html` / :func:`write_csvs` -- ``reports/<assignment>_class.html`` (one file:
   images inline, no script, a Content-Security-Policy that allows nothing remote) and
   ``reports/<assignment>_class_{students,cells,mistakes}.csv`` with the same numbers.

Every text that came from a student (ids, error messages) is HTML-escaped.
"""
from __future__ import annotations

import argparse
import base64
import csv
import html
import io
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from course.manifest import default_assignment

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
    name: str            # the grade cell's grade_id
    score: float
    max_score: float
    auto: bool           # a test cell scored by the autograder (False: an answer graded by hand)
    needs_manual: bool


@dataclass
class Student:
    id: str
    status: str                      # graded | missing | corrupted | foreign | error ...
    score: float | None = None       # points before any late penalty
    max_score: float | None = None
    late_seconds: float = 0.0        # after any extension
    late_penalty: float = 0.0
    needs_manual: bool = False
    cells: list[CellGrade] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)   # grade_id -> message
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
        by_hand = {c.name for nb in found.notebooks for c in nb.solution_cells} & \
            {c.name for nb in found.notebooks for c in nb.grade_cells}
        ids = sorted({s.id for s in gb.students} | set(statuses))
        for sid in ids:
            row = statuses.get(sid, {})
            try:
                sub = gb.find_submission(assignment, sid)
            except MissingEntry:
                students.append(Student(sid, row.get("status") or "missing",
                                        message=row.get("message", "no submission")))
                continue
            cells = []
            for nb in sub.notebooks:
                for g in nb.grades:
                    cells.append(CellGrade(g.name, float(g.score or 0.0), float(g.max_score),
                                           g.name not in by_hand, bool(g.needs_manual_grade)))
            failures = {}
            for path in sorted((course / "autograded" / sid / assignment).glob("*.ipynb")):
                failures.update(failure_messages(path))
            students.append(Student(
                sid, row.get("status") or "graded", float(sub.score), float(sub.max_score),
                float(sub.total_seconds_late or 0.0), float(sub.late_submission_penalty or 0.0),
                bool(sub.needs_manual_grade), cells, failures, row.get("message", "")))
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
        rows.append({
            "student": s.id, "status": s.status,
            "raw_score": "" if s.score is None else round(s.score, 2),
            "late_penalty": round(s.late_penalty, 2),
            "score": "" if final is None else round(final, 2),
            "max_score": data.max_score,
            "percent": "" if final is None or not data.max_score
            else round(100 * final / data.max_score, 1),
            "late_seconds": round(s.late_seconds, 1),
            "awaiting_hand_grading": sum(c.needs_manual for c in s.cells),
            "at_risk": bool(reasons),
            "reasons": "; ".join(reasons + ([f"late by {format_late(s.late_seconds)}"]
                                            if s.late_seconds > 0 else []))})
    return rows


def cell_rows(data: ClassData) -> list[dict]:
    """Per graded cell: how many graded students got full marks, partial, none, or await a
    hand grade (students whose submission was not graded are left out)."""
    per = defaultdict(lambda: {"full": 0, "partial": 0, "none": 0, "awaiting": 0,
                               "max_score": 0.0, "auto": True})
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
        rows.append({"cell": name, "graded_by": "autograder" if p["auto"] else "hand",
                     "max_score": p["max_score"], "full_marks": p["full"],
                     "partial": p["partial"], "no_marks": p["none"],
                     "awaiting_hand_grading": p["awaiting"],
                     "pass_rate": "" if not judged else round(p["full"] / judged, 3)})
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
    return [{"cell": gid, "count": n, "message": sample[(gid, key)],
             "examples": " ".join(examples[(gid, key)])}
            for (gid, key), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            [:TOP_MISTAKES]]


# ---------------------------------------------------------------------------- 3. figures
def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def figures(data: ClassData, cells: list[dict]) -> dict[str, str]:
    """Base64 PNGs: ``scores`` (histogram of graded totals), ``cells`` (pass rate per cell)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    scores = [s.final for s in data.students if s.final is not None and s.status not in UNGRADED]
    fig = Figure(figsize=(6, 2.8))
    ax = fig.add_subplot()
    top = max(data.max_score, max(scores, default=0.0))
    ax.hist(scores, bins=min(20, max(1, int(top) + 1)), range=(0, top + 1e-9),
            color="#1f5fa8", edgecolor="white")
    ax.set_xlabel(f"score after late penalties (maximum {data.max_score:g})")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    out = {"scores": _png(fig)}
    judged = [c for c in cells if c["pass_rate"] != ""]
    fig = Figure(figsize=(6, 0.32 * max(3, len(judged)) + 0.8))
    ax = fig.add_subplot()
    ax.barh([c["cell"] for c in judged][::-1], [c["pass_rate"] for c in judged][::-1],
            color="#2e7d32")
    ax.set_xlim(0, 1)
    ax.set_xlabel("fraction of graded students with full marks")
    ax.spines[["top", "right"]].set_visible(False)
    out["cells"] = _png(fig)
    return out


# ---------------------------------------------------------------------------- 4. output
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1a1a1a;background:#fff;line-height:1.45}table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2f7}td.num{text-align:right}img{max-width:100%}
caption{text-align:left;font-weight:600;padding:.25rem 0}code{font-size:.9em}"""


def _table(caption: str, rows: list[dict], numeric: set[str]) -> str:
    e = html.escape
    if not rows:
        return f"<p>{e(caption)}: none.</p>"
    head = "".join(f'<th scope="col">{e(k.replace("_", " "))}</th>' for k in rows[0])
    body = []
    for r in rows:
        tds = "".join(f'<td class="num">{e(str(v))}</td>' if k in numeric else
                      f"<td>{e(str(v))}</td>" for k, v in r.items())
        body.append(f"<tr>{tds}</tr>")
    return (f"<table><caption>{e(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def summary_numbers(data: ClassData, students: list[dict]) -> dict:
    graded = [s for s in data.students if s.status not in UNGRADED and s.score is not None]
    scores = sorted(s.final for s in graded)
    mid = len(scores) // 2
    median = (None if not scores else
              scores[mid] if len(scores) % 2 else (scores[mid - 1] + scores[mid]) / 2)
    return {"students": len(data.students), "graded": len(graded),
            "not_graded": len(data.students) - len(graded),
            "median_score": median, "max_score": data.max_score,
            "late": sum(1 for s in data.students if s.late_seconds > 0),
            "at_risk": sum(1 for r in students if r["at_risk"]),
            "awaiting_hand_grading": sum(1 for s in data.students if s.needs_manual)}


def render_html(data: ClassData, students, cells, mistakes, pngs) -> str:
    e = html.escape
    n = summary_numbers(data, students)
    median = "n/a" if n["median_score"] is None else f"{n['median_score']:g}"
    risk = [r for r in students if r["at_risk"]]
    late = [{"student": s.id, "late": format_late(s.late_seconds),
             "penalty": round(s.late_penalty, 2)} for s in data.students if s.late_seconds > 0]
    missing = [{"student": s.id, "status": s.status, "reason": s.message}
               for s in data.students if s.status in UNGRADED]
    score_alt = (f"Histogram of the total scores of {n['graded']} graded students, "
                 f"maximum {data.max_score:g}, median {median}.")
    cells_alt = "Bar chart of the fraction of graded students with full marks, per graded cell: " + \
        "; ".join(f"{c['cell']} {c['pass_rate']}" for c in cells if c["pass_rate"] != "")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Class report: {e(data.assignment)}</title><style>{_STYLE}</style></head>",
        f"<body><main><h1>Class report: {e(data.assignment)}</h1>",
        f"<p>{n['students']} students; {n['graded']} graded, {n['not_graded']} not graded "
        f"(missing, unreadable or refused); median score {median} of {data.max_score:g}; "
        f"{n['late']} late; {n['awaiting_hand_grading']} with answers awaiting hand grading; "
        f"{n['at_risk']} at risk (score below {AT_RISK_FRACTION:.0%} or not graded).</p>",
        "<h2>Score distribution</h2>",
        f'<img src="data:image/png;base64,{pngs["scores"]}" alt="{e(score_alt)}">',
        "<h2>Pass rate per graded cell</h2>",
        f'<img src="data:image/png;base64,{pngs["cells"]}" alt="{e(cells_alt)}">',
        _table("Graded cells", cells, {"max_score", "full_marks", "partial", "no_marks",
                                       "awaiting_hand_grading", "pass_rate"}),
        "<h2>Commonest mistakes</h2>",
        "<p>Failure messages of the autograder, grouped when they differ only in numbers "
        "(case, tau, shape).</p>",
        _table("Commonest mistakes", mistakes, {"count"}),
        "<h2>Students at risk</h2>",
        _table("Students at risk", [{k: r[k] for k in ("student", "status", "score",
                                                       "percent", "reasons")} for r in risk],
               {"score", "percent"}),
        "<h2>Late and missing</h2>",
        _table("Late submissions (after extensions)", late, {"penalty"}),
        _table("Not graded", missing, set()),
        "<h2>All students</h2>",
        _table("All students", students, {"raw_score", "late_penalty", "score", "max_score",
                                          "percent", "late_seconds", "awaiting_hand_grading"}),
        "</main></body></html>"]
    return "\n".join(parts)


def _write_csv(path: Path, rows: list[dict], header: list[str]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else header)
        w.writeheader()
        w.writerows(rows)


def write_csvs(out: Path, assignment: str, students, cells, mistakes) -> list[Path]:
    paths = [out / f"{assignment}_class_{k}.csv" for k in ("students", "cells", "mistakes")]
    _write_csv(paths[0], students, ["student"])
    _write_csv(paths[1], cells, ["cell"])
    _write_csv(paths[2], mistakes, ["cell", "count", "message", "examples"])
    return paths


def build(course: Path, assignment: str, out: Path | None = None) -> Path:
    """Collect, compute and write the report; return the HTML file's path."""
    out = out or course / "reports"
    out.mkdir(parents=True, exist_ok=True)
    data = collect(course, assignment)
    students, cells, mistakes = student_rows(data), cell_rows(data), common_mistakes(data)
    page = out / f"{assignment}_class.html"
    page.write_text(render_html(data, students, cells, mistakes, figures(data, cells)))
    write_csvs(out, assignment, students, cells, mistakes)
    return page


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m neurograder.report",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--course", type=Path, default=Path("grader"),
                    help="nbgrader course root (default: grader/)")
    ap.add_argument("--assignment", default=default_assignment(),
                    help="nbgrader assignment id (default: the course's first module)")
    ap.add_argument("--out", type=Path, default=None, help="folder (default <course>/reports)")
    args = ap.parse_args(argv)
    course = args.course.resolve()
    if not (course / "gradebook.db").exists():
        ap.error(f"{course} has no gradebook.db: grade the class first (make grade)")
    try:
        page = build(course, args.assignment, args.out)
    except Exception as exc:  # noqa: BLE001 - e.g. an assignment the gradebook does not know
        print(f"report: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(f"class report: {page}\n(CSV files beside it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
