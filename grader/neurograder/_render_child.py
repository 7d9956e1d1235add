"""(Over 300 lines: shipped into the sandbox as one module of source text, it stays one file.)

Sandbox-side entry of the grader's render pass: re-run a notebook's cells and capture
what they show, the way Jupyter's inline backend shows it.

Shipped into the sandbox as source text in the job (:mod:`neurograder.sandbox`), where the
sandbox's boot script installs it as ``neurograder.render_inside`` next to the sandbox runtime
(:mod:`neurograder.inside`: framing, privilege drop, limits, reaping) and calls
:func:`main`; it imports nothing of the project from disk. The widget driver
(``job["widgets"]``, the text of ``widgets.py``) comes in the job as source text too.

Job (JSON on stdin): the sandbox fields (``uid``, ``result_fd``, ``timeout``, ``cpu``,
``mem_mb``, ``nproc``, ``fsize_mb``, ``max_result_mb``, ``budget``, ``assignment_dir``), and
``cells``: ``[{"source", "capture": bool, "widget": bool}]`` in notebook order,
``positions``: where in the tau control's range to drive a widget, ``widgets``. Result (JSON on ``result_fd``): ``{"checks": {}, "cells": {index: {"outputs":
[nbformat outputs], "error": text | null}}, "widget": {"frames": [{"tau", "pngs"}],
"problem"} | null, "timings": {...}}``; the grader validates every part of it.

Layout: this supervisor (keeps CAP_SETUID, runs no student code) forks a worker that drops
to the sandbox's private uid, enters the limits and runs the cells in an IPython shell. The
worker announces each cell (and each widget drive) on an event pipe; the supervisor gives
each one ``timeout`` seconds and the whole render ``budget`` seconds. A cell that overruns or
ends the worker is reported, and a fresh worker replays the cells before it (without
reporting them again) and goes on after it.
"""

import base64
import json
import os
import sys
import time

T0 = time.monotonic()
MAX_FIGURES = 8  # pictures kept per cell (and per widget frame)
MAX_PIXELS = 6_000_000  # largest figure drawn (width x height, pixels)
MAX_TEXT = 8000  # characters of printed text kept per cell
MAX_MESSAGE = 400  # characters of an error message


class Cell:
    """What one cell shows: outputs in order, the widgets it displayed, its error."""

    def __init__(self):
        self.outputs, self.widget_ids, self.error, self.text = [], [], None, 0

    def stream(self, text):
        text = text.replace("\x1b[2K", "").replace("\r", "")
        keep = text[: max(0, MAX_TEXT - self.text)]
        self.text += len(text)
        if keep:
            if self.outputs and self.outputs[-1].get("name") == "stdout":
                self.outputs[-1]["text"] += keep
            else:
                self.outputs.append({"output_type": "stream", "name": "stdout", "text": keep})

    def display(self, data):
        view = data.get("application/vnd.jupyter.widget-view+json")
        if isinstance(view, dict) and "model_id" in view:
            self.widget_ids.append(view["model_id"])
        kept = {k: v for k, v in data.items() if k in ("image/png", "text/plain")}
        png = kept.get("image/png")
        if isinstance(png, (bytes, bytearray)):
            kept["image/png"] = base64.b64encode(png).decode("ascii")
        n_figures = sum("image/png" in o.get("data", {}) for o in self.outputs)
        if png and n_figures >= MAX_FIGURES:
            return
        if kept:
            self.outputs.append({"output_type": "display_data", "data": kept, "metadata": {}})


class Stream:
    """sys.stdout / sys.stderr of the worker: into the current cell, bounded."""

    def __init__(self, state):
        self.state = state

    def write(self, text):
        self.state["cell"].stream(str(text))
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


def short(text):
    text = str(text)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " ... (cut)"


def error_text(exc, tb):
    """'your function f raised E: msg' (the innermost frame of notebook code), or 'this
    cell raised E: msg'."""
    where = None
    library = (sys.prefix, sys.base_prefix, "<neurograder_")
    while tb is not None:
        code = tb.tb_frame.f_code
        if not code.co_filename.startswith(library) and code.co_name != "<module>":
            where = code.co_name
        tb = tb.tb_next
    what = "%s: %s" % (type(exc).__name__, short(exc))
    return ("your function %s raised %s" % (where, what)) if where else ("this cell raised " + what)


def make_shell(state):
    """An IPython shell whose displays, results and tracebacks go into state["cell"]."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            state["cell"].display(data)

        def clear_output(self, wait=False):
            pass

    class Hook(DisplayHook):
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            state["cell"].display(format_dict)

    class Shell(InteractiveShell):
        def enable_gui(self, gui=None):
            pass

        def showtraceback(self, *args, **kwargs):
            etype, exc, tb = sys.exc_info()
            if isinstance(exc, FigureTooLarge):
                state["cell"].error = str(exc)
            elif exc is not None and state["cell"].error is None:
                state["cell"].error = error_text(exc, tb)

        def showsyntaxerror(self, *args, **kwargs):
            exc = sys.exc_info()[1]
            state["cell"].error = "this cell does not compile: %s" % short(exc)

    cfg = Config({"HistoryManager": {"enabled": False}})
    shell = Shell.instance(config=cfg, display_pub_class=Publisher, displayhook_class=Hook, colors="nocolor")
    shell.enable_matplotlib("inline")
    return shell


class FigureTooLarge(ValueError):
    """A figure larger than MAX_PIXELS (not drawn)."""


def bounded_png(fig):
    """A figure as PNG like the inline backend, unless it is larger than MAX_PIXELS."""
    from IPython.core.pylabtools import print_figure

    w, h = fig.get_size_inches() * fig.dpi
    if not w * h <= MAX_PIXELS:
        raise FigureTooLarge(
            "a figure of %.0f x %.0f pixels is larger than the grader draws (at most %d pixels)" % (w, h, MAX_PIXELS)
        )
    return print_figure(fig, "png", bbox_inches="tight")


def no_png(fig):
    return None


def run_cell(shell, state, source, quiet=False):
    """Run one cell in the shell (figures flushed as the inline backend does; ``quiet``:
    a cell replayed for its state only, whose figures are not drawn again)."""
    from matplotlib.figure import Figure

    cell = state["cell"] = Cell()
    shell.display_formatter.formatters["image/png"].for_type(Figure, no_png if quiet else bounded_png)
    shell.run_cell(source, store_history=False)
    return cell


def drive_widget(state, cell, job, driver):
    """Drive the last widget the cell displayed that has a tau control."""
    from ipywidgets.widgets.widget import _instances

    found = [_instances[m] for m in cell.widget_ids if m in _instances]
    if not found:
        return {"frames": [], "problem": "the cell shows no widget (display it, or make it the cell's last line)"}
    state["cell"] = Cell()  # what driving displays is recorded, not kept
    for widget in reversed(found):
        try:
            driver["find_control"](widget)
        except driver["WidgetDriveError"]:
            continue
        result = driver["widget_frames"](widget, job["positions"])
        break
    else:
        result = driver["widget_frames"](found[-1], job["positions"])
    result["frames"] = [
        {"tau": f["tau"], "pngs": [base64.b64encode(p).decode("ascii") for p in f["pngs"][:MAX_FIGURES]]}
        for f in result["frames"]
    ]
    return result


def start_worker(job, rt, evt_w):
    """As the student: the IPython shell and the widget driver (our code, no cell yet)."""
    rt["become_student"](job, [job["result_fd"]])
    os.environ["IPYTHONDIR"] = os.path.join(os.getcwd(), ".ipython")
    state = {"cell": Cell()}
    sys.stdout = sys.stderr = Stream(state)
    try:
        shell = make_shell(state)
        driver = load_module("neurograder_widgets", job["widgets"])
    except BaseException as exc:
        rt["_write_frame"](evt_w, {"event": "broken", "why": "%s: %s" % (type(exc).__name__, short(exc))})
        os._exit(70)
    return state, shell, driver


def worker_main(job, rt, start, skip, evt_w):
    """Run the cells as the student (never returns)."""
    state, shell, driver = start_worker(job, rt, evt_w)
    send = rt["_write_frame"]
    for i, spec in enumerate(job["cells"]):
        if i in skip:
            continue
        send(evt_w, {"event": "start", "cell": i, "phase": "cell"})
        t = time.monotonic()
        cell = run_cell(shell, state, spec["source"], quiet=i < start)
        done = {"event": "done", "cell": i, "phase": "cell", "seconds": time.monotonic() - t}
        if spec["capture"] and i >= start:
            done.update(outputs=cell.outputs, error=cell.error)
        send(evt_w, done)
        if spec.get("widget") and i >= start:
            send(evt_w, {"event": "start", "cell": i, "phase": "widget"})
            send(
                evt_w, {"event": "done", "cell": i, "phase": "widget", "widget": drive_widget(state, cell, job, driver)}
            )
    send(evt_w, {"event": "end"})
    os._exit(0)


def load_module(name, source):
    """A module from source text shipped in the job (registered, as dataclasses need)."""
    import types

    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, "<%s>" % name, "exec"), module.__dict__)
    return module.__dict__


def spawn(job, rt, start, skip):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            worker_main(job, rt, start, skip, w)
        finally:
            os._exit(70)
    os.close(w)
    return pid, r


EXIT_WAIT = 5.0  # seconds a worker whose pipe closed gets to finish exiting


def exit_status(pid, pidfd):
    """The worker's wait status once it has exited (its pipe closes just before), or None."""
    import select

    select.select([pidfd], [], [], EXIT_WAIT)
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return status if done else None


def why_stopped(rt, phase, problem, status, timeout):
    what = "driving the widget" if phase == "widget" else "this cell"
    if problem == "protocol":
        return "%s sent more, or other, output than the grader accepts" % what
    if problem == "timeout":
        return "%s did not finish within %g s and was stopped by the grader" % (what, timeout)
    how = rt["_exit_text"](status) if status is not None else "ended"
    return "%s stopped the Python process (it %s)" % (what, how)


def well_formed(msg, n):
    """A worker's event as the protocol has it (the worker runs student code: anything else
    is treated as a broken protocol)."""
    if not isinstance(msg, dict) or msg.get("event") not in ("start", "done", "end", "broken"):
        return False
    if msg["event"] in ("start", "done"):
        cell = msg.get("cell")
        return (
            type(cell) is int
            and 0 <= cell < n
            and msg.get("phase") in ("cell", "widget")
            and isinstance(msg.get("outputs", []), list)
        )
    return True


def supervise(job, rt):
    """Run workers until every cell ran, was stopped, or the budget is used up."""
    cells, widget, skip, start = {}, None, set(), 0
    timings = job["timings"] = {}
    deadline = T0 + float(job["budget"])
    cap = int(job["max_result_mb"]) * 2**20
    while True:
        pid, fd = spawn(job, rt, start, skip)
        pidfd = os.pidfd_open(pid)
        reader = rt["FrameReader"](fd, pidfd)
        running, problem, started = None, None, False
        while problem is None:
            limit = deadline if running is None else min(deadline, time.monotonic() + job["timeout"])
            try:
                msg = reader.next(limit, cap)
            except TimeoutError:
                problem = "timeout"
            except EOFError:
                problem = "died"
            except (OverflowError, ValueError):  # too large, unreadable: not our protocol
                problem = "protocol"
            else:
                if not well_formed(msg, len(job["cells"])):
                    problem = "protocol"
                    continue
                event = msg.get("event")
                if event == "end":
                    break
                if event == "broken":  # only before the first cell, from our code
                    problem = "protocol" if started else "broken"
                    job["problem"] = "the renderer could not start: " + short(msg.get("why"))
                    continue
                running = (msg["cell"], msg["phase"]) if event == "start" else None
                started = started or event == "start"
                if event == "done" and msg.get("phase") == "cell":
                    timings.setdefault("cells", {})[str(msg["cell"])] = msg.get("seconds")
                if event == "start" and "startup" not in timings:
                    timings["startup"] = time.monotonic() - T0
                if event == "done" and "outputs" in msg:
                    cells[msg["cell"]] = {"outputs": msg["outputs"], "error": msg["error"]}
                if event == "done" and "widget" in msg:
                    widget = msg["widget"]
        status = exit_status(pid, pidfd) if problem == "died" else None
        os.close(fd)
        os.close(pidfd)
        rt["reap"](job["uid"])
        if problem is None or problem == "broken":
            return cells, widget
        if problem == "protocol":
            job.pop("problem", None)
        if running is None or time.monotonic() >= deadline:
            return cells, widget
        i, phase = running
        why = why_stopped(rt, phase, problem, status, job["timeout"])
        if phase == "widget":
            widget = {"frames": [], "problem": why}
            job["cells"][i]["widget"] = False
        else:
            cells.setdefault(i, {"outputs": [], "error": why})
            skip.add(i)
        start = i + 1
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def runtime():
    """The sandbox runtime's pieces this script uses (installed by the boot script)."""
    from neurograder.inside import framing, privileges

    return {
        "become_student": privileges.become_student,
        "_write_frame": framing.write_frame,
        "FrameReader": framing.FrameReader,
        "reap": privileges.reap,
        "_exit_text": privileges.exit_text,
    }


def main(job, started):
    """Render ``job`` (see the module docstring); ``started``: monotonic start time."""
    global T0
    T0 = started
    os.close(0)
    os.open("/dev/null", os.O_RDONLY)
    os.environ.update(MPLBACKEND="Agg", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    if job.get("assignment_dir"):
        sys.path.insert(0, job["assignment_dir"])
        os.chdir(job["assignment_dir"])
    rt = runtime()
    import numpy  # noqa: F401  (warm: every worker inherits these imports)
    import matplotlib.pyplot  # noqa: F401
    import IPython.core.interactiveshell  # noqa: F401
    import ipywidgets  # noqa: F401

    cells, widget = supervise(job, rt)
    data = json.dumps(
        {
            "checks": {},
            "cells": cells,
            "widget": widget,
            "problem": job.get("problem"),
            "timings": dict(job["timings"], total=time.monotonic() - T0),
        }
    ).encode()
    view = memoryview(data)
    while view:
        view = view[os.write(job["result_fd"], view) :]
    os.close(job["result_fd"])
