"""Does grading on a Dask cluster give the class exactly the gradebook a local run gives?

A real ``dask.distributed.LocalCluster`` of worker processes on 127.0.0.1 grades the 30
benchmark submissions (honest, partly wrong, empty and hostile; ``bench/bench_grading.py``)
through ``python -m neurograder.batch --scheduler``; the same class is graded by the local
path (``--jobs 2``) on another copy of the course. Every grade, comment, late penalty and
submission row must be the same, and the Dask run must be resumable like the local one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dask
import distributed
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "bench"))
from attacks import corpus  # noqa: E402
from test_grader_attacks import _copy  # noqa: E402

import bench_grading  # noqa: E402


def _batch(course: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "neurograder.batch", "--course", str(course), "--no-progress", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=corpus.venv_env(),
    )


#: Dask's own bookkeeping, not grading: the workers' statistical profiler (a thread sampling
#: every 10 ms), the event-loop tick watch (20 ms) and the system and memory monitors
#: (0.5 s) keep an idle worker at ~0.1 CPU s per second; sampled rarely or off here, with
#: the scheduling, transfers and results the test compares left as they are
QUIET_CLUSTER = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "5s",
}


def gradebook_rows(course: Path) -> dict:
    """Every row autograde writes, keyed by student/notebook/cell (independent of our
    records module: read straight from nbgrader's API)."""
    from nbgrader.api import Gradebook, MissingEntry

    rows = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in gb.students:
            try:
                sub = gb.find_submission(corpus.ASSIGNMENT, student.id)
            except MissingEntry:
                continue
            rows[student.id] = (str(sub.timestamp), str(sub.extension), sub.score)
            for nb in sub.notebooks:
                key = f"{student.id}/{nb.name}"
                rows[key] = (nb.late_submission_penalty, nb.flagged)
                for g in nb.grades:
                    rows[f"{key}/{g.name}"] = (g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade)
                for c in nb.comments:
                    rows[f"{key}/{c.name}/comment"] = (c.auto_comment, c.manual_comment)
    return rows


def markers(course: Path) -> dict[str, str]:
    return {
        p.parents[1].name: json.loads(p.read_text())["fingerprint"]
        for p in course.glob(f"autograded/*/{corpus.ASSIGNMENT}/.neurograder.json")
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory, new_course):
    """The 30 benchmark submissions graded locally and on a LocalCluster (2 processes)."""
    template = new_course(tmp_path_factory.mktemp("dask") / "template")
    kinds = bench_grading.submissions(template)
    local = _copy(template, tmp_path_factory.mktemp("local") / "course")
    local_run = _batch(local, "--jobs", "2")
    on_dask = _copy(template, tmp_path_factory.mktemp("ondask") / "course")
    with (
        dask.config.set(QUIET_CLUSTER),  # handed to the worker processes by their nannies
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
    ):
        dask_run = _batch(on_dask, "--scheduler", cluster.scheduler_address)
        again = _batch(on_dask, "--scheduler", cluster.scheduler_address)
    return {
        "kinds": kinds,
        "local": local,
        "local_run": local_run,
        "dask": on_dask,
        "dask_run": dask_run,
        "again": again,
    }


@pytest.mark.timeout(1500)
def test_dask_gives_the_local_gradebook_row_for_row(graded):
    """Same score, comment, extra credit, review flag, late penalty and submission row for
    every student and every graded cell, whichever executor graded the class."""
    for run in ("local_run", "dask_run"):
        assert graded[run].returncode == 0, graded[run].stdout[-2000:] + graded[run].stderr[-3000:]
    local, on_dask = gradebook_rows(graded["local"]), gradebook_rows(graded["dask"])
    assert len({k for k in local if "/" not in k}) == len(graded["kinds"])
    assert local == on_dask, {
        k: (local.get(k), on_dask.get(k)) for k in set(local) | set(on_dask) if local.get(k) != on_dask.get(k)
    }
    # the exported CSV (nbgrader's columns and ours) has the same header and rows (in the
    # order students finished, which parallel grading does not fix)
    local_csv, dask_csv = ((graded[k] / "grades.csv").read_text().splitlines() for k in ("local", "dask"))
    assert local_csv[0] == dask_csv[0]
    assert sorted(local_csv[1:]) == sorted(dask_csv[1:])


@pytest.mark.timeout(1500)
def test_dask_run_is_resumable_like_a_local_one(graded):
    """Every graded student gets the local run's marker (same fingerprint), so a second Dask
    run skips the whole class; the snapshot the workers copied is removed."""
    assert markers(graded["dask"]) == markers(graded["local"])
    assert len(markers(graded["dask"])) == len(graded["kinds"])
    again = graded["again"]
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"skipped {len(graded['kinds'])}" in again.stdout.split("\n")[0], again.stdout
    assert not list(graded["dask"].glob(".neurograder-gradebook-snapshot*"))
