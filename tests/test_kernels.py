"""Can a test run a notebook in a real kernel while the session's browser is open, and is a
stuck notebook stopped instead of hanging the suite? (helper: ``tests/kernels.py``)"""

from __future__ import annotations

import time
from datetime import datetime

import nbformat
import pytest

import kernels
from kernels import NotebookTimeout, execute


def _notebook(*sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


@pytest.mark.timeout(120)
def test_notebook_runs_while_browser_marks_its_loop_running(page):
    """Playwright marks its loop as running in this thread between calls; execute() still
    gets every output of a widget-using notebook."""
    import asyncio

    rec = page()
    rec.page.goto("about:blank")
    asyncio.get_running_loop()  # the condition under test: raises if no loop is marked
    nb = execute(
        _notebook("import ipywidgets as w; s = w.IntSlider(3); s.value = 7", "print(s.value * 6)"),
        timeout=60,
        kernel_name="python3",
    )
    assert nb.cells[1].outputs[0]["text"].strip() == "42"
    rec.page.goto("about:blank")  # the browser still answers afterwards


@pytest.mark.timeout(120)
def test_stuck_notebook_is_stopped_by_the_overall_limit():
    """A cell that never finishes within the overall limit raises NotebookTimeout in about
    that time (not nbclient's per-cell limit, not never)."""
    start = time.monotonic()
    with pytest.raises(NotebookTimeout) as caught:
        execute(_notebook("import time; time.sleep(300)"), timeout=250, overall=8, kernel_name="python3")
    assert time.monotonic() - start < 30
    pid = caught.value.kernel_pid
    assert pid, "the kernel had started: its pid must be reported"
    assert _gone_or_zombie(pid), "the overrun kernel was left running"


def _gone_or_zombie(pid: int, within: float = 5.0) -> bool:
    """True once the process has exited (gone, or a zombie awaiting its parent)."""
    deadline = time.monotonic() + within
    while True:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)  # polling a state change the kernel gives no event for


#: cells that each show a matplotlib figure through an ``interactive`` widget: after such
#: cells pyzmq's asyncio poll missed the reply's wake-up in about every other run of 20
PLOT_CELLS = 40


def _kernel_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@pytest.mark.timeout(300)
def test_replies_are_picked_up_without_waiting_out_the_cell_limit():
    """Does the test see each cell's reply as soon as the kernel sends it, or does it wait
    out nbclient's per-cell limit before running the next cell? The gap between the kernel's
    reply to a cell and its start of the next one (both kernel timestamps) is the client's
    latency alone."""
    limit = 30
    setup = "import numpy as np, matplotlib.pyplot as plt, ipywidgets as w\nfrom IPython.display import display"
    plots = [
        f"def show(tau):\n    plt.imshow(np.random.default_rng({i}).random((40, 120)) * tau); plt.show()\n"
        "display(w.interactive(show, tau=w.IntSlider(3)))"
        for i in range(PLOT_CELLS)
    ]
    nb = execute(_notebook(setup, *plots), timeout=limit, overall=240, kernel_name="python3")
    timing = [c.metadata["execution"] for c in nb.cells]
    gaps = [
        (_kernel_time(b["iopub.status.busy"]) - _kernel_time(a["shell.execute_reply"])).total_seconds()
        for a, b in zip(timing, timing[1:])
    ]
    assert max(gaps) < limit / 3, f"a reply waited {max(gaps):.1f} s (cell limit {limit} s) to be picked up"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", ["oracle class", "whole process"])
def test_nbgraders_execute_waits_on_its_kernel_in_slices(how, monkeypatch):
    """Does nbgrader's Execute preprocessor, run as nbgrader runs it (nbconvert's blocking
    ``preprocess``), wait on its kernel in slices, both as the plain-nbgrader oracle runs set
    it up (``PLAIN_WAITS_CFG``: a subclass) and as the plain chapter course does
    (``SLICED_WAITS_ONLY_CFG``: nbgrader's own class patched, for ``validate`` too)?"""
    from nbgrader.preprocessors import Execute

    waits = []
    plain_in_slices = kernels.in_slices

    def counted(get_msg, slice_s=kernels.POLL_SLICE):
        sliced = plain_in_slices(get_msg, slice_s)

        async def get_msg_counted(timeout=None):
            waits.append(timeout)
            return await sliced(timeout)

        return get_msg_counted

    monkeypatch.setattr(kernels, "in_slices", counted)
    if how == "oracle class":
        executor = kernels.sliced_execute()
    else:  # (the class patch is undone after the test)
        for name in ("async_start_new_kernel_client", "start_new_kernel_client"):
            monkeypatch.setattr(Execute, name, getattr(Execute, name))
        monkeypatch.setattr(Execute, "_sliced", False, raising=False)
        kernels.slice_every_execute()
        executor = Execute
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 6 * 7"), nbformat.v4.new_code_cell("print(x)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executor(kernel_name="python3", timeout=60).preprocess(nb, {})
    assert nb.cells[1].outputs[0]["text"] == "42\n"
    assert len(waits) >= 4, f"the kernel's replies were awaited in slices {len(waits)} times"
