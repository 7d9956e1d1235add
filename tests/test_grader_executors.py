"""Which worker grades which student? (neurograder.executors' scheduling of a local batch)

A worker whose student uses a heavy module (torch) starts a fork server that has imported it
(~2.8 s of CPU); the batch keeps such students on one worker instead of letting every worker
start its own. Checked on the pure choice (:func:`next_student`), on the text search that
tells who needs what (:func:`heavy_modules`), and on real worker processes of
:class:`LocalExecutor` with a stand-in grading function that reports its process.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grader"))
from neurograder import executors  # noqa: E402
from neurograder.executors import SPREAD_HEAVY, LocalExecutor, next_student  # noqa: E402
from neurograder.screening import heavy_modules  # noqa: E402

TORCH = ("torch",)


def test_a_worker_keeps_the_students_of_its_heavy_server():
    """Does a worker that has torch loaded take the torch students first, in queue order?"""
    heavy = {"b": TORCH, "d": TORCH}
    assert next_student(["a", "b", "c", "d"], heavy, mine={TORCH}, elsewhere=set()) == "b"


def test_a_heavy_student_nobody_serves_yet_goes_first():
    """Is the first torch student started early (before light ones) when no worker has torch?"""
    assert next_student(["a", "b", "c"], {"c": TORCH}, mine=set(), elsewhere=set()) == "c"


def test_a_worker_without_the_server_leaves_its_students_to_the_one_with_it():
    """Does a worker take light students, and then wait rather than start a second torch server
    for a few torch students another worker serves?"""
    heavy = {"b": TORCH, "c": TORCH}
    assert next_student(["a", "b", "c"], heavy, mine=set(), elsewhere={TORCH}) == "a"
    assert next_student(["b", "c"], heavy, mine=set(), elsewhere={TORCH}) is None


def test_a_second_server_starts_when_enough_heavy_students_wait():
    """When SPREAD_HEAVY torch students wait and nothing else does, does an idle worker help?"""
    queue = [f"t{k}" for k in range(SPREAD_HEAVY)]
    heavy = dict.fromkeys(queue, TORCH)
    assert next_student(queue, heavy, mine=set(), elsewhere={TORCH}) == "t0"
    assert next_student(queue[1:], heavy, mine=set(), elsewhere={TORCH}) is None


def test_without_other_servers_a_worker_always_takes_someone():
    """With nothing loaded elsewhere, is a student always chosen from a non-empty queue?"""
    heavy = {"a": TORCH, "b": ("scipy",)}
    assert next_student(["a", "b"], heavy, mine={("scipy",)}, elsewhere=set()) == "b"
    assert next_student(["a"], heavy, mine=set(), elsewhere=set()) == "a"


def _notebook(folder: Path, *sources: str, raw: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cells = [{"cell_type": "code", "source": s, "metadata": {}, "outputs": []} for s in sources]
    cells.append({"cell_type": "markdown", "source": "import torch is mentioned in prose only", "metadata": {}})
    (folder / "neurons.ipynb").write_text(raw if raw is not None else json.dumps({"cells": cells}))
    return folder


@pytest.mark.parametrize(
    "sources, expected",
    [
        (["import numpy as np\nx = np.ones(3)"], ()),
        (["import torch\n", "y = 1"], TORCH),
        (["from scipy.signal import lfilter"], ("scipy",)),
        ([["x = torch", ".zeros(3)\n"], "from scipy import signal"], ("scipy", "torch")),
    ],
)
def test_heavy_modules_are_found_in_code_cells_only(tmp_path, sources, expected):
    """Which prewarm modules does a submission's code use (source as text or list of lines)?"""
    assert heavy_modules(_notebook(tmp_path / "s", *sources)) == expected


def test_an_unreadable_notebook_needs_nothing(tmp_path):
    """A corrupted notebook is only a scheduling hint's problem: it counts as needing nothing."""
    assert heavy_modules(_notebook(tmp_path / "s", raw='{"cells": [ not json')) == ()
    assert heavy_modules(_notebook(tmp_path / "t", raw="[1, 2]")) == ()
    assert heavy_modules(tmp_path / "missing") == ()


def _submission(course: Path, sid: str, *sources: str) -> Path:
    return _notebook(course / "submitted" / sid / "module1", *sources)


def test_the_batch_guesses_the_heavy_modules_of_its_first_heavy_student(tmp_path):
    """Which fork server does the batch start before anything else (:func:`heavy_hint`)? The
    heavy modules of the first submission (in name order) whose code uses any: prose naming
    torch does not count, nor does a folder the screening would refuse (a link is never
    followed); a class that uses none gets none."""
    from neurograder.batch import heavy_hint

    course = tmp_path / "course"
    _submission(course, "a_prose_only", "x = 1")  # (its markdown cell names torch)
    assert heavy_hint(course, "module1", force=True) == ()
    (course / "submitted" / "b_linked" / "module1").mkdir(parents=True)
    (course / "submitted" / "b_linked" / "module1" / "neurons.ipynb").symlink_to(
        _submission(tmp_path / "elsewhere", "x", "import torch") / "neurons.ipynb"
    )
    assert heavy_hint(course, "module1", force=True) == ()
    _submission(course, "c_scipy", "from scipy import signal")
    _submission(course, "d_torch", "import torch")
    assert heavy_hint(course, "module1", force=True) == ("scipy",)


def test_without_force_the_guess_passes_over_students_graded_since_their_last_change(tmp_path):
    """A rerun (no ``--force``): a student whose marker is newer than their notebook is
    likely skipped, so their torch is no reason to start a torch server; a resubmission is."""
    from neurograder.batch import heavy_hint
    from neurograder.screening import MARKER

    course = tmp_path / "course"
    notebook = _submission(course, "s_torch", "import torch") / "neurons.ipynb"
    marker = course / "autograded" / "s_torch" / "module1" / MARKER
    marker.parent.mkdir(parents=True)
    marker.write_text("{}")
    os.utime(notebook, (1_000_000, 1_000_000))
    assert heavy_hint(course, "module1", force=False) == ()
    assert heavy_hint(course, "module1", force=True) == TORCH
    os.utime(notebook)  # (resubmitted: newer than the marker)
    os.utime(marker, (1_000_000, 1_000_000))
    assert heavy_hint(course, "module1", force=False) == TORCH


def _stand_in_init(course, db_url):
    """A worker's start-up, for the scheduling test: nothing."""


def _stand_in_grade(course, assignment, student, force, db_url, write_marker):
    """A student's grading, for the scheduling test: which worker process graded whom."""
    return {"student": student, "status": "graded", "pid": os.getpid()}


def _stand_in_ready(course, assignment, db_url):
    """A worker getting ready before its first student, for the start-up test: it leaves a
    file named after its process."""
    (Path(course) / f"ready-{os.getpid()}").write_text(assignment)


class _Recording(LocalExecutor):
    init = staticmethod(_stand_in_init)
    ready = staticmethod(_stand_in_ready)
    grade = staticmethod(_stand_in_grade)


@pytest.mark.timeout(120)
def test_workers_started_ahead_are_at_most_jobs_and_get_ready_before_their_first_student(tmp_path):
    """On real worker processes: does ``start`` start one worker per student announced, never
    more than ``jobs`` (a second call adds only the missing ones), each getting ready before
    it grades anyone, and do the students then go to those same workers?"""
    pool = _Recording(str(tmp_path), jobs=2)
    try:
        pool.start("module1", 1)
        pool.start("module1", 5)  # (two at most; the first is not started again)
        pool.start("module1", 5)
        results = dict(pool.run(["a", "b", "c", "d"], "module1", force=True))
    finally:
        pool.close()
    ready = {int(p.name.split("-")[1]) for p in tmp_path.glob("ready-*")}
    assert len(ready) == 2
    assert {r["pid"] for r in results.values()} == ready
    assert {p.read_text() for p in tmp_path.glob("ready-*")} == {"module1"}


@pytest.mark.timeout(120)
def test_torch_students_share_one_worker_and_everyone_is_graded_once(tmp_path):
    """On real worker processes: are the class's torch students (fewer than SPREAD_HEAVY)
    all graded by one worker (one torch server for the batch), the others spread over both,
    and every student exactly once?"""
    students = [f"s{k:02d}" for k in range(12)]
    heavy = {sid: TORCH for sid in students[1::2]}  # every other student: a queue-order split would mix them
    assert len(heavy) < executors.SPREAD_HEAVY
    pool = _Recording(str(tmp_path), jobs=2)
    try:
        results = dict(pool.run(students, "module1", force=True, heavy=heavy))
    finally:
        pool.close()
    assert sorted(results) == students
    assert len({results[sid]["pid"] for sid in heavy}) == 1
    assert len({r["pid"] for r in results.values()}) == 2, "both workers graded someone"


def _stand_in_grade_leaving_a_file(course, assignment, student, force, db_url, write_marker):
    """A student's grading that leaves a file named after the student when done."""
    (Path(course) / f"graded-{student}").write_text(str(os.getpid()))
    return {"student": student, "status": "graded", "pid": os.getpid()}


class _Leaving(_Recording):
    grade = staticmethod(_stand_in_grade_leaving_a_file)


@pytest.mark.timeout(120)
def test_workers_grade_while_the_class_is_still_being_screened(tmp_path):
    """Does ``run`` read students from its iterable only as the workers need them, so that
    the first students are graded while the rest of the class is still being screened, and
    is everyone graded exactly once? (The stand-in screening waits, within a bound, for the
    first student to be graded before it gives the third, and notes for each student it gives
    whether that had happened: reading the whole class first never lets it happen.)"""
    import time

    students = [f"s{k:02d}" for k in range(12)]
    first_graded = tmp_path / "graded-s00"
    read = []

    def screening():
        for sid in students:
            if sid == "s02":
                deadline = time.monotonic() + 60
                while not first_graded.exists() and time.monotonic() < deadline:
                    time.sleep(0.01)  # (polled with a bound: a worker writes the file)
            read.append((sid, first_graded.exists()))
            yield sid

    pool = _Leaving(str(tmp_path), jobs=2)
    try:
        graded = [sid for sid, _ in pool.run(screening(), "module1", force=True)]
    finally:
        pool.close()
    assert sorted(graded) == students
    assert not read[0][1] and all(after for _, after in read[2:]), read  # (s01: either way)


@pytest.mark.timeout(120)
def test_a_small_class_uses_one_worker_per_core_and_a_large_one_more(tmp_path):
    """Does the batch's default put one worker per core on a class under EXTRA_WORKER_FROM
    students and one more on a larger one, and does ``run`` keep to the workers it is given
    (real worker processes: the pids that graded)?"""
    from neurograder.batch import EXTRA_WORKER_FROM, default_jobs

    cores = os.cpu_count() or 1
    assert default_jobs(EXTRA_WORKER_FROM - 1) == cores
    assert default_jobs(EXTRA_WORKER_FROM) == cores + 1
    pool = _Recording(str(tmp_path), jobs=3)
    try:
        results = dict(pool.run([f"s{k}" for k in range(12)], "module1", force=True, workers=2))
    finally:
        pool.close()
    assert len(results) == 12
    assert len({r["pid"] for r in results.values()}) == 2
