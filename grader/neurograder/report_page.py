"""The class report's output: figures (matplotlib, PNG), the offline HTML page and the CSV files.

Every text that came from a student (ids, error messages) is HTML-escaped. The numbers come
from :mod:`neurograder.report_data`.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from pathlib import Path

from neurograder.report_data import AT_RISK_FRACTION, UNGRADED, ClassData, format_late


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
    ax.hist(scores, bins=min(20, max(1, int(top) + 1)), range=(0, top + 1e-9), color="#1f5fa8", edgecolor="white")
    ax.set_xlabel(f"score after late penalties (maximum {data.max_score:g})")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    out = {"scores": _png(fig)}
    judged = [c for c in cells if c["pass_rate"] != ""]
    fig = Figure(figsize=(6, 0.32 * max(3, len(judged)) + 0.8))
    ax = fig.add_subplot()
    ax.barh([c["cell"] for c in judged][::-1], [c["pass_rate"] for c in judged][::-1], color="#2e7d32")
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
        tds = "".join(
            f'<td class="num">{e(str(v))}</td>' if k in numeric else f"<td>{e(str(v))}</td>" for k, v in r.items()
        )
        body.append(f"<tr>{tds}</tr>")
    return f"<table><caption>{e(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def summary_numbers(data: ClassData, students: list[dict]) -> dict:
    graded = [s for s in data.students if s.status not in UNGRADED and s.score is not None]
    scores = sorted(s.final for s in graded)
    mid = len(scores) // 2
    median = None if not scores else scores[mid] if len(scores) % 2 else (scores[mid - 1] + scores[mid]) / 2
    return {
        "students": len(data.students),
        "graded": len(graded),
        "not_graded": len(data.students) - len(graded),
        "median_score": median,
        "max_score": data.max_score,
        "late": sum(1 for s in data.students if s.late_seconds > 0),
        "at_risk": sum(1 for r in students if r["at_risk"]),
        "awaiting_hand_grading": sum(1 for s in data.students if s.needs_manual),
    }


def render_html(data: ClassData, students, cells, mistakes, pngs) -> str:
    e = html.escape
    n = summary_numbers(data, students)
    median = "n/a" if n["median_score"] is None else f"{n['median_score']:g}"
    risk = [r for r in students if r["at_risk"]]
    late = [
        {"student": s.id, "late": format_late(s.late_seconds), "penalty": round(s.late_penalty, 2)}
        for s in data.students
        if s.late_seconds > 0
    ]
    missing = [
        {"student": s.id, "status": s.status, "reason": s.message} for s in data.students if s.status in UNGRADED
    ]
    score_alt = (
        f"Histogram of the total scores of {n['graded']} graded students, maximum {data.max_score:g}, median {median}."
    )
    cells_alt = "Bar chart of the fraction of graded students with full marks, per graded cell: " + "; ".join(
        f"{c['cell']} {c['pass_rate']}" for c in cells if c["pass_rate"] != ""
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
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
        _table(
            "Graded cells",
            cells,
            {"max_score", "full_marks", "partial", "no_marks", "awaiting_hand_grading", "pass_rate"},
        ),
        "<h2>Commonest mistakes</h2>",
        "<p>Failure messages of the autograder, grouped when they differ only in numbers (case, tau, shape).</p>",
        _table("Commonest mistakes", mistakes, {"count"}),
        "<h2>Students at risk</h2>",
        _table(
            "Students at risk",
            [{k: r[k] for k in ("student", "status", "score", "percent", "reasons")} for r in risk],
            {"score", "percent"},
        ),
        "<h2>Late and missing</h2>",
        _table("Late submissions (after extensions)", late, {"penalty"}),
        _table("Not graded", missing, set()),
        "<h2>All students</h2>",
        _table(
            "All students",
            students,
            {"raw_score", "late_penalty", "score", "max_score", "percent", "late_seconds", "awaiting_hand_grading"},
        ),
        "</main></body></html>",
    ]
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
