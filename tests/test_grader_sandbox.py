"""What can student code see and do inside the sandbox (neurograder.sandbox)?

Each test runs a real sandbox (bubblewrap here; the fallback where stated) on a tiny job
whose "student cell" probes its surroundings and reports numbers through a 'value' check,
the same channel the grader reads. Every test runs twice: with the sandbox started cold by
bubblewrap, and forked by the warm fork server the batch's workers use
(neurograder.zygote), which must keep every promise the cold one does.

(One file of ~460 lines: each test is a small probe of the same sandbox, and together they
are the list of what the README's Security section promises.)
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from neurograder import launch, sandbox

REPO = Path(__file__).resolve().parents[1]
LIMITS = sandbox.Limits(timeout=5, cpu=5)


@pytest.fixture(autouse=True, params=["cold", "warm"])
def start(request):
    """How each sandbox of the test starts: cold (bubblewrap starts a new interpreter) or
    warm (forked by a fork server, :class:`neurograder.launch.Servers`)."""
    launch.Servers.enabled = request.param == "warm"
    yield request.param
    launch.Servers.enabled = False
    launch.Servers.end_all()


def probe(code: str, mode=None, limits=LIMITS, name="probe", prewarm=(), assignment_dir=None):
    """Run ``code`` as a student's solution cell (``prewarm``: the job's list of heavy modules;
    ``assignment_dir``: the released folder bound in); return the value of ``name`` (or the
    check's status)."""
    job = {
        "setup": ["import numpy as np"],
        "prewarm": list(prewarm),
        "cells": [{"grade_id": "cell", "source": code}],
        "checks": [{"grade_id": "t", "name": name, "kind": "value", "after": 1, "cases": [[]]}],
    }
    res = sandbox.run_job(job, limits, assignment_dir=assignment_dir, mode=mode)
    assert res.error is None, res.error
    status = res.checks["t"]
    if status["status"] != "ok":
        return status
    return status["outputs"][0]["value"]


def test_bwrap_is_used_here():
    """bubblewrap works on this machine (as root), so the strong sandbox is the default."""
    assert sandbox.sandbox_mode() == "bwrap"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("start", ["cold"], indirect=True)  # (the path is the same for both starts)
def test_a_grader_started_through_a_dotted_interpreter_path_still_gets_bwrap(start, tmp_path):
    """A grader started as ``../.venv/bin/python`` (from ``grader/``): does it still build the
    bubblewrap sandbox (its interpreter path has ``..`` in it, which only the host can
    resolve), not fall back to the weaker one?"""
    import subprocess
    import sys

    exe = Path(sys.executable).absolute()
    # relative to a host folder the sandbox does not bind (as grader/ is): Python keeps such
    # a path as it was typed, joined to the working folder (an absolute one it normalises)
    dotted = os.path.relpath(exe, tmp_path)
    probe = "from neurograder import sandbox; print(sandbox.sandbox_mode(), sandbox.python_executable())"
    run = subprocess.run([dotted, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=50)
    assert run.returncode == 0, run.stderr[-2000:]
    mode, interpreter = run.stdout.split()
    assert (mode, interpreter) == ("bwrap", os.path.normpath(exe.absolute()))


def test_course_files_home_and_host_tmp_are_invisible(tmp_path):
    marker = Path("/tmp") / f"neurograder-host-marker-{os.getpid()}"
    marker.write_text("secret")
    try:
        code = f"""
import os
paths = [{str(REPO / "grader")!r}, {str(REPO / "solutions")!r}, '/root/.bashrc', {str(marker)!r},
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


CAPS = """
def caps(path):
    fields = dict(line.split(':\\t') for line in open(path).read().splitlines() if line.startswith('Cap'))
    return [float(int(fields[k], 16)) for k in ('CapPrm', 'CapEff', 'CapBnd')]
probe = caps('/proc/self/status') + caps('/proc/1/status')
"""


def test_student_code_holds_no_capability(start):
    """No capability for student code in either start; a forked sandbox also has only
    CAP_SETUID/CAP_SETGID in its bounding set and an init without any (the fork server's
    CAP_SYS_ADMIN never reaches a student's side), and really came from a fork server."""
    prm, eff, bnd, init_prm, init_eff, _ = probe(CAPS)
    assert prm == eff == 0
    if start == "warm":
        assert launch.Servers.running, "the sandbox was not forked by a fork server"
        assert bnd == (1 << 6) | (1 << 7)
        assert init_prm == init_eff == 0
    else:
        assert not launch.Servers.running


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
    job = {
        "setup": ["import numpy as np"],
        "cells": [
            {"grade_id": "a", "source": "import os\nA = [float(1)]\nK = [5.0]\nos._exit(3)\n"},
            {"grade_id": "b", "source": "B = [2.0, 3.0]\n"},
        ],
        "checks": [
            {"grade_id": "ta", "name": "A", "kind": "value", "after": 1, "cases": [[]]},
            {"grade_id": "tk", "name": "K", "kind": "value", "after": 1, "cases": [[]]},
            {"grade_id": "tb", "name": "B", "kind": "value", "after": 2, "cases": [[]]},
        ],
    }
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
LIST_LI = """def leaky_integrator(input_data, tau):
    v, out = 0.0, []
    for i in input_data:
        v = v + (i - v) / tau
        out.append(v)
    return out
"""
LIST_LIF = """def leaky_integrate_and_fire(input_data, tau, threshold):
    v, spikes, membrane = 0.0, [], []
    for i in input_data:
        v = v + (i - v) / tau
        z = 1.0 if v > threshold else 0.0
        v = (1 - z) * v
        spikes.append(z)
        membrane.append(v)
    return [spikes, membrane]
"""


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
    wanted = [
        "task1_leaky_integrator_visible",
        "task1_leaky_integrator_hidden",
        "task2_lif_visible",
        "task2_lif_hidden",
    ]
    assert {g: outcomes[g].passed for g in wanted} == {g: True for g in wanted}, {
        g: outcomes[g].message for g in wanted
    }
    assert outcomes["task3_cosine_signal"].passed is False  # still the stub


# ------------------------------------------------------------------------------ notebook order
def run_cells(cells, checks, limits=LIMITS):
    """Run student ``cells`` (sources, in order) with value/call ``checks`` placed by 'after'."""
    job = {
        "setup": ["import numpy as np"],
        "cells": [{"grade_id": f"c{k}", "source": src} for k, src in enumerate(cells)],
        "checks": [
            dict(c, grade_id=c.get("grade_id", f"t{k}"), cases=c.get("cases", [[]])) for k, c in enumerate(checks)
        ],
    }
    res = sandbox.run_job(job, limits)
    assert res.error is None, res.error
    return res


def test_a_test_sees_exactly_the_cells_above_it():
    """As in a kernel: classes, decorators, calls, star imports and loop globals of earlier
    cells exist for a check; a later cell's rebinding is not seen by an earlier check."""
    cells = [
        "import functools\nfrom math import *\nclass Acc:\n    def __init__(self):\n"
        "        self.v = 0.0\n    def step(self, x):\n        self.v += x\n        return self.v\n",
        "SCALE = float('2')\nfor k in range(3):\n    LAST = k\n"
        "@functools.lru_cache()\ndef f(n):\n    a = Acc()\n    return [a.step(SCALE) for _ in range(int(n))] + [LAST, floor(pi)]\n",
        "SCALE = 100.0\n",
    ]
    res = run_cells(
        cells,
        [
            {"name": "f", "kind": "call", "after": 2, "cases": [[2]]},
            {"name": "SCALE", "kind": "value", "after": 2},
            {"name": "SCALE", "kind": "value", "after": 3, "grade_id": "late"},
        ],
    )
    assert res.checks["t0"] == {"status": "ok", "outputs": [{"value": [2.0, 4.0, 2.0, 3.0]}]}
    assert res.checks["t1"]["outputs"] == [{"value": 2.0}]
    assert res.checks["late"]["outputs"] == [{"value": 100.0}]


def test_an_exception_skips_the_rest_of_its_cell_only():
    """nbgrader's allow_errors: the failing cell stops at its error, later cells still run."""
    res = run_cells(
        ["A = 1.0\nraise ValueError('boom')\nB = 2.0\n", "C = 3.0\n"],
        [
            {"name": "A", "kind": "value", "after": 2},
            {"name": "B", "kind": "value", "after": 2},
            {"name": "C", "kind": "value", "after": 2},
        ],
    )
    assert res.checks["t0"]["outputs"] == [{"value": 1.0}]
    assert res.checks["t1"]["status"] == "error" and "boom" in res.checks["t1"]["message"]
    assert res.checks["t2"]["outputs"] == [{"value": 3.0}]
    assert res.cells == {}  # nothing was cut: an exception is not a crash


def test_a_cell_that_kills_its_loader_again_is_left_out():
    """A cell whose definitions alone still kill the loader is dropped; later cells run."""
    killer = "import os\nclass K:\n    os._exit(2)\nX = 1.0\n"  # cut down: keeps X
    module = "import sys\nsys.path.insert(0, '.')\nopen('boom.py', 'w').write('import os\\nos._exit(3)\\n')\n"
    importer = "import boom\nZ = 2.0\n"  # its definitions alone (the import) still kill
    res = run_cells(
        [killer, module, importer, "Y = 5.0\n"],
        [
            {"name": "X", "kind": "value", "after": 4},
            {"name": "Z", "kind": "value", "after": 4},
            {"name": "Y", "kind": "value", "after": 4},
        ],
    )
    assert res.checks["t0"]["outputs"] == [{"value": 1.0}]  # kept by the cut-down cell
    assert res.checks["t1"]["status"] == "error" and "left out" in res.checks["t1"]["message"]
    assert res.checks["t2"]["outputs"] == [{"value": 5.0}]
    assert set(res.cells) == {"0", "2"} and "left out" in res.cells["2"]


def test_definitions_only_leaves_out_everything_that_runs_code():
    """Annotations, decorators, defaults, class bodies and calls run code when a cell runs;
    only plain defs, imports and constant assignments are kept."""
    import ast
    from neurograder.inside import cells

    src = (
        "import os\nfrom math import pi\nA = 1\nB, C = 2, 3\nD: int = 4\nE: os._exit(0) = 5\n"
        "F = os.getpid()\ndef g(x=1):\n    return x\ndef h(x=os._exit(0)):\n    pass\n"
        "def i(x: os._exit(0)):\n    pass\ndef j() -> os._exit(0):\n    pass\n"
        "@staticmethod\ndef k():\n    pass\nclass L:\n    pass\n"
    )
    kept = cells.definitions_only(ast.parse(src))
    names = [getattr(n, "name", None) or ast.unparse(n).split("=")[0].split(":")[0].strip() for n in kept]
    assert names == ["import os", "from math import pi", "A", "B, C", "D", "g"]


@pytest.mark.timeout(120)
def test_budget_bounds_a_sleeping_submission():
    """Sleeping in every cell, each under its own limit: the submission's budget ends it; the
    checks not reached are 'over budget' and the whole sandbox takes about the budget."""
    cells = ["import time\ntime.sleep(1.5)\nV%d = 1.0\n" % k for k in range(8)]
    limits = sandbox.Limits(timeout=2, cpu=5, budget=4)
    started = time.monotonic()
    res = run_cells(cells, [{"name": f"V{k}", "kind": "value", "after": k + 1} for k in range(8)], limits)
    took = time.monotonic() - started
    statuses = [res.checks[f"t{k}"]["status"] for k in range(8)]
    assert statuses[0] == "ok" and statuses[-1] == "over budget", statuses
    assert statuses == sorted(statuses, key=lambda s: s != "ok")  # ok ones first, then over
    assert took < 4 + 10, took


@pytest.mark.timeout(120)
def test_checks_that_overrun_their_timeout_do_not_spend_the_budget():
    """Does a function that never returns cost only the tests that call it? Four checks of an
    endless function each overrun their 1 s timeout (4 s in all, twice the 2 s budget); the
    value checked after them is still graded, and the whole sandbox stays within
    budget + checks x timeout."""
    cells = ["def f(x):\n    while True:\n        pass\n", "V = 2.5\n"]
    checks = [{"name": "f", "kind": "call", "after": 1, "cases": [[k]]} for k in range(4)]
    checks.append({"name": "V", "kind": "value", "after": 2, "grade_id": "v"})
    limits = sandbox.Limits(timeout=1, cpu=5, budget=2)
    started = time.monotonic()
    res = run_cells(cells, checks, limits)
    took = time.monotonic() - started
    assert [res.checks[f"t{k}"]["status"] for k in range(4)] == ["timeout"] * 4, res.checks
    assert res.checks["v"]["status"] == "ok", res.checks["v"]
    assert took < 2 + 5 * 1 + 30, took  # budget + checks x timeout, and the loaders' start-ups


def test_deep_results_are_refused_before_parsing():
    """A message nested deeper than the cap is refused by counting brackets (outside
    strings) before json runs; a legitimate 2-D result and brackets in strings pass."""
    from neurograder.inside import framing

    with pytest.raises(ValueError):
        framing.loads_bounded(b"[" * 100_000 + b"]" * 100_000)
    assert framing.loads_bounded(b'{"a": [[1, 2], [3, 4]], "s": "[[[[[[[[[[[[[[[[[["}') == {
        "a": [[1, 2], [3, 4]],
        "s": "[[[[[[[[[[[[[[[[[[",
    }
    code = "deep = []\nfor _ in range(100000):\n    deep = [deep]\nprobe = deep\n"
    status = probe(code)
    assert status["status"] == "error" and len(status["message"]) < 2000


def test_error_messages_are_cut_before_they_are_stored():
    """A 12 MB exception message comes back as a few hundred characters."""
    res = run_cells(
        ["def f(x):\n    raise ValueError('x' * (12 * 1024 * 1024))\n"],
        [{"name": "f", "kind": "call", "after": 1, "cases": [[1]]}],
    )
    out = res.checks["t0"]["outputs"][0]
    assert "ValueError" in out["error"] and len(out["error"]) < 1000


@pytest.mark.timeout(60)
def test_a_check_stops_at_its_first_erroring_case_as_the_plain_grader_does():
    """A function that raises on the first case and would sleep on every later one: does the
    check come back at once with one error (the plain grader's loop stops there too, and the
    verdict is the same), and does the feedback still count every case?"""
    from neurograder import grading

    res = run_cells(
        [
            "import time\ndef f(x):\n    if x == 0:\n        raise ValueError('no zeros')\n    time.sleep(3)\n    return x\n"
        ],
        [{"name": "f", "kind": "call", "after": 1, "cases": [[0], [1], [2], [3]]}],
    )
    outs = res.checks["t0"]["outputs"]
    assert len(outs) == 1 and "no zeros" in outs[0]["error"]
    assert res.timings["t0"] < 3.0  # (no later case ran)

    class _Check:
        name, kind, grade_id = "f", "call", "t0"

    passed, message = grading.judge_check(_Check(), res.checks["t0"], [[0], [1], [2], [3]], AssertionError, LIMITS)
    assert not passed and message.startswith("`f` raised an error on hidden test case 1 of 4:")


def test_result_larger_than_the_checks_cap_is_refused():
    """A check's result is accepted up to the size its cases imply (``max_bytes``)."""
    res = run_cells(
        ["def f(n):\n    return [0.5] * int(n)\n"],
        [
            {"name": "f", "kind": "call", "after": 1, "cases": [[10]], "max_bytes": 100000},
            {"name": "f", "kind": "call", "after": 1, "cases": [[200000]], "max_bytes": 100000},
        ],
    )
    assert res.checks["t0"]["outputs"] == [{"value": [0.5] * 10}]
    assert res.checks["t1"]["status"] == "toolarge"


# ------------------------------------------------------------------------------ the job format
def _documented_fields() -> dict[str, set[str]]:
    """{"job" | "cells" | "checks": field names} of the literal blocks in neurograder.inside's
    docstring (one ``name  description`` line per field)."""
    import re
    from neurograder import inside

    doc = inside.__doc__
    blocks = {
        "job": doc.split("Job (JSON on stdin)")[1].split("Each of ``cells``")[0],
        "cells": doc.split("Each of ``cells``")[1].split("Each of ``checks``")[0],
        "checks": doc.split("Each of ``checks``")[1].split("Result (JSON")[0],
    }
    return {k: set(re.findall(r"^    (\w+) {2,}\S", text, re.M)) for k, text in blocks.items()}


def _fields_read_by_the_runner() -> dict[str, set[str]]:
    """{"job" | "cells" | "checks": keys} that the runner's code reads (``x["key"]`` and
    ``x.get("key")`` on the job, a cell or a check), found in its sources."""
    import ast
    from neurograder import inside

    groups = {"job": {"job", "self.job"}, "checks": {"check", "test"}, "cells": {"cell"}}
    read = {k: set() for k in groups}

    def group(receiver: str):
        if receiver.startswith(("job['cells'][", "self.job['cells'][")):
            return "cells"
        if receiver.startswith("self.by_id["):
            return "checks"
        return next((k for k, names in groups.items() if receiver in names), None)

    for path in inside.files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                receiver, key = node.value, node.slice.value
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                receiver, key = node.func.value, node.args[0].value
            else:
                continue
            where = group(ast.unparse(receiver))
            if where and isinstance(key, str):
                read[where].add(key)
    return read


def test_job_format_is_documented_field_by_field():
    """Does the runner's docstring list exactly the fields the grader sends (the job of a
    real submission, its tests graded again with references, the sandbox's own fields), and
    every field the runner reads?"""
    from course.manifest import module
    from neurograder import grading, independent

    checks = module("module1").checks()
    spec = grading.load_spec(REPO / "grader" / "source" / "module1" / "neurons.ipynb")
    job, _ = grading.build_job(spec.nb, spec, checks)
    sent = sandbox.full_job(job, LIMITS, uid=1, result_fd=3, assignment_dir="/a", mode="bwrap")
    failing = {gid: grading.Outcome(gid, gid, 1.0, False, "") for gid in spec.tests}
    again = [r.test for r in independent.retries(job["checks"], failing, checks, spec)]
    assert again and all(t["references"] for t in again)
    documented = _documented_fields()
    assert set(sent) == documented["job"]
    assert {k for cell in sent["cells"] for k in cell} == documented["cells"]
    assert {k for test in sent["checks"] + again for k in test} == documented["checks"]
    read = _fields_read_by_the_runner()
    for part in documented:
        assert read[part] and read[part] <= documented[part], (part, read[part] - documented[part])
