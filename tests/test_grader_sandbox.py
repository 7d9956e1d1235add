"""What can student code see and do inside the sandbox (neurograder.sandbox)?

Each test runs a real sandbox (bubblewrap here; the fallback where stated) on a tiny job
whose "student cell" probes its surroundings and reports numbers through a 'value' check,
the same channel the grader reads.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from neurograder import sandbox

REPO = Path(__file__).resolve().parents[1]
LIMITS = sandbox.Limits(timeout=5, cpu=5)


def probe(code: str, mode=None, limits=LIMITS, name="probe"):
    """Run ``code`` as a student's solution cell; return the value of ``name`` (or status)."""
    job = {"setup": ["import numpy as np"], "cells": [{"grade_id": "cell", "source": code}],
           "checks": [{"grade_id": "t", "name": name, "kind": "value", "target": 0, "cases": [[]]}]}
    res = sandbox.run_job(job, limits, mode=mode)
    assert res.error is None, res.error
    status = res.checks["t"]
    if status["status"] != "ok":
        return status
    return status["outputs"][0]["value"]


def test_bwrap_is_used_here():
    """bubblewrap works on this machine (as root), so the strong sandbox is the default."""
    assert sandbox.sandbox_mode() == "bwrap"


def test_course_files_home_and_host_tmp_are_invisible(tmp_path):
    marker = Path("/tmp") / f"neurograder-host-marker-{os.getpid()}"
    marker.write_text("secret")
    try:
        code = f"""
import os
paths = [{str(REPO / 'grader')!r}, {str(REPO / 'solutions')!r}, '/root/.bashrc', {str(marker)!r},
         {str(tmp_path)!r}, '/work/main/grader/gradebook.db']
probe = [float(os.path.exists(p)) for p in paths] + [float(len(os.listdir('/tmp')) <= 3)]
"""
        assert probe(code) == [0.0] * 6 + [1.0]
    finally:
        marker.unlink()


def test_no_secrets_in_environment_or_proc(monkeypatch):
    monkeypatch.setenv("NEUROGRADER_TEST_SECRET", "hunter2")
    code = """
import os
found = 'NEUROGRADER_TEST_SECRET' in os.environ
for pid in os.listdir('/proc'):
    if pid.isdigit():
        try:
            found = found or b'hunter2' in open(f'/proc/{pid}/environ', 'rb').read()
        except OSError:
            pass
pids = [p for p in os.listdir('/proc') if p.isdigit()]
probe = [float(found), float(len(pids) <= 4), float(os.getuid() != 0), float(os.geteuid() != 0)]
"""
    assert probe(code) == [0.0, 1.0, 1.0, 1.0]


def test_no_network_even_to_localhost():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    code = f"""
import socket
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()
    probe = 1.0
except OSError:
    probe = 0.0
"""
    try:
        assert probe(code) == 0.0
        time.sleep(0.2)
        assert accepted == []
    finally:
        server.close()


def test_cannot_signal_the_grader_or_write_the_system():
    code = """
import os, signal
hits = []
for target in (os.getppid(), 1):
    try:
        os.kill(target, signal.SIGKILL)
        hits.append(1.0)
    except OSError:
        hits.append(0.0)
try:
    open('/usr/lib/evil', 'w')
    hits.append(1.0)
except OSError:
    hits.append(0.0)
probe = hits
"""
    assert probe(code) == [0.0, 0.0, 0.0]


def test_memory_processes_and_file_size_are_limited():
    code = """
import os
try:
    big = bytearray(3 * 1024 ** 3)
    mem = 1.0
except MemoryError:
    mem = 0.0
kids = 0
for _ in range(200):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        import time
        time.sleep(30)
        os._exit(0)
    kids += 1
try:
    with open('big.bin', 'wb') as fh:
        fh.write(b'x' * (64 * 1024 * 1024))
    fsize = 1.0
except OSError:
    fsize = 0.0
probe = [mem, float(kids < 64), fsize]
"""
    assert probe(code) == [0.0, 1.0, 0.0]


def test_timeout_kills_everything_the_check_started():
    """An endless loop that ignores interrupts, plus a detached sleeper: both are gone when
    run_job returns; the cell is cut down to its definitions (``probe`` is never assigned),
    and the check says why."""
    code = """
import subprocess, sys
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)  # MARK'],
                 start_new_session=True)
def spin():
    while True:
        try:
            pass
        except KeyboardInterrupt:
            pass
probe = spin()
"""
    mark = f"sleeper-{os.getpid()}-{time.time()}"
    started = time.monotonic()
    status = probe(code.replace("MARK", mark), limits=sandbox.Limits(timeout=2, cpu=5))
    assert status["status"] == "error"
    assert "did not finish within 2 s" in status["message"], status
    assert time.monotonic() - started < 15
    assert _pids_with(mark) == []


def _pids_with(mark):
    pids = []
    for p in Path("/proc").iterdir():
        try:
            if p.name.isdigit() and mark.encode() in (p / "cmdline").read_bytes():
                pids.append(int(p.name))
        except OSError:
            pass
    return pids


def test_detached_sleeper_is_really_started():
    """(The probe above is meaningful: the same code without the loop does start it; the
    sandbox ends it when the check ends.)"""
    mark = f"sleeper-started-{os.getpid()}-{time.time()}"
    code = f"""
import subprocess, sys, time, os
p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)  # {mark}'],
                     start_new_session=True)
time.sleep(0.5)
probe = [float(p.poll() is None)]
"""
    assert probe(code) == [1.0]
    assert _pids_with(mark) == []


def test_checks_run_in_separate_processes():
    """os._exit in one cell costs only what needs that cell: its value computed by a call is
    lost (the cell is cut down to its definitions), its constant and the next cell are kept."""
    job = {"setup": ["import numpy as np"],
           "cells": [{"grade_id": "a",
                      "source": "import os\nA = [float(1)]\nK = [5.0]\nos._exit(3)\n"},
                     {"grade_id": "b", "source": "B = [2.0, 3.0]\n"}],
           "checks": [{"grade_id": "ta", "name": "A", "kind": "value", "after": 1, "cases": [[]]},
                      {"grade_id": "tk", "name": "K", "kind": "value", "after": 1, "cases": [[]]},
                      {"grade_id": "tb", "name": "B", "kind": "value", "after": 2, "cases": [[]]}]}
    res = sandbox.run_job(job, LIMITS)
    assert res.checks["ta"]["status"] == "error"
    assert "only its imports and definitions were kept" in res.checks["ta"]["message"]
    assert res.checks["tk"] == {"status": "ok", "outputs": [{"value": [5.0]}]}
    assert res.checks["tb"] == {"status": "ok", "outputs": [{"value": [2.0, 3.0]}]}
    assert "0" in res.cells


def test_stdout_flood_does_not_reach_the_result_channel():
    code = "import sys\nfor _ in range(50):\n    sys.stdout.write('{\"checks\": {}}' * 100000)\nprobe = [4.0]\n"
    assert probe(code) == [4.0]


def test_fallback_still_drops_privileges_and_limits(monkeypatch):
    """Without bubblewrap: new session, private uid, rlimits (no mount/network isolation)."""
    code = """
import os
try:
    bytearray(3 * 1024 ** 3)
    mem = 1.0
except MemoryError:
    mem = 0.0
probe = [float(os.getuid() != 0), mem]
"""
    assert probe(code, mode="fallback") == [1.0, 0.0]
    problems = sandbox.fallback_problems(REPO / "grader")
    assert any("network" in p for p in problems)


# ------------------------------------------------------------------------------ grading layer
LIST_LI = '''def leaky_integrator(input_data, tau):
    v, out = 0.0, []
    for i in input_data:
        v = v + (i - v) / tau
        out.append(v)
    return out
'''
LIST_LIF = '''def leaky_integrate_and_fire(input_data, tau, threshold):
    v, spikes, membrane = 0.0, [], []
    for i in input_data:
        v = v + (i - v) / tau
        z = 1.0 if v > threshold else 0.0
        v = (1 - z) * v
        spikes.append(z)
        membrane.append(v)
    return [spikes, membrane]
'''


def test_list_returning_answers_pass_self_checks_and_hidden_checks():
    """Plain Python lists (not arrays, a list instead of a tuple) are valid answers: the
    visible self-checks and the hidden checks of the real notebook both pass them."""
    import nbformat
    from neurograder import grading
    src = REPO / "grader" / "source" / "module1" / "neurons.ipynb"
    if not src.exists():
        pytest.skip("grader/source not built (make notebooks)")
    spec = grading.load_spec(src)
    nb = nbformat.read(str(REPO / "grader" / "release" / "module1" / "neurons.ipynb"), as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "task1_leaky_integrator_solution":
            cell.source = LIST_LI
        elif gid == "task2_lif_solution":
            cell.source = LIST_LIF
    outcomes, info = grading.grade_notebook(nb, spec, limits=LIMITS)
    assert info["error"] is None
    wanted = ["task1_leaky_integrator_visible", "task1_leaky_integrator_hidden",
              "task2_lif_visible", "task2_lif_hidden"]
    assert {g: outcomes[g].passed for g in wanted} == {g: True for g in wanted}, \
        {g: outcomes[g].message for g in wanted}
    assert outcomes["task3_cosine_signal"].passed is False     # still the stub
