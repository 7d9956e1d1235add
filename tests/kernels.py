"""Run a notebook in a real kernel (nbclient) from a test, safely next to browser tests.

Playwright's sync API marks its own asyncio loop as *running* in the main thread between
calls (``playwright/_impl/_greenlets.py``: ``asyncio._set_running_loop(loop)``) while the
session-wide browser fixture is open. nbclient (``jupyter_core.utils.run_sync``), seeing a
running loop, then hands its coroutine to one helper thread shared by every later call in
the process; in a full test run after the browser tests this intermittently left a notebook
waiting forever on an idle kernel (the same test alone always passed). :func:`execute` runs nbclient in a thread of its own with
a fresh loop (``asyncio.run``), so no other library's loop is involved, and bounds the whole
run by a wall clock.

The kernel client's channels wait for a message in slices of at most :data:`POLL_SLICE`
(:func:`in_slices`): pyzmq's asyncio poll sometimes misses the wake-up of a message that has
arrived (zmq sockets signal through an edge-triggered descriptor; seen after cells that show
matplotlib figures, in about every other run of a notebook with 20 such cells) and then sleeps until its timeout, when a last
non-blocking poll finds the message. With nbclient's per-cell limit as that timeout, one lost
wake-up would cost the whole limit before the notebook goes on; a slice bounds it.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import threading
import time
from pathlib import Path
from queue import Empty

from jupyter_core.utils import run_sync
from nbclient import NotebookClient

#: longest single wait (s) on a kernel channel: a message whose wake-up was lost is picked up
#: by the non-blocking poll that ends each slice
POLL_SLICE = 0.25


def in_slices(get_msg, slice_s: float = POLL_SLICE):
    """A channel's async ``get_msg(timeout)`` that waits in slices of at most ``slice_s``
    seconds until a message comes or ``timeout`` (None: forever) has passed (then ``Empty``)."""

    async def get_msg_in_slices(timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = slice_s if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await get_msg(timeout=min(slice_s, left))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get_msg_in_slices


def _sliced_channels(kc):
    """``kc`` (a started kernel client) with its shell and IOPub waits in slices."""
    for channel in (kc.shell_channel, kc.iopub_channel):
        channel.get_msg = in_slices(channel.get_msg)
    return kc


def _sliced_start(base_start):
    """A client's kernel-client start (the coroutine function and its blocking form, as a
    pair) that slices the waits of what ``base_start`` started. Both are needed: nbclient's
    blocking ``start_new_kernel_client``, which nbconvert's ExecutePreprocessor (and so
    nbgrader's Execute) calls, wraps nbclient's own coroutine function when the class is made,
    so a subclass that overrides only the coroutine is never used on that path."""

    async def async_start_new_kernel_client(self):
        return _sliced_channels(await base_start(self))

    return async_start_new_kernel_client, run_sync(async_start_new_kernel_client)


class SlicedWaitClient(NotebookClient):
    """nbclient's client whose shell and IOPub waits go in slices (:func:`in_slices`)."""

    async_start_new_kernel_client, start_new_kernel_client = _sliced_start(NotebookClient.async_start_new_kernel_client)


#: a script that runs a notebook in place with :class:`SlicedWaitClient`, for a test that runs
#: it in another interpreter or another network namespace:
#: ``python run.py NOTEBOOK WORKING_FOLDER allow-errors|stop TESTS_FOLDER`` (the notebook is
#: written back, with its outputs, even when a cell fails)
RUN_NOTEBOOK_SCRIPT = r"""
import sys, nbformat
sys.path.insert(0, sys.argv[4])  # tests/, for kernels.py
from kernels import SlicedWaitClient  # nbclient's client, without lost-wake-up stalls
nb = nbformat.read(sys.argv[1], as_version=4)
allow = sys.argv[3] == "allow-errors"
client = SlicedWaitClient(nb, timeout=300, allow_errors=allow, kernel_name="python3",
                          resources={"metadata": {"path": sys.argv[2]}})
try:
    client.execute()
finally:
    nbformat.write(nb, sys.argv[1])
"""


def sliced_execute():
    """nbgrader's own Execute preprocessor with the same sliced channel waits, for the
    plain-nbgrader oracle runs (:data:`PLAIN_WAITS_CFG`): what it runs and how it grades are
    nbgrader's; only a lost wake-up no longer costs a whole cell limit."""
    from nbgrader.preprocessors import Execute

    class SlicedExecute(Execute):
        async_start_new_kernel_client, start_new_kernel_client = _sliced_start(Execute.async_start_new_kernel_client)

    return SlicedExecute


def slice_every_execute() -> None:
    """nbgrader's Execute preprocessor itself (and so every command of the process that runs a
    notebook: ``validate`` too, whose preprocessor list no configuration reaches) waits on
    its kernel in slices (:func:`in_slices`)."""
    from nbgrader.preprocessors import Execute

    if not getattr(Execute, "_sliced", False):
        pair = _sliced_start(Execute.async_start_new_kernel_client)
        Execute.async_start_new_kernel_client, Execute.start_new_kernel_client = pair
        Execute._sliced = True


#: the whole nbgrader_config.py of a course whose commands are otherwise plain nbgrader's
#: (tests/test_chapter_grading.py: ``validate`` as a student runs it, a plain autograde):
#: what runs and how it is judged are nbgrader's; a lost wake-up costs a slice, not nbgrader's
#: 30 s cell limit (seen in ``nbgrader validate`` of the instructor notebook: 34 s against 5 s)
SLICED_WAITS_ONLY_CFG = f"""
import sys as _sys
_sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from kernels import slice_every_execute as _slice_every_execute
_slice_every_execute()
"""


#: added to the environment of every plain-nbgrader oracle run (the real ``nbgrader
#: autograde``; its kernel and what the kernel starts inherit it). ``NEUROGRADER_PLAIN=1``
#: selects nbgrader's own chain in the course config (and marks the run's processes:
#: test_grader_attacks._pids_with). ``MPLBACKEND=agg`` is the one difference from an
#: instructor's plain run: the kernel draws with matplotlib's non-interactive Agg backend
#: instead of ipykernel's inline one, so ``plt.show()`` renders no PNG (the chapter's
#: plotting cells: a third of an oracle run's CPU time). The plotting code itself runs
#: the same (a student's function that raises still raises); only the picture is not made
#: (no image output) and figures stay open until the kernel ends. No grade can depend on
#: that: nbgrader scores a test cell by whether its outputs hold an error
#: (``nbgrader.utils.determine_grade``), and no autograded test cell draws (the checks of
#: book/module1/checks.py compute numbers). Checked once on the correct corpus (20 students) and the attack corpus' plain
#: batch (16): every gradebook row equal with and without.
ORACLE_ENV = {"NEUROGRADER_PLAIN": "1", "MPLBACKEND": "agg"}

#: appended to a course's nbgrader_config.py for a plain-nbgrader oracle run
#: (:data:`ORACLE_ENV`): nbgrader's chain with :func:`sliced_execute` for its Execute
PLAIN_WAITS_CFG = f"""
import sys as _sys
_sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from kernels import sliced_execute as _sliced_execute
c.Autograde.autograde_preprocessors = [
    _sliced_execute() if p.__name__ == "Execute" else p for p in c.Autograde.autograde_preprocessors
]
"""


def _kill_kernel(client) -> int | None:
    """SIGKILL the kernel process of a run that overran (its thread is left to die with it,
    and nbclient's exit-time cleanup of that kernel is cancelled); return its pid."""
    atexit.unregister(client._cleanup_kernel)
    provisioner = getattr(getattr(client, "km", None), "provisioner", None)
    pid = getattr(provisioner, "pid", None)
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pid


class NotebookTimeout(TimeoutError):
    """The notebook did not finish within the overall limit (``kernel_pid``: the killed
    kernel's process id, if one had started)."""

    kernel_pid: int | None = None


class StillRunning(Exception):
    """:func:`run_in_own_loop`'s coroutine had not finished within its limit."""


def run_in_own_loop(make_coroutine, limit: float, name: str = "own-loop"):
    """``asyncio.run(make_coroutine())`` in a thread of its own (never on a loop another
    library marks running in this thread): its value, or its error re-raised here;
    :class:`StillRunning` after ``limit`` seconds (the thread is left to end by itself)."""
    box: dict = {}

    def run():
        try:
            box["value"] = asyncio.run(make_coroutine())
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = err

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        raise StillRunning(f"not finished within {limit:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def execute(nb, *, timeout: float = 120, overall: float | None = None, **client_options):
    """Execute ``nb`` in place (cells get their outputs) and return it.

    ``timeout`` is nbclient's per-cell limit; ``overall`` (default: 4 x ``timeout`` + 60 s)
    bounds the whole run including kernel start and shutdown. Errors raised by nbclient
    (e.g. ``CellExecutionError`` when ``allow_errors`` is false) are re-raised here.
    """
    client = SlicedWaitClient(nb, timeout=timeout, **client_options)
    limit = overall if overall is not None else 4 * timeout + 60
    try:
        return run_in_own_loop(client.async_execute, limit, name="nbclient-execute")
    except StillRunning:
        err = NotebookTimeout(f"notebook did not finish within {limit:g} s")
        err.kernel_pid = _kill_kernel(client)
        raise err from None
