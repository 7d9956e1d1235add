"""Where the batch's students are graded: local worker processes, or a Dask cluster.

Both executors have the same face: ``run(students, assignment, force)`` yields
``(student, result)`` as each student finishes, ``kill()`` stops at once, ``close()`` waits.

* :class:`LocalExecutor`: ``jobs`` worker processes on this machine, each a one-process pool
  of its own, all writing the course's gradebook (SQLite on a local disk takes one writer at
  a time, with its own locking). Students whose code uses a heavy module (torch) are kept on
  the worker that has loaded it (:func:`next_student`).
* :class:`DaskExecutor`: shards of students sent to an existing ``dask.distributed``
  scheduler. SQLite must not be written by several machines through a shared file system
  (its locks are not reliable there), so each shard is graded against a private copy of the
  gradebook on the worker's local disk, and the driver alone writes the course's gradebook:
  one transaction per student (:mod:`neurograder.records`), then that student's marker.
  Workers read the course folder (submissions, source, release) and write each student's
  own ``autograded/<student>/`` folder through the shared file system.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from neurograder import records, worker

#: times a student is started again after their grading worker died (killed by the OOM
#: killer or an operator); then the student is reported as "error" and the batch goes on
WORKER_RETRIES = 1
#: students per Dask task: each shard pays a start-up of its own (a Python process,
#: nbgrader's imports, a warm fork server: ~3 s of CPU, measured), so large enough to spread
#: it over many students (the 30 of the benchmark: two shards, not four), small enough to
#: spread a class over many workers (300 students: 19 shards)
SHARD_SIZE = 16
#: file name of the gradebook snapshot the Dask workers copy (in the course folder)
SNAPSHOT = ".neurograder-gradebook-snapshot.db"
#: a worker starts a fork server of its own for heavy modules that another worker has loaded
#: only when it has nothing else to do and at least this many students needing them wait: a
#: server holding torch costs ~2.8 s of CPU to start (its import), the same as grading ~8
#: of those students in a worker whose server is warm
SPREAD_HEAVY = 8


def next_student(queue, heavy: dict, mine: set, elsewhere: set):
    """The queued student a free worker grades next (None: it leaves the rest to the others).

    ``heavy``: student -> heavy modules (a tuple; empty for most); ``mine``: the heavy-module
    sets whose fork server this worker has loaded; ``elsewhere``: those loaded by the other
    workers (empty: this worker takes someone whenever the queue is not). In order: a student
    needing a server this worker has; one needing a server no worker has (this worker loads
    it, early in the batch); a student needing none; one needing a server another worker has,
    when at least :data:`SPREAD_HEAVY` of those wait. Queue order is kept within each kind.
    """
    first = {}
    waiting = {}
    for sid in queue:
        key = heavy.get(sid, ())
        kind = "light" if not key else "mine" if key in mine else "elsewhere" if key in elsewhere else "new"
        first.setdefault(kind, sid)
        waiting[key] = waiting.get(key, 0) + 1
    for kind in ("mine", "new", "light"):
        if kind in first:
            return first[kind]
    if "elsewhere" in first:
        sid = first["elsewhere"]
        if waiting[heavy[sid]] >= SPREAD_HEAVY:
            return sid
    return None


class LocalExecutor:
    """``jobs`` grading workers, each a one-process pool: a worker that dies (SIGKILL, OOM)
    breaks only its own pool, so it costs only the student it held. That student is started
    again up to WORKER_RETRIES times in a fresh worker, then reported as "error"."""

    #: what each worker process runs first, before its first student, and for each student
    #: (tests give stand-ins)
    init = staticmethod(worker.init)
    ready = staticmethod(worker.warm_up)
    grade = staticmethod(worker.grade_one)

    def __init__(self, course: str, jobs: int, db_url: str | None = None, write_marker: bool = True):
        self.course, self.pools = course, [None] * max(1, jobs)
        self.db_url, self.write_marker = db_url, write_marker
        #: per slot: the heavy-module sets its worker's fork servers have loaded
        self.loaded = [set() for _ in self.pools]
        #: (slot, heavy modules): the worker forked while this process had a fork server
        #: parked for it (:meth:`neurograder.launch.Servers.park`), which adopts it
        self.adopted: tuple | None = None

    def _pool(self, slot: int) -> ProcessPoolExecutor:
        if self.pools[slot] is None:
            self.pools[slot] = ProcessPoolExecutor(
                max_workers=1, initializer=self.init, initargs=(self.course, self.db_url)
            )
        return self.pools[slot]

    def _submit(self, slot: int, *args):
        """``args`` submitted to the worker of ``slot``, forked now if it is not running. The
        first worker forked while a fork server is parked here takes it over (its
        ``warm_up`` adopts it); this process lets go of its copy at once, so that no other
        worker inherits it."""
        from neurograder.launch import Servers

        fut = self._pool(slot).submit(*args)
        if Servers.parked is not None and getattr(self.pools[slot], "_processes", None):
            (_, heavy), _ = Servers.parked
            self.adopted = (slot, heavy)
            self.loaded[slot].add(heavy)
            Servers.disown()
        return fut

    def _drop(self, slot: int):
        pool, self.pools[slot] = self.pools[slot], None
        self.loaded[slot] = set()
        if self.adopted and self.adopted[0] == slot:
            self.adopted = None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def start(self, assignment: str, workers: int) -> None:
        """Start the first ``workers`` workers (at most ``jobs``) now, those not started yet,
        each getting ready for ``assignment`` (its first sandbox and fork server) while the
        caller goes on (screening the class): the students handed out later queue behind
        it. A worker that fails to get ready fails its first student the same way, which
        :meth:`run` handles."""
        for slot in range(min(workers, len(self.pools))):
            if self.pools[slot] is None:
                self._submit(slot, self.ready, self.course, assignment, self.db_url)

    def run(self, students, assignment: str, force: bool, heavy: dict | None = None, workers: int | None = None):
        """Yield (student, result) as each student finishes, whatever happens to workers.
        ``students``: any iterable, read as the workers need students (a class still being
        screened: the next student is screened whenever a worker is free and none waits,
        and one more after each look at the workers while all are busy); ``heavy``: student
        -> the heavy modules their code uses (:func:`neurograder.screening.heavy_modules`),
        known for each student once ``students`` has given it, so that each heavy fork
        server is started by as few workers as possible; ``workers``: at most this many of
        the ``jobs`` workers are used."""
        slots = range(min(workers or len(self.pools), len(self.pools)))
        source, queue, attempts, running = iter(students), deque(), {}, {}
        heavy = heavy if heavy is not None else {}
        more = True  # (students may still come from the source)
        self.loaded = [set() for _ in self.pools]
        if self.adopted is not None:
            self.loaded[self.adopted[0]].add(self.adopted[1])

        def pull() -> bool:
            """One more student from the source into the queue; False once it has none."""
            nonlocal more
            if more:
                try:
                    queue.append(next(source))
                except StopIteration:
                    more = False
            return more

        def submit(slot: int, sid: str) -> None:
            queue.remove(sid)
            if heavy.get(sid):
                self.loaded[slot].add(heavy[sid])
            args = (self.grade, self.course, assignment, sid, force, self.db_url, self.write_marker)
            try:
                fut = self._submit(slot, *args)
            except BrokenProcessPool:  # (its worker died before this student: a fresh one)
                self._drop(slot)
                fut = self._submit(slot, *args)
            running[fut] = (slot, sid)

        while queue or running or more:
            for slot in slots:
                if slot in {k for k, _ in running.values()}:
                    continue
                while not queue and pull():
                    pass  # (screened until someone is there to grade, or no one is left)
                if queue:
                    elsewhere = set().union(*(self.loaded[k] for k in slots if k != slot))
                    sid = next_student(queue, heavy, self.loaded[slot], elsewhere)
                    if sid is not None:
                        submit(slot, sid)
            if queue and not running:  # (every worker left the rest to another: the first takes it)
                submit(0, next_student(queue, heavy, self.loaded[0], set()))
            if not running:
                continue
            if more:  # (the workers are busy: screen one more, then look at them)
                pull()
                finished = [fut for fut in running if fut.done()]
            else:
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in finished:
                slot, sid = running.pop(fut)
                try:
                    yield sid, fut.result()
                except BrokenProcessPool:
                    self._drop(slot)
                    attempts[sid] = attempts.get(sid, 0) + 1
                    if attempts[sid] <= WORKER_RETRIES:
                        queue.appendleft(sid)
                    else:
                        yield (
                            sid,
                            {
                                "student": sid,
                                "status": "error",
                                "message": f"the grading worker died {attempts[sid]} times "
                                "(killed, out of memory?); run the command again",
                            },
                        )
                except Exception as exc:  # noqa: BLE001 - one student's failure, go on
                    yield sid, error_result(sid, exc)

    def kill(self):
        for slot, pool in enumerate(self.pools):
            if pool is not None:
                for proc in list((getattr(pool, "_processes", None) or {}).values()):
                    proc.kill()
                self._drop(slot)

    def close(self):
        for pool in self.pools:
            if pool is not None:
                pool.shutdown(wait=True)


def error_result(sid: str, exc: BaseException) -> dict:
    return {"student": sid, "status": "error", "message": f"{type(exc).__name__}: {exc}"[:300]}


def shards(students: list[str], size: int = SHARD_SIZE) -> list[list[str]]:
    return [students[k : k + size] for k in range(0, len(students), size)]


def snapshot_gradebook(db: Path, dest: Path) -> Path:
    """A consistent copy of the SQLite gradebook ``db`` (SQLite's online backup)."""
    dest.unlink(missing_ok=True)
    with sqlite3.connect(db) as src, sqlite3.connect(dest) as out:
        src.backup(out)
    return dest


class DaskExecutor:
    """Shards of students graded on an existing Dask scheduler; the gradebook is written
    here, by the driver, one transaction per student (see the module docstring)."""

    def __init__(self, course: str, scheduler: str, shard_size: int = SHARD_SIZE):
        from distributed import Client

        self.course, self.shard_size = course, shard_size
        self.client = Client(scheduler, set_as_default=False)
        self.futures = []

    def start(self, assignment: str, workers: int) -> None:
        """Nothing to start: the cluster's workers are up already (and get ready with their
        first shard)."""

    def run(self, students, assignment: str, force: bool, heavy: dict | None = None, workers: int | None = None):
        """As :meth:`LocalExecutor.run` (``workers``: the cluster's, whatever is asked);
        students needing the same heavy modules (``heavy``) are put next to each other, so
        that they share shards (and fork servers)."""
        from distributed import as_completed

        students = list(students)  # (the whole class screened first: it is sharded up front)
        heavy = heavy if heavy is not None else {}
        order = {sid: k for k, sid in enumerate(students)}
        students.sort(key=lambda sid: (heavy.get(sid, ()), order[sid]))
        course = Path(self.course)
        api = worker.course_api(course)
        snapshot = snapshot_gradebook(Path(api.coursedir.db_url.removeprefix("sqlite:///")), course / SNAPSHOT)
        try:
            by_future = {}
            for shard in shards(list(students), self.shard_size):
                fut = self.client.submit(grade_shard, self.course, assignment, shard, force, str(snapshot), pure=False)
                by_future[fut] = shard
            self.futures = list(by_future)
            for fut in as_completed(self.futures, loop=self.client.loop):
                try:
                    done = fut.result()
                except Exception as exc:  # noqa: BLE001 - a lost shard costs its students
                    for sid in by_future[fut]:
                        yield sid, error_result(sid, exc)
                    continue
                for result, record in done:
                    yield result["student"], self._record(api, course, assignment, result, record)
        finally:
            snapshot.unlink(missing_ok=True)

    @staticmethod
    def _record(api, course: Path, assignment: str, result: dict, record) -> dict:
        """The student's grades into the course gradebook, then their marker."""
        if result.get("status") != "graded" or record is None:
            return result
        try:
            records.apply_record(api.coursedir.db_url, api.coursedir.course_id, assignment, result["student"], record)
        except Exception as exc:  # noqa: BLE001 - not recorded: reported, graded next run
            return error_result(result["student"], exc)
        worker.write_marker_file(course, assignment, result)
        return result

    def kill(self):
        self.client.cancel(self.futures, force=True)
        self.client.close()

    def close(self):
        self.client.close()


def grade_shard(course: str, assignment: str, students: list[str], force: bool, snapshot: str) -> list:
    """(On a Dask worker) grade ``students`` against a local copy of the gradebook snapshot;
    return [(result, record or None)]. Grading runs in a child process of its own (the
    sandbox must not be started from a threaded Dask worker)."""
    with tempfile.TemporaryDirectory(prefix="neurograder-shard-") as tmp:
        db = Path(tmp) / "gradebook.db"
        shutil.copyfile(snapshot, db)
        out = Path(tmp) / "results.json"
        spec = {
            "course": course,
            "assignment": assignment,
            "students": students,
            "force": force,
            "db_url": f"sqlite:///{db}",
            "out": str(out),
        }
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]),
        )
        run = subprocess.run(
            [sys.executable, "-m", "neurograder.executors"],
            input=json.dumps(spec),
            text=True,
            capture_output=True,
            env=env,
        )
        if run.returncode != 0 or not out.exists():
            raise RuntimeError(f"shard grader failed (exit {run.returncode}): {run.stderr[-500:]}")
        return json.loads(out.read_text())


def _shard_main() -> int:
    """The shard's child process: one local worker, no markers (the driver writes them)."""
    spec = json.loads(sys.stdin.read())
    local = LocalExecutor(spec["course"], 1, spec["db_url"], write_marker=False)
    done = []
    try:
        for sid, result in local.run(spec["students"], spec["assignment"], spec["force"]):
            record = (
                records.submission_record(spec["db_url"], spec["assignment"], sid)
                if result.get("status") == "graded"
                else None
            )
            done.append((result, record))
    finally:
        local.close()
    Path(spec["out"]).write_text(json.dumps(done))
    return 0


if __name__ == "__main__":
    sys.exit(_shard_main())
