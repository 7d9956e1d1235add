"""Does starting each sandbox ahead of its job (neurograder.sandbox.keep_warm, as the batch's
workers do) keep every promise of a sandbox per student?

Each test runs real sandboxes (bubblewrap here) with the spare on: the student after another
must find nothing the one before left (files in /tmp and /dev/shm, keyring notes, module
globals of the NumPy both imported, the uid), the waiting sandbox must end with its process,
cgroup and uid when it is not needed, and a spare that died or was made for another
assignment must never be handed a job.
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
from test_grader_sandbox import probe  # noqa: E402

from neurograder import bounds, sandbox  # noqa: E402

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
    init = sandbox.Started.__init__

    def recording_init(self, *args):
        init(self, *args)
        started.append((time.monotonic(), self))

    monkeypatch.setattr(sandbox.Started, "__init__", recording_init)
    sandbox.keep_warm()
    yield started
    sandbox.keep_warm(False)


def _run(code: str) -> tuple[list, float]:
    """``code``'s ``probe`` and the time its job was handed over."""
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


def test_a_waiting_sandbox_ends_with_its_cgroup_when_no_longer_kept(warm):
    """keep_warm(False) ends the started sandbox: its process is gone and its cgroup removed."""
    probe("probe = 1.0")
    spare = sandbox.Spare.started
    assert spare is not None and spare.proc.poll() is None
    dirs = list(spare.box.cgroup.dirs)
    assert dirs and all(d.exists() for d in dirs)
    sandbox.keep_warm(False)
    assert spare.proc.poll() is not None
    assert [d for d in dirs if d.exists()] == []


def test_a_spare_that_died_is_not_handed_a_job(warm):
    """A waiting sandbox killed from outside is replaced: the student is still graded."""
    probe("probe = 1.0")
    spare = sandbox.Spare.started
    os.killpg(spare.proc.pid, 9)
    spare.proc.wait(timeout=30)
    assert probe("probe = 2.0") == 2.0
    assert any(s is not spare for _, s in warm[2:])


def test_a_spare_for_another_assignment_is_ended_not_used(warm, tmp_path):
    """A sandbox started with one released folder bound in never grades another assignment."""
    probe("probe = 1.0")
    spare = sandbox.Spare.started
    other = tmp_path / "other"
    other.mkdir()
    (other / "data.txt").write_text("42.5")
    job = {
        "setup": [],
        "cells": [{"grade_id": "cell", "source": "probe = float(open('/assignment/data.txt').read())"}],
        "checks": [{"grade_id": "t", "name": "probe", "kind": "value", "after": 1, "cases": [[]]}],
    }
    res = sandbox.run_job(job, sandbox.Limits(timeout=5, cpu=5), assignment_dir=str(other))
    assert res.checks["t"].get("outputs", [{}])[0].get("value") == 42.5, res.checks
    assert spare.proc.poll() is not None  # ended, not used


def _grade_in_worker() -> tuple[int, list[str]]:
    """(In a pool worker) one job with the spare on; the waiting sandbox's pid and cgroup."""
    sandbox.keep_warm()
    probe("probe = 1.0")
    spare = sandbox.Spare.started
    return spare.proc.pid, [str(d) for d in spare.box.cgroup.dirs]


def test_a_worker_that_exits_ends_its_waiting_sandbox():
    """The batch's workers are multiprocessing processes (no atexit): the sandbox one started
    for a next student ends with it, cgroup included."""
    with ProcessPoolExecutor(max_workers=1) as pool:
        pid, dirs = pool.submit(_grade_in_worker).result(timeout=90)
    assert dirs
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (bounds._alive(pid) or any(Path(d).exists() for d in dirs)):
        time.sleep(0.05)  # polled with a bound: the worker's exit runs the clean-up
    assert not bounds._alive(pid)
    assert [d for d in dirs if Path(d).exists()] == []
