"""CPU seconds per test and per test group, when ``NEUROGRADER_TEST_CPU=1`` (tests/conftest.py).

On this 2-core machine the suite's time is CPU work, so the figure that says where it goes is
CPU seconds, not wall time: each test's process time (``RUSAGE_SELF``) plus that of the
processes it started and reaped (``RUSAGE_CHILDREN``: subprocesses, their children reaped
by them, kernels shut down by the test). Set-up and teardown count for the test that ran
them, so a module fixture counts for the module's first (or last) test; the teardown of the
session's fixtures (the worker's chromium, reaped there) counts in a group of its own
(:data:`SESSION_END`). A process its parent never reaps counts for nothing.

Each worker appends one JSON line per test to a file in the run's shared temp folder; the
controller sums them per group at the end of the run (``pytest_terminal_summary``). Off by
default: nothing is measured or written then. ``NEUROGRADER_TEST_CPU=<file>`` also keeps the
table and every test's row in ``<file>`` (pytest removes old runs' temp folders).
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections import defaultdict
from pathlib import Path

#: set to 1 to measure and print CPU seconds per group at the end of the run (or to a file
#: path: the same, and the table plus every test's row kept in that file)
ENV = "NEUROGRADER_TEST_CPU"
#: the per-worker files of one run, in the run's shared temp folder
FILE_GLOB = "cpu-*.jsonl"
#: the group of each worker's last teardown, which also ends the session's fixtures (its
#: chromium, reaped there, and servers): measured apart from the test it follows
SESSION_END = "(end of each worker: session fixtures' teardown)"


def enabled() -> bool:
    """Is CPU measurement on for this run?"""
    return os.environ.get(ENV, "") not in ("", "0")


def kept_file() -> Path | None:
    """Where the run's table and rows are kept (None: only printed)."""
    value = os.environ.get(ENV, "")
    return None if value in ("", "0", "1") else Path(value)


def keep(path: Path, table: list[str], rows: list[dict]) -> None:
    """Write the table, then one JSON line per test, to ``path``."""
    path.write_text("\n".join(table) + "\n" + "".join(json.dumps(r) + "\n" for r in rows))


def snapshot() -> tuple[float, float, float]:
    """(wall, CPU of this process, CPU of its reaped children), in seconds."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.monotonic(), me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def record(nodeid: str, group: str, before: tuple, after: tuple) -> dict:
    """One test's measurement from two :func:`snapshot` results."""
    wall, cpu_self, cpu_children = (b - a for a, b in zip(before, after))
    return {"nodeid": nodeid, "group": group, "wall": wall, "self": cpu_self, "children": cpu_children}


def append(folder: Path, worker: str, row: dict) -> None:
    """Add ``row`` to this worker's file in ``folder`` (one writer per file)."""
    with open(folder / f"cpu-{worker}.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")


def read(folder: Path) -> list[dict]:
    """Every row the run's workers wrote."""
    return [
        json.loads(line) for path in sorted(folder.glob(FILE_GLOB)) for line in path.read_text().splitlines() if line
    ]


def by_group(rows: list[dict]) -> list[dict]:
    """Sums per group, most CPU first: group, tests, wall, self, children, cpu (= both)."""
    sums: dict[str, dict] = defaultdict(lambda: {"tests": 0, "wall": 0.0, "self": 0.0, "children": 0.0})
    for row in rows:
        total = sums[row["group"]]
        total["tests"] += 1
        for field in ("wall", "self", "children"):
            total[field] += row[field]
    table = [{"group": group, **t, "cpu": t["self"] + t["children"]} for group, t in sums.items()]
    return sorted(table, key=lambda t: -t["cpu"])


def lines(table: list[dict]) -> list[str]:
    """The table as text, with a total row."""
    out = [f"{'CPU s':>8} {'self':>8} {'children':>8} {'wall s':>8} {'tests':>5}  group"]
    for t in table:
        out.append(
            f"{t['cpu']:8.1f} {t['self']:8.1f} {t['children']:8.1f} {t['wall']:8.1f} {t['tests']:5d}  {t['group']}"
        )
    total = {f: sum(t[f] for t in table) for f in ("cpu", "self", "children", "wall", "tests")}
    out.append(
        f"{total['cpu']:8.1f} {total['self']:8.1f} {total['children']:8.1f} "
        f"{total['wall']:8.1f} {total['tests']:5d}  total"
    )
    return out
