"""CPU seconds per test and per test group, when ``NEUROGRADER_TEST_CPU=1`` (tests/conftest.py).

On this 2-core machine the suite's time is CPU work, so the figure that says where it goes is
CPU seconds, not wall time: each test's process time (``RUSAGE_SELF``), that of the
processes it started and reaped (``RUSAGE_CHILDREN``: subprocesses, their children reaped
by them, kernels shut down by the test), and the change in CPU time of the worker's live
descendants (``live``, read from ``/proc/<pid>/stat``: the worker's chromium and its
renderers, servers a fixture keeps running), so a long-lived process's work counts for the
tests during which it was done, not for the one that reaps it. Set-up and teardown count
for the test that ran them, so a module fixture counts for the module's first (or last)
test; the teardown of the session's fixtures (the worker's chromium, closed there) counts
in a group of its own (:data:`SESSION_END`). A process that leaves the worker's tree
without being reaped in it (re-parented to init when its parent ends first, as chromium's
renderers when the browser closes) takes its time with it: the test during which it left
gets a negative ``live`` of the time earlier tests were counted for it.

Each row also has the test's start and end (seconds since the epoch) and the machine's busy
CPU seconds then (``/proc/stat``: every process, sandboxed ones included, and other work on
the machine), from which :func:`timeline` tells when fewer cores than the machine has were
busy and which groups ran meanwhile.

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


#: clock ticks per second of the times in /proc/<pid>/stat and /proc/stat
TICKS = os.sysconf("SC_CLK_TCK")
#: fields of the measurement summed per group (``cpu`` is the sum of the last three)
FIELDS = ("wall", "self", "children", "live")


def _stat_fields(pid: str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (None: the process is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def live_descendants_cpu(root: int) -> float:
    """CPU seconds of ``root``'s live descendants: each one's own time plus the time of the
    children it reaped (zombies not yet reaped count: their time is still theirs)."""
    parent, ticks = {}, {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        fields = _stat_fields(pid)
        if fields:  # fields[1]: ppid; [11:15]: utime, stime, cutime, cstime
            parent[int(pid)] = int(fields[1])
            ticks[int(pid)] = sum(int(f) for f in fields[11:15])
    children: dict[int, list[int]] = defaultdict(list)
    for pid, ppid in parent.items():
        children[ppid].append(pid)
    total, todo = 0, list(children[root])
    while todo:
        pid = todo.pop()
        total += ticks[pid]
        todo.extend(children[pid])
    return total / TICKS


def machine_busy() -> float:
    """The machine's busy CPU seconds since boot, all cores (/proc/stat: every state but
    idle and iowait)."""
    with open("/proc/stat") as fh:
        ticks = [int(f) for f in fh.readline().split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / TICKS  # guest time is already in user


def snapshot() -> dict:
    """This moment: monotonic wall, epoch, CPU of this process, of its reaped children and
    of its live descendants, and the machine's busy CPU, in seconds."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": time.monotonic(),
        "epoch": time.time(),
        "self": me.ru_utime + me.ru_stime,
        "children": kids.ru_utime + kids.ru_stime,
        "live": live_descendants_cpu(os.getpid()),
        "busy": machine_busy(),
    }


def record(nodeid: str, group: str, before: dict, after: dict) -> dict:
    """One test's measurement from two :func:`snapshot` results: the change of each of
    :data:`FIELDS`, plus when it ran and the machine's busy CPU then (for :func:`timeline`)."""
    row = {"nodeid": nodeid, "group": group, **{f: after[f] - before[f] for f in FIELDS}}
    row.update(start=before["epoch"], end=after["epoch"], busy_start=before["busy"], busy_end=after["busy"])
    return row


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
    """Sums per group, most CPU first: group, tests, :data:`FIELDS`, cpu (= self + children
    + live)."""
    sums: dict[str, dict] = defaultdict(lambda: {"tests": 0, **{f: 0.0 for f in FIELDS}})
    for row in rows:
        total = sums[row["group"]]
        total["tests"] += 1
        for field in FIELDS:
            total[field] += row.get(field, 0.0)
    table = [{"group": group, **t, "cpu": t["self"] + t["children"] + t["live"]} for group, t in sums.items()]
    return sorted(table, key=lambda t: -t["cpu"])


def lines(table: list[dict]) -> list[str]:
    """The table as text, with a total row over the tests (:data:`SESSION_END` left out: its
    ``live`` is mostly the negative of chromium's time counted in the tests before)."""
    columns = ("cpu", "self", "children", "live", "wall")
    out = [f"{'CPU s':>8} {'self':>8} {'children':>8} {'live':>8} {'wall s':>8} {'tests':>5}  group"]
    tests = [t for t in table if t["group"] != SESSION_END]
    total = {"group": "total of the tests", "tests": sum(t["tests"] for t in tests)}
    total.update({f: sum(t[f] for t in tests) for f in columns})
    for t in [*table, total]:
        out.append(" ".join(f"{t[f]:8.1f}" for f in columns) + f" {t['tests']:5d}  {t['group']}")
    return out


#: width (s) of the time slices :func:`timeline` reports
SLICE_S = 30


def _busy_at(points: list[tuple[float, float]], when: float) -> float:
    """The machine's busy CPU seconds at ``when``, interpolated between measured points."""
    import bisect

    k = bisect.bisect_left(points, (when,))
    if k == 0:
        return points[0][1]
    if k == len(points):
        return points[-1][1]
    (t0, b0), (t1, b1) = points[k - 1], points[k]
    return b0 + (b1 - b0) * ((when - t0) / (t1 - t0) if t1 > t0 else 1.0)


def _suite_cpu(rows: list[dict], start: float, end: float) -> float:
    """The tests' own CPU seconds between ``start`` and ``end``: each test's CPU (self,
    children, live) spread evenly over its wall time."""
    total = 0.0
    for r in rows:
        overlap = min(end, r["end"]) - max(start, r["start"])
        if overlap > 0 and r["end"] > r["start"]:
            total += (r["self"] + r["children"] + r["live"]) * overlap / (r["end"] - r["start"])
    return total


def timeline(rows: list[dict], cores: int, heavy=lambda group: False, slice_s: float = SLICE_S) -> list[str]:
    """When the run left cores idle: per ``slice_s`` slice of the run, the cores the tests
    kept busy (their own CPU, :func:`_suite_cpu`), the machine's busy cores (/proc/stat:
    other work on the machine included) and the groups running (``*``: ``heavy``), after a
    line with the seconds at which the tests kept fewer than ``cores - 0.5`` cores busy."""
    rows = [r for r in rows if "start" in r and r["group"] != SESSION_END]
    if not rows:
        return []
    points = sorted({(r["start"], r["busy_start"]) for r in rows} | {(r["end"], r["busy_end"]) for r in rows})
    first, last = points[0][0], points[-1][0]
    out, idle, t = [], 0.0, first
    while t < last:
        end = min(t + slice_s, last)
        span = max(end - t, 1e-9)
        suite = _suite_cpu(rows, t, end) / span
        busy = (_busy_at(points, end) - _busy_at(points, t)) / span
        idle += (end - t) if suite < cores - 0.5 else 0.0
        running = sorted({r["group"] for r in rows if r["start"] < end and r["end"] > t})
        names = ", ".join(("*" if heavy(g) else "") + g.replace("test_", "").replace(".py", "") for g in running)
        out.append(f"{t - first:6.0f}-{end - first:<6.0f} tests {suite:4.1f} machine {busy:4.1f} cores  {names}")
        t = end
    head = (
        f"{last - first:.0f} s from the first test's start to the last one's end; the tests kept fewer "
        f"than {cores - 0.5:g} of {cores} cores busy for {idle:.0f} s of it (* CPU-heavy group)"
    )
    return [head, *out]
