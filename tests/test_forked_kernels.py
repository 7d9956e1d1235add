"""Does a kernel forked from the warm zygote (tests/forked_kernels.py, used by the oracle's
runs over the correct corpus) behave as a kernel started the usual way: same outputs, the
notebook's folder as working folder and import path, interrupts reaching it, nothing left
running when jupyter_client kills it?"""

from __future__ import annotations

import time

import nbformat
import pytest
from neurograder import bounds  # (a process's liveness, as the grader reads it)

from forked_kernels import kernel_manager_class
from kernels import execute, run_in_own_loop

#: cells whose outputs must be the same in a forked and in a usual kernel
CELLS = (
    "import os, sys\nprint(os.getcwd() == os.path.realpath('.'), os.path.basename(os.getcwd()))",
    "from helper_here import VALUE\nprint(VALUE)",  # a module of the notebook's own folder
    "import numpy as np\nprint(np.arange(5).sum(), np.float64(1) / 3)",
    "print(os.environ.get('ORACLE_MARK'))",
    "1 / 0",
)


def _notebook(*sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def _outputs(nb) -> list:
    return [[o.get("text") or o.get("ename") for o in cell.outputs] for cell in nb.cells]


@pytest.mark.timeout(180)
def test_a_forked_kernel_gives_the_outputs_of_a_usual_one(tmp_path, monkeypatch):
    """Same outputs (working folder, a module beside the notebook, NumPy, the environment
    jupyter_client passes, an error) from a forked kernel as from ``ipykernel_launcher``."""
    (tmp_path / "helper_here.py").write_text("VALUE = 'beside the notebook'\n")
    monkeypatch.setenv("ORACLE_MARK", "passed on")
    run = {"resources": {"metadata": {"path": str(tmp_path)}}, "allow_errors": True, "timeout": 60}
    usual = _outputs(execute(_notebook(*CELLS), **run))
    forked = _outputs(execute(_notebook(*CELLS), kernel_manager_class=kernel_manager_class(), **run))
    assert forked == usual
    assert usual[1] == ["beside the notebook\n"] and usual[3] == ["passed on\n"]


@pytest.mark.timeout(180)
def test_an_interrupt_reaches_a_forked_kernel(tmp_path):
    """Does nbclient's interrupt on a cell's timeout stop the forked kernel's cell (and the
    next cell still run)?"""
    nb = execute(
        _notebook("import time\ntime.sleep(60)", "print('after')"),
        timeout=3,
        interrupt_on_timeout=True,
        allow_errors=True,
        kernel_manager_class=kernel_manager_class(),
        resources={"metadata": {"path": str(tmp_path)}},
    )
    assert [o.get("ename") for o in nb.cells[0].outputs] == ["KeyboardInterrupt"]
    assert nb.cells[1].outputs[0]["text"] == "after\n"


@pytest.mark.timeout(120)
def test_a_killed_stand_in_takes_its_kernel_with_it(tmp_path):
    """When jupyter_client kills the kernel (its stand-in, SIGKILL), is the forked kernel
    killed too, not left running?"""

    async def kernel_pid_then_kill() -> int:
        km = kernel_manager_class()(kernel_name="python3")
        await km.start_kernel(cwd=str(tmp_path))
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=30)
            (tmp_path / "pid").unlink(missing_ok=True)
            reply = await kc.execute_interactive("import os; open('pid', 'w').write(str(os.getpid()))", timeout=30)
            assert reply["content"]["status"] == "ok"
            pid = int((tmp_path / "pid").read_text())
            assert pid != km.provisioner.pid and bounds._alive(pid)
            await km.shutdown_kernel(now=True)  # (now: jupyter_client SIGKILLs the stand-in's process group)
            return pid
        finally:
            kc.stop_channels()

    kernel_pid = run_in_own_loop(kernel_pid_then_kill, 90)
    deadline = time.monotonic() + 10
    while bounds._alive(kernel_pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling a process's end: no event for a non-child
    assert not bounds._alive(kernel_pid), "the forked kernel outlived its stand-in"
