"""Class report: how a class did on one assignment, as offline HTML and CSV.

``python -m neurograder.report --course grader --assignment module1`` (``make report``) reads
only what grading left behind, never student code:

1. :func:`collect` -- the nbgrader gradebook (students, scores, per-cell grades, lateness,
   cells awaiting hand grading), the batch's per-student status file
   (``<assignment>_report.csv``: corrupted, foreign, error ...) when there is one, and the
   failure messages the autograder wrote into ``autograded/<student>/<assignment>/*.ipynb``;
2. :func:`student_rows`, :func:`cell_rows`, :func:`common_mistakes` -- the numbers
   (1 and 2: :mod:`neurograder.report_data`);
3. :func:`figures` -- a score histogram and per-cell pass rates (matplotlib, PNG);
4. :func:`render_html` / :func:`write_csvs` -- ``reports/<assignment>_class.html`` (one file:
   images inline, no script, a Content-Security-Policy that allows nothing remote) and
   ``reports/<assignment>_class_{students,cells,mistakes}.csv`` with the same numbers
   (3 and 4: :mod:`neurograder.report_page`).

Every text that came from a student (ids, error messages) is HTML-escaped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course.manifest import default_assignment
from neurograder.report_data import (  # noqa: F401 (the report's records and numbers, used by callers)
    CellGrade,
    ClassData,
    Student,
    cell_rows,
    collect,
    common_mistakes,
    mistake_key,
    student_rows,
)
from neurograder.report_page import figures, render_html, write_csvs  # noqa: F401


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
    ap = argparse.ArgumentParser(prog="python -m neurograder.report", description=__doc__.split("\n")[0])
    ap.add_argument("--course", type=Path, default=Path("grader"), help="nbgrader course root (default: grader/)")
    ap.add_argument(
        "--assignment", default=default_assignment(), help="nbgrader assignment id (default: the course's first module)"
    )
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
