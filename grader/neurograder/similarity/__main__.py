"""Command line: ``python -m neurograder.similarity [--course grader] [--out DIR]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .settings import DEFAULT_ASSIGNMENT, REPORT_DIR
from .report import write_report
from .pipeline import analyse


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Offline similarity report of a class's submissions.")
    ap.add_argument("--course", type=Path, default=Path(__file__).resolve().parents[2])
    ap.add_argument("--assignment", default=DEFAULT_ASSIGNMENT)
    ap.add_argument("--notebook", default=None, help="notebook name (default: the only one)")
    ap.add_argument("--out", type=Path, default=None, help=f"default <course>/{REPORT_DIR}")
    args = ap.parse_args(argv)
    try:
        an = analyse(args.course, args.assignment, args.notebook)
    except FileNotFoundError as exc:
        print(f"similarity: {exc}", file=sys.stderr)
        return 2
    page = write_report(an, args.out or args.course / REPORT_DIR)
    listed = sum(p.listed for p in an.pairs)
    print(
        f"{len(an.students)} submissions, {len(an.pairs)} pairs, {listed} listed for review, "
        f"{len(an.clusters)} groups; {an.seconds:.1f} s\nreport: {page}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
