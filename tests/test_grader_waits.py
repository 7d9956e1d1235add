"""Does the grader wait only for events, and only where a student's grade needs it?

* A student's sandbox is ended, and the next one started, in the background while the worker
  judges and records the grades (neurograder.launch.Spare.release): the grading call returns
  before that turnover, the next student waits for it, and a failure there is not lost.
* The supervisor collects a killed loader as soon as it ends: its pidfd wakes the wait, no
  sleep is taken (neurograder.inside.privileges.reap_until_gone).
* The batch's start-up does not import what no grade needs (neurograder.batch.SKIPPED_IMPORTS).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_grader_sandbox import probe  # noqa: E402

from neurograder import launch, sandbox, uids  # noqa: E402
from neurograder.inside import privileges  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
bwrap_only = pytest.mark.skipif(sandbox.sandbox_mode() != "bwrap", reason="the sandbox is bubblewrap here")


@pytest.fixture
def warm():
    launch.keep_warm()
    yield
    launch.keep_warm(False)


@bwrap_only
@pytest.mark.timeout(120)
def test_grading_returns_before_its_sandbox_is_ended_and_the_next_started(warm, monkeypatch):
    """The grading call returns while the ended sandbox's clean-up still waits (held here on
    an event); the next student's sandbox is started only after it, and is handed over."""
    gate, ended = threading.Event(), []
    end = launch.Started.end

    def held_end(self):
        assert gate.wait(60), "the test never opened the gate"
        dirs = list(self.box.cgroup.dirs)
        end(self)
        ended.append((self, dirs))

    monkeypatch.setattr(launch.Started, "end", held_end)
    assert probe("probe = 1.0") == 1.0  # returned with the clean-up still held
    turnover = launch.Spare.pending
    assert turnover is not None and turnover.is_alive() and not ended
    gate.set()
    spare = launch.Spare.settle()
    ((first, dirs),) = ended
    assert dirs and first.proc.poll() is not None and not [d for d in dirs if d.exists()]
    assert spare is not None and spare.proc.poll() is None and spare.slot.uid != first.slot.uid
    assert probe("probe = 2.0") == 2.0
    launch.Spare.settle()
    assert [box for box, _ in ended] == [first, spare]  # the next student got it, then it ended


@bwrap_only
@pytest.mark.timeout(120)
def test_a_failed_turnover_reaches_the_next_student(warm, monkeypatch):
    """An error while the last sandbox is ended in the background is raised to the next
    grading call (that student is reported, not silently graded on a half-cleaned slot); the
    one after is graded."""
    end, failing = launch.Started.end, []

    def failing_end(self):
        end(self)
        if not failing:
            failing.append(self)
            raise RuntimeError("clean-up failed (test)")

    monkeypatch.setattr(launch.Started, "end", failing_end)
    assert probe("probe = 1.0") == 1.0
    with pytest.raises(RuntimeError, match="clean-up failed"):
        probe("probe = 2.0")
    assert probe("probe = 3.0") == 3.0


@pytest.mark.skipif(os.geteuid() != 0, reason="a private uid needs root")
@pytest.mark.timeout(60)
def test_a_killed_loader_is_collected_on_its_pidfd_without_sleeping(monkeypatch):
    """One reaping pass, then the loader's end wakes the wait: it is collected without a
    sleep (the same call without a pidfd sleeps between passes)."""
    with uids.UidSlot(host_temp=False) as slot:
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # a "loader" of the private uid that never ends by itself
            try:
                privileges.drop_privileges(slot.uid)
                os.write(ready_w, b"x")
                while True:
                    signal.pause()
            finally:
                os._exit(70)
        os.close(ready_w)
        assert os.read(ready_r, 1) == b"x"  # it runs as the uid now
        os.close(ready_r)
        pidfd = os.pidfd_open(pid)
        passes, reap = [], privileges.reap
        monkeypatch.setattr(privileges, "reap", lambda uid: (passes.append(uid), reap(uid)))
        monkeypatch.setattr(privileges.time, "sleep", lambda s: pytest.fail(f"slept {s} s"))
        try:
            privileges.reap_until_gone(slot.uid, pid, pidfd=pidfd)
        finally:
            os.close(pidfd)
        assert passes == [slot.uid]
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # already collected


@pytest.mark.timeout(120)
def test_the_batch_starts_without_importing_what_no_grade_needs():
    """The batch's process never loads rfc3987_syntax (jsonschema's IRI format checks, ~1 s
    of grammar compiling), and nbformat still reads and validates a notebook there."""
    code = (
        "import sys\n"
        "import neurograder.batch as b\n"
        "import nbformat\n"
        "from nbformat.v4 import new_notebook, new_code_cell\n"
        "nb = nbformat.reads(nbformat.writes(new_notebook(cells=[new_code_cell('x = 1')])), as_version=4)\n"
        "nbformat.validate(nb)\n"
        "print([sys.modules.get(m) for m in b.SKIPPED_IMPORTS], len(nb.cells))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO / "grader"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=100)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[None]", "1"]
