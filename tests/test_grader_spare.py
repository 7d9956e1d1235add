"""Do warm sandboxes (neurograder.launch.keep_warm, as the batch's workers use them: each
forked by a fork server that holds NumPy, and the next one started ahead of its job) keep
every promise of a sandbox per student?

Each test runs real sandboxes (bubblewrap here) with both on: the student after another
must find nothing the one before left (files in /tmp and /dev/shm, keyring notes, module
globals of the NumPy both use, the environment, the uid, and the other's data in memory), the
waiting sandbox and the fork server must end with their processes, cgroup and uid when no
longer needed, and a sandbox that died or was made for another assignment must never be
handed a job. (Every probe of test_grader_sandbox also runs forked: its ``start`` fixture.)
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_grader_batch_bounds import KEY_CODE  # noqa: E402
from test_grader_sandbox import CAPS, probe  # noqa: E402

from neurograder import bounds, launch, sandbox  # noqa: E402
from neurograder.executors import LocalExecutor  # noqa: E402

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(sandbox.sandbox_mode() != "bwrap", reason="the sandbox is bubblewrap here"),
]

#: a student who leaves traces everywhere a process of the sandbox can write
LEAVE = """
import numpy, os
open('/tmp/note', 'w').write('answers')
open('/dev/shm/note', 'w').write('answers')
numpy.neurograder_note = 'answers'
os.environ['NEUROGRADER_NOTE'] = 'answers'
"""
#: the next student looks for them: [files, NumPy attribute, environment, session and user
#: keyring notes, own uid]
LOOK = """
import numpy, os
traces = [float(os.path.exists('/tmp/note') or os.path.exists('/dev/shm/note')),
          float(hasattr(numpy, 'neurograder_note')),
          float('NEUROGRADER_NOTE' in os.environ)]
"""


@pytest.fixture
def warm(monkeypatch):
    """The spare on for this test, with every sandbox it starts recorded; off (its waiting
    sandbox ended) afterwards."""
    started = []
    init = launch.Started.__init__

    def recording_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        started.append((time.monotonic(), self))

    monkeypatch.setattr(launch.Started, "__init__", recording_init)
    launch.keep_warm()
    yield started
    launch.keep_warm(False)


def _run(code: str) -> tuple[list, float]:
    """``code``'s ``probe`` and the time its job was handed over (once the sandbox started
    for it in the background, if any, is up)."""
    launch.Spare.settle()
    handed = time.monotonic()
    return probe(code), handed


def test_the_next_student_finds_nothing_the_previous_one_left(warm):
    """Files, module globals, environment, keyring notes: none reach the student graded after
    in a sandbox that was started while the first was still running; the uid differs."""
    first, _ = _run(LEAVE + KEY_CODE.format(write=True))
    second, handed = _run(LOOK + KEY_CODE.format(write=False) + "probe = traces + probe")
    assert first[:2] == [1.0, 1.0], first  # the keyring notes were really written
    assert second[:5] == [0.0] * 5, second
    assert first[2] != second[5]  # another uid
    # the second job ran in the sandbox started before it was handed over
    assert len(warm) >= 2 and warm[1][0] < handed


#: a student who keeps 8 MB of a recognisable pattern in memory while graded
REMEMBER = """
import numpy
pattern = bytes((i * 7 + 13) % 251 for i in range(251)) * 33000
"""
#: the next student counts how often a 64-byte piece of that pattern occurs in all the memory
#: of its own process (its own copy of the piece counts a few times, the other's 8 MB would
#: count ~33,000 times)
SEARCH = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)

class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

needle = bytes((i * 7 + 13) % 251 for i in range(64))
chunk = 1 << 20
buf = ctypes.create_string_buffer(chunk)
count = 0
with open('/proc/self/maps') as maps:
    for line in maps:
        span, perms = line.split()[:2]
        if 'r' not in perms:
            continue
        start, end = (int(x, 16) for x in span.split('-'))
        for at in range(start, end, chunk):
            n = min(chunk, end - at)
            local, remote = IoVec(ctypes.addressof(buf), n), IoVec(at, n)
            # (a copy of this process's own memory that fails on unmapped pages, never faults)
            got = libc.process_vm_readv(os.getpid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
            if got > 0:
                count += buf.raw[:got].count(needle)
probe = float(count)
"""


def test_the_next_student_finds_nothing_of_the_previous_one_in_memory(warm):
    """The fork server never holds a student's data, so a sandbox forked from it after
    another student's has none of that student's memory."""
    assert probe(REMEMBER + "probe = float(len(pattern))") > 8e6
    assert launch.Servers.running, "the sandboxes were not forked by a fork server"
    found = probe(SEARCH)
    assert 1 <= found < 100, found  # (>= 1: the search works: it finds its own needle)


#: a student's draws from NumPy's global generator and from Python's ``random``
DRAW = "import numpy, random\nprobe = [float(x) for x in numpy.random.random(3)] + [random.random()]"


def test_students_forked_from_one_server_draw_different_random_numbers(warm):
    """The fork server has ``numpy.random`` (and ``random``) loaded, so each sandbox starts with
    a copy of the server's generator state: is it re-seeded in each, so that two students, or
    one student's grade and its regrade, do not draw the same "random" numbers?"""
    first, second = probe(DRAW), probe(DRAW)
    assert launch.Servers.running, "the sandboxes were not forked by a fork server"
    assert len(first) == len(second) == 4
    assert first[:3] != second[:3], "NumPy's global generator was the same in both sandboxes"
    assert first[3] != second[3], "Python's random generator was the same in both sandboxes"


def test_a_waiting_sandbox_ends_with_its_cgroup_when_no_longer_kept(warm):
    """keep_warm(False) ends the started sandbox: its process is gone and its cgroup removed."""
    probe("probe = 1.0")
    spare = launch.Spare.settle()
    assert spare is not None and spare.proc.poll() is None
    dirs = list(spare.box.cgroup.dirs)
    assert dirs and all(d.exists() for d in dirs)
    launch.keep_warm(False)
    assert spare.proc.poll() is not None
    assert [d for d in dirs if d.exists()] == []


def test_a_spare_that_died_is_not_handed_a_job(warm):
    """A waiting sandbox killed from outside is replaced: the student is still graded."""
    probe("probe = 1.0")
    spare = launch.Spare.settle()
    os.killpg(spare.proc.pid, 9)
    spare.proc.wait(timeout=30)
    assert probe("probe = 2.0") == 2.0
    assert any(s is not spare for _, s in warm[2:])


def test_a_spare_for_another_assignment_is_ended_not_used(warm, tmp_path):
    """A sandbox started with one released folder bound in never grades another assignment."""
    probe("probe = 1.0")
    spare = launch.Spare.settle()
    other = tmp_path / "other"
    other.mkdir()
    (other / "data.txt").write_text("42.5")
    assert probe("probe = float(open('/assignment/data.txt').read())", assignment_dir=str(other)) == 42.5
    assert spare.proc.poll() is not None  # ended, not used


def _grade_in_worker() -> tuple[int, list[str]]:
    """(In a pool worker) one job with the spare on; the waiting sandbox's pid and cgroup."""
    launch.keep_warm()
    probe("probe = 1.0")
    spare = launch.Spare.settle()
    return spare.proc.pid, [str(d) for d in spare.box.cgroup.dirs]


def test_a_worker_that_exits_ends_its_waiting_sandbox():
    """The batch's workers are multiprocessing processes (no atexit): the sandbox one started
    for a next student ends with it, cgroup included (and its fork server, whose sandbox
    that was)."""
    with ProcessPoolExecutor(max_workers=1) as pool:
        pid, dirs = pool.submit(_grade_in_worker).result(timeout=90)
    assert dirs
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (bounds._alive(pid) or any(Path(d).exists() for d in dirs)):
        time.sleep(0.05)  # polled with a bound: the worker's exit runs the clean-up
    assert not bounds._alive(pid)
    assert [d for d in dirs if Path(d).exists()] == []


def _parked_init(course, db_url):
    """A worker's start-up, as the batch's: warm sandboxes on."""
    launch.keep_warm()


def _parked_ready(course, assignment, db_url):
    """A worker getting ready for its released folder (``course`` stands for it here), as
    neurograder.worker.start_first_sandbox does: it adopts a server parked for it."""
    launch.Servers.adopt(course)


def _parked_grade(course, assignment, student, force, db_url, write_marker):
    """A student whose code uses json (this test's prewarm list) or not, graded in a real
    sandbox; which fork servers the worker then had (their heavy modules -> pid)."""
    code = "import json.tool\nprobe = 1.0" if student.startswith("heavy") else "probe = 1.0"
    assert probe(code, prewarm=["json"], assignment_dir=course) == 1.0
    servers = {",".join(heavy): server.proc.pid for (_, heavy), server in launch.Servers.running.items()}
    return {"student": student, "status": "graded", "pid": os.getpid(), "servers": servers}


class _Parking(LocalExecutor):
    init = staticmethod(_parked_init)
    ready = staticmethod(_parked_ready)
    grade = staticmethod(_parked_grade)


@pytest.mark.timeout(180)
def test_a_server_parked_before_the_workers_start_serves_exactly_one_of_them(tmp_path):
    """The batch's driver starts the fork server its heavy students need before it forks its
    workers (neurograder.batch.park_heavy_server): is that very server used by one worker
    only, the first forked, which gets every heavy student, let go by the driver at once
    (no later worker inherits it), alive for the whole class and ended with the batch?"""
    release = tmp_path / "release"
    release.mkdir()
    server = launch.Servers.park(str(release), ("json",))
    assert server is not None and server.alive()
    students = ["heavy1", "light1", "heavy2", "light2", "heavy3", "light3"]
    heavy = {sid: ("json",) for sid in students if sid.startswith("heavy")}
    pool = _Parking(str(release), jobs=2)
    try:
        pool.start("module1", 2)
        assert launch.Servers.parked is None  # (let go as soon as the first worker was forked)
        results = dict(pool.run(students, "module1", force=True, heavy=heavy))
        assert bounds._alive(server.proc.pid)
    finally:
        pool.close()
        server.end()
    adopter = {results[sid]["pid"] for sid in heavy}
    assert len(adopter) == 1, results
    assert {results[sid]["servers"]["json"] for sid in heavy} == {server.proc.pid}  # that one, not a new one
    others = [r for r in results.values() if r["pid"] not in adopter]
    assert others and all("json" not in r["servers"] for r in others), results
    assert not bounds._alive(server.proc.pid)


#: which of scipy, scipy.signal and json.tool the sandbox has loaded (names built at run
#: time: written out, they would count as the code mentioning them)
LOADED = "import sys\nprobe = [float(m in sys.modules) for m in ('sci' + 'py', 'sci' + 'py.signal', 'js' + 'on.tool')]"


def _servers(heavy: bool) -> list:
    """The running fork servers that have loaded heavy modules (or none)."""
    return [server for (_, loads), server in launch.Servers.running.items() if bool(loads) == heavy]


@pytest.mark.timeout(300)
def test_a_heavy_module_a_student_uses_is_loaded_once_by_a_server_of_its_own(warm):
    """A student whose code uses scipy (on the course's prewarm list) gets a sandbox from a
    fork server that imported it (only top-level names of the prewarm list, whatever the code
    names: a submodule, another module), kept for the next student who uses it; a student
    who does not use it still gets a sandbox without it (a process that forks dozens of
    times per student is not made to hold it)."""
    limits = sandbox.Limits(timeout=60, cpu=60)
    assert probe(LOADED, limits=limits, prewarm=["scipy"]) == [0.0, 0.0, 0.0]  # nothing before
    use = "import scipy.signal\nimport json.tool\nprobe = 1.0"
    assert probe(use, limits=limits, prewarm=["scipy", "json"]) == 1.0
    (server,) = _servers(heavy=True)
    assert server.loaded == {"scipy", "json"}  # top-level names only
    assert probe(LOADED, limits=limits, prewarm=["scipy"]) == [0.0, 0.0, 0.0]  # the next one, without
    assert probe(use, limits=limits, prewarm=["scipy", "json"]) == 1.0
    assert _servers(heavy=True) == [server] and server.alive()  # the same server, loaded once
    (plain,) = _servers(heavy=False)
    assert plain.loaded == set()


def test_sandboxes_of_one_process_run_one_at_a_time(warm):
    """Two threads grading at once (a formgrader may) never have two sandboxes of the process's
    fork server alive together: the spans their students' code ran in do not overlap."""
    import threading

    code = "import time\nstart = time.monotonic()\ntime.sleep(0.5)\nprobe = [start, time.monotonic()]"
    spans, errors = [], []

    def grade():
        try:
            spans.append(probe(code))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=grade) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert len(spans) == 2, (spans, errors)
    (a0, a1), (b0, b1) = sorted(spans)
    assert a1 <= b0, spans


WORKER = """
import sys
sys.path.insert(0, {tests!r})
from neurograder import launch
from test_grader_sandbox import probe
launch.keep_warm()
probe("probe = 1.0")
(server,) = launch.Servers.running.values()
print(server.proc.pid, launch.Spare.settle().proc.pid, flush=True)
sys.stdin.read()  # until killed
"""


def test_a_killed_worker_leaves_no_fork_server_or_sandbox():
    """A grading process killed with SIGKILL (no clean-up runs) takes its fork server and the
    sandbox it had forked ahead with it: the server ends when its socket closes."""
    import signal
    import subprocess

    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER.format(tests=str(Path(__file__).resolve().parent))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        server, spare = (int(x) for x in worker.stdout.readline().split())
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (bounds._alive(server) or bounds._alive(spare)):
        time.sleep(0.05)  # polled with a bound: the server sees its socket close
    assert not bounds._alive(server) and not bounds._alive(spare)


def test_a_student_whose_warm_start_fails_is_graded_in_a_cold_sandbox(warm, monkeypatch):
    """A fork server that cannot give a sandbox (here: it says so at once) costs nothing but
    speed: the student is graded in a sandbox bubblewrap starts cold."""
    from neurograder import zygote

    def refuse(self, cgroup):
        raise zygote.ZygoteError("the fork server's sandbox did not start: (test)")

    monkeypatch.setattr(zygote.Zygote, "fork", refuse)
    launch.Spare.discard()
    caps = probe(CAPS)
    assert caps[2] > (1 << 6) | (1 << 7)  # a cold sandbox's full bounding set
    assert probe("probe = 3.0") == 3.0


def test_a_fork_server_that_died_is_replaced(warm):
    """A fork server killed between two students (OOM killer, kill -9) is replaced: the next
    student's sandbox is forked by a new one."""
    import signal

    probe("probe = 1.0")
    (old,) = launch.Servers.running.values()
    os.killpg(old.proc.pid, signal.SIGKILL)
    old.proc.wait(timeout=30)
    caps = probe(CAPS)
    (new,) = launch.Servers.running.values()
    assert new is not old and new.alive()
    assert caps[2] == (1 << 6) | (1 << 7)  # forked (a cold sandbox's bounding set is full)
