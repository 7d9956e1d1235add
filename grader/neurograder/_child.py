"""Sandbox-side runner: the only code of ours that runs inside the sandbox.

It is started as ``python -I -c <this file's text>`` inside bubblewrap (or the fallback), so it
must import nothing from the project. It never sees expected values: it only runs student code
on the argument tuples it is given and sends back what the student's code returned, converted
to plain JSON numbers.

It runs what plain nbgrader runs: the student's code cells in notebook order, each graded test
seeing exactly the cells above it. Process layout inside one sandbox (one per submission)::

    supervisor  (this script; trusted code; keeps CAP_SETUID/CAP_SETGID only, never runs or
      |          parses student code, holds the result pipe to the grader on ``result_fd``)
      +-- loader (the submission's private uid, rlimits): walks the cells in order, running
          |        each with its exceptions caught (the rest of that cell is skipped, later
          |        cells still run, as nbgrader's allow_errors); reports "cell i started/done"
          |        on its event pipe; at each graded test's position it forks:
          +-- one check child (hidden test: calls the graded function on the cases and writes
          |   the converted outputs as one framed message) or one server (visible test: the
          |   supervisor runs the test's own code and reaches the student's names through
          |   proxies); after it, every other process of the uid is killed.

The supervisor enforces every time limit from the events: a cell or check that runs past its
wall clock, a loader that dies (``os._exit``, a signal, a resource limit) or a message that
breaks the protocol gets the uid reaped; the culprit cell is recorded as cut down and a new
loader resumes from a fresh state, running that cell as definitions only (and dropping it if
that fails too), with the checks already done skipped. A check only loses what really depends
on the cut cell. A per-student wall-clock budget bounds the whole submission; checks not reached
within it are reported ``over budget``.

Job (JSON on stdin)::

    {"uid", "result_fd", "timeout", "cpu", "mem_mb", "nproc", "fsize_mb", "max_result_mb",
     "budget": s, "assignment_dir": str | null,
     "setup": [code, ...],                        # locked cells of the SOURCE notebook
     "cells": [{"grade_id": label, "source": code}], # the student's code cells, in order
     "heavy": [...], "prewarm": [...], "wire": source of neurograder/wire.py,
     "checks": [{"grade_id", "name", "kind": "call" | "value", "cases": [...],
                 "after": cells above the test, "max_bytes": largest accepted result} |
                {"grade_id", "kind": "script", "source", "names", "kinds", "after"}]}

Result (JSON on ``result_fd``): ``{"checks": {grade_id: {"status": ..., ...}}, "cells": {index:
note}, "setup_errors": [...], "timings": {...}}`` with status ``ok`` (``outputs``: one converted
value per case, or per-case errors), ``error``/``crash`` (``message``), ``timeout``,
``toolarge``, ``over budget``; for visible tests ``passed`` or ``failed`` (``message``).
"""
import ast
import json
import os
import re
import resource
import select
import signal
import struct
import sys
import time
import traceback

_FRAME = struct.Struct("!Q")
#: longest error message kept from student code (the rest is cut before it is stored)
MAX_MESSAGE = 400
#: deepest nesting accepted in any message from student-uid processes (results are at most
#: a tuple of 2-D arrays: 4 levels inside the envelope of 4)
MAX_DEPTH = 12
#: largest event message (everything except a check's result)
MAX_EVENT = 64 * 1024


# ----------------------------------------------------------------------------- definitions only
def _is_const_expr(node):
    """True if evaluating ``node`` cannot call anything (names, literals, arithmetic)."""
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Call, ast.Lambda, ast.Await, ast.Yield, ast.YieldFrom,
                            ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
                            ast.NamedExpr, ast.Subscript, ast.Attribute)):
            return False
    return True


def _def_has_calls_at_definition(node):
    """Decorators, default values and annotations run when a ``def`` statement runs."""
    if isinstance(node, ast.ClassDef) or node.decorator_list:
        return True  # class bodies run at definition time; a decorator is a call
    args = node.args
    parts = list(args.defaults)
    parts += [d for d in args.kw_defaults if d is not None]
    every = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg)
                                                              if a is not None]
    parts += [a.annotation for a in every if a.annotation is not None]
    if node.returns is not None:
        parts.append(node.returns)
    return not all(_is_const_expr(p) for p in parts)


def _plain_target(t):
    return isinstance(t, ast.Name) or (isinstance(t, (ast.Tuple, ast.List))
                                       and all(isinstance(e, ast.Name) for e in t.elts))


def definitions_only(tree):
    """Statements of a cell that only *define* things: imports, plain ``def``s and constant
    assignments (annotations included in the test). Used for the trusted setup cells and for
    a student cell that stopped its loader (the cut-down cell)."""
    keep = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            keep.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not _def_has_calls_at_definition(node):
                keep.append(node)
        elif isinstance(node, ast.Assign):
            if _is_const_expr(node.value) and all(_plain_target(t) for t in node.targets):
                keep.append(node)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None and _is_const_expr(node.value) and \
                    _is_const_expr(node.annotation) and isinstance(node.target, ast.Name):
                keep.append(node)
    return keep


class _Lazy:
    """Stand-in for a heavy module (torch, matplotlib...) imported by a setup cell: imports the
    real thing only if student code touches it, so honest numpy-only checks stay cheap."""

    def __init__(self, modname, attr=None):
        object.__setattr__(self, "_spec", (modname, attr))

    def _resolve(self):
        import importlib
        modname, attr = object.__getattribute__(self, "_spec")
        mod = importlib.import_module(modname)
        return getattr(mod, attr) if attr else mod

    def __getattr__(self, name):
        return getattr(self._resolve(), name)

    def __call__(self, *a, **k):
        return self._resolve()(*a, **k)


def _lazy_imports(node, heavy, ns):
    """Bind lazy stand-ins for imports of heavy modules; return False if not handled."""
    def is_heavy(name):
        return name.split(".")[0] in heavy
    if isinstance(node, ast.Import) and all(is_heavy(a.name) for a in node.names):
        for a in node.names:
            if a.asname:
                ns[a.asname] = _Lazy(a.name)
            else:
                ns[a.name.split(".")[0]] = _Lazy(a.name.split(".")[0])
        return True
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and is_heavy(node.module):
        for a in node.names:
            if a.name != "*":
                ns[a.asname or a.name] = _Lazy(node.module, a.name)
        return True
    return False


def run_statements(nodes, ns, filename, errors):
    for node in nodes:
        try:
            code = compile(ast.Module(body=[node], type_ignores=[]), filename, "exec")
            exec(code, ns)
        except BaseException as exc:  # noqa: BLE001 - any failure of one statement is recorded
            errors.append("%s line %s: %s: %s" % (filename, getattr(node, "lineno", "?"),
                                                 type(exc).__name__, str(exc)[:MAX_MESSAGE]))


# ----------------------------------------------------------------------------- wire helpers
def _to_plain_builtin(x, depth=0):
    """Fallback used only when the job carries no ``wire`` source: ``np.asarray(x, float)``
    as nested lists; tuples and lists of arrays kept as lists; never deeper than 4 levels."""
    import numpy as np
    if depth > 3:
        raise ValueError("output is nested too deeply")
    if type(x) in (tuple, list) and x and not all(type(e) in (int, float, bool) for e in x):
        try:
            return np.asarray(x, dtype=float).tolist()
        except Exception:  # ragged: convert each element
            return [_to_plain_builtin(e, depth + 1) for e in x]
    if type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=float)
    return np.array(arr, dtype=np.float64, copy=True).view(np.ndarray).tolist()


def _short_tb(exc):
    """Traceback lines of the student's own code only (frames from ``<cell ...>``)."""
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if f.filename.startswith("<cell")]
        lines = ["%s, line %s, in %s" % (f.filename, f.lineno, f.name) for f in frames[-3:]]
        lines.append("%s: %s" % (type(exc).__name__, _short(str(exc))))
        return "\n".join(lines)
    except BaseException:  # noqa: BLE001 - a hostile __str__
        return "an exception that could not be shown"


def _short(text, limit=MAX_MESSAGE):
    text = text if isinstance(text, str) else str(text)
    return text if len(text) <= limit else text[:limit] + " ... (cut)"


WIRE = {"to_plain": _to_plain_builtin, "prepare_args": lambda case: tuple(case)}


def to_plain(x):
    return WIRE["to_plain"](x)


def prepare_args(case):
    return WIRE["prepare_args"](case)


# ----------------------------------------------------------------------------- framing
def _write_frame(wfd, obj):
    data = json.dumps(obj).encode()
    os.write(wfd, _FRAME.pack(len(data)))
    view = memoryview(data)
    while view:
        n = os.write(wfd, view)
        view = view[n:]


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


def loads_bounded(data, max_depth=MAX_DEPTH):
    """JSON from an untrusted process, refused (ValueError) if nested deeper than
    ``max_depth``: the depth is counted on the bytes before any recursive parser runs."""
    import numpy as np
    skeleton = _STRING.sub(b'""', bytes(data))
    arr = np.frombuffer(skeleton, dtype=np.uint8)
    if arr.size:
        step = ((arr == 91) | (arr == 123)).astype(np.int32) - ((arr == 93) | (arr == 125))
        if int(np.cumsum(step).max()) > max_depth:
            raise ValueError("message nested too deeply")
    return json.loads(bytes(data))


class FrameReader:
    """Framed messages from a pipe, read within deadlines; ``proc_fd`` (a pidfd of the
    writer) ends the wait when the writer dies even if a descendant keeps the pipe open."""

    def __init__(self, fd, proc_fd=None):
        self.fd, self.proc_fd, self.buf, self.dead = fd, proc_fd, bytearray(), False
        self.watch = True   # False: wait for the pipe itself (a check may outlive the loader)

    def _frame(self, cap):
        if len(self.buf) < _FRAME.size:
            return None
        need = _FRAME.unpack(bytes(self.buf[:_FRAME.size]))[0]
        if need > cap:
            raise OverflowError
        if len(self.buf) < _FRAME.size + need:
            return None
        data = bytes(self.buf[_FRAME.size:_FRAME.size + need])
        del self.buf[:_FRAME.size + need]
        return loads_bounded(data)

    def next(self, deadline, cap):
        """The next message; raises TimeoutError, EOFError, OverflowError (larger than
        ``cap``) or ValueError (unreadable)."""
        while True:
            msg = self._frame(cap)
            if msg is not None:
                return msg
            if self.dead:
                raise EOFError
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            fds = [self.fd] + ([self.proc_fd] if self.proc_fd is not None and self.watch else [])
            ready, _, _ = select.select(fds, [], [], min(left, 1.0))
            if self.fd in ready:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    self.dead = True
                self.buf += chunk
            elif self.proc_fd in ready:   # writer gone: take what is already in the pipe
                os.set_blocking(self.fd, False)
                try:
                    while True:
                        chunk = os.read(self.fd, 1 << 20)
                        if not chunk:
                            break
                        self.buf += chunk
                except BlockingIOError:
                    pass
                self.dead = True


def _drain(fd):
    """Discard whatever is already in a pipe (written there before its check began)."""
    os.set_blocking(fd, False)
    try:
        while os.read(fd, 1 << 20):
            pass
    except BlockingIOError:
        pass
    os.set_blocking(fd, True)


# ----------------------------------------------------------------------------- student side
def _label(job, i):
    return job["cells"][i]["grade_id"]


def run_cell(job, i, mode, ns, errors):
    """Run student cell ``i`` in the loader: whole (``full``) or definitions only (``cut``).
    Parsing happens here, under the student's limits."""
    fname = "<cell %s>" % _label(job, i)
    try:
        tree = ast.parse(job["cells"][i]["source"], fname)
    except BaseException as exc:  # noqa: BLE001 - SyntaxError, MemoryError, RecursionError
        errors.append("%s: %s: %s" % (fname, type(exc).__name__, _short(str(exc))))
        return
    if mode == "full":
        try:
            exec(compile(tree, fname, "exec"), ns)
        except BaseException as exc:  # noqa: BLE001 - as nbgrader: the cell's error is shown
            errors.append(_short_tb(exc))
    else:
        run_statements(definitions_only(tree), ns, fname, errors)


def _check_limits(job):
    """A check child gets its own CPU allowance (its CPU clock starts at zero)."""
    cpu = int(job["cpu"])
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    hard = cpu + 1 if hard == resource.RLIM_INFINITY else min(hard, cpu + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (min(cpu, hard), hard))


def _missing(name, errors):
    msg = "`%s` is not defined by your notebook's cells." % name
    if errors:
        msg += " Your code raised:\n" + "\n".join(errors[-2:])
    return _short(msg, 3 * MAX_MESSAGE)


def compute_check(check, ns, errors):
    """The outputs of one hidden check, run on the loader's state at the test's position."""
    name = check["name"]
    if name not in ns:
        return {"status": "error", "message": _missing(name, errors)}
    if check["kind"] == "value":
        try:
            return {"status": "ok", "outputs": [{"value": to_plain(ns[name])}]}
        except BaseException as exc:  # noqa: BLE001
            return {"status": "error", "message": "`%s` could not be read as numbers: %s: %s"
                    % (name, type(exc).__name__, _short(str(exc)))}
    fn = ns[name]
    outs = []
    for args in check["cases"]:
        try:
            outs.append({"value": to_plain(fn(*prepare_args(args)))})
        except BaseException as exc:  # noqa: BLE001
            outs.append({"error": _short_tb(exc)})
    return {"status": "ok", "outputs": outs}


def encode_result(value):
    """A returned value as plain data plus its outer shape (tuple/list of arrays, array)."""
    if type(value) is tuple:
        return {"tuple": [to_plain(v) for v in value]}
    if type(value) is list:
        return {"list": [to_plain(v) for v in value]}
    return {"array": to_plain(value)}


def _from_wire(a):
    """Arguments of a visible test as the test wrote them: arrays stay arrays, lists lists."""
    if type(a) is dict and "__ndarray__" in a:
        import numpy as np
        return np.asarray(a["__ndarray__"], dtype=float)
    return a


def server_main(ns, errors, req_fd, resp_fd):
    """Serve calls of a visible test (run by the supervisor) with the student's names."""
    reader = FrameReader(req_fd)
    while True:
        try:
            req = reader.next(time.monotonic() + 3600, 64 << 20)
        except BaseException:  # noqa: BLE001 - EOF: the test is over
            os._exit(0)
        name = req["name"]
        try:
            if name not in ns:
                raise NameError(_missing(name, errors))
            obj = ns[name]
            if req["call"]:
                obj = obj(*[_from_wire(a) for a in req["args"]],
                          **{k: _from_wire(v) for k, v in req["kwargs"].items()})
            reply = {"ok": encode_result(obj)}
        except BaseException as exc:  # noqa: BLE001
            reply = {"error": _short_tb(exc)}
        try:
            _write_frame(resp_fd, reply)
        except BaseException:  # noqa: BLE001
            os._exit(0)


def _exit_text(wstatus):
    if os.WIFSIGNALED(wstatus):
        return "was killed by signal %d" % os.WTERMSIG(wstatus)
    return "exited with status %d" % os.WEXITSTATUS(wstatus)


def _kill_others():
    """SIGKILL every process of this uid except the loader itself (what cells or the last
    check left running, detached or not), so a check starts and ends alone."""
    for _ in range(3):
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            break
    while True:   # reap the loader's own killed children (zombies still count for NPROC)
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue


def _fork_and_wait(body):
    """Run ``body()`` in a child of the loader, alone; wait for it; kill whatever it left
    running. Returns the child's exit description."""
    _kill_others()
    try:
        pid = os.fork()
    except OSError as exc:
        return "could not be started (%s)" % exc
    if pid == 0:
        try:
            body()
        finally:
            os._exit(70)
    while True:
        try:
            _, wstatus = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:   # a cell's SIGCHLD handler reaped it first
            wstatus = 0
            break
    _kill_others()
    return _exit_text(wstatus)


def loader_main(job, ns, plan, evt_w, pipes):
    """Walk the notebook in order (runs as the student, never returns).

    ``plan``: {"modes": {cell index: ("cut" | "drop", why)}, "done": grade_ids already
    graded, "end": last cell the pending checks need}."""
    errors = []
    n = len(job["cells"])
    at = {}
    for check in job["checks"]:
        if check["grade_id"] not in plan["done"]:
            at.setdefault(_after(check, n), []).append(check)
    last = max(at) if at else -1
    for i in range(last + 1):
        for check in at.get(i, []):
            gid = check["grade_id"]
            _write_frame(evt_w, {"ev": "check", "gid": gid})
            if check["kind"] == "script":
                req_r, resp_w = pipes[gid]

                def serve(req_r=req_r, resp_w=resp_w):
                    _check_limits(job)
                    server_main(ns, errors, req_r, resp_w)
                how = _fork_and_wait(serve)
            else:
                def one(check=check):
                    _check_limits(job)
                    result = compute_check(check, ns, errors)
                    _write_frame(evt_w, {"ev": "result", "gid": check["grade_id"],
                                         "result": result})
                    os._exit(0)
                how = _fork_and_wait(one)
            _write_frame(evt_w, {"ev": "checked", "gid": gid, "how": how})
        if i == last:
            break
        mode, why = plan["modes"].get(i, ("full", ""))
        if mode == "drop":
            errors.append("<cell %s> was left out: %s" % (_label(job, i), why))
            continue
        if mode == "cut":
            errors.append("<cell %s> %s; only its imports and definitions were kept"
                          % (_label(job, i), why))
        _write_frame(evt_w, {"ev": "cell", "i": i})
        run_cell(job, i, mode, ns, errors)
        _write_frame(evt_w, {"ev": "celldone", "i": i})
    _write_frame(evt_w, {"ev": "end"})
    os._exit(0)


def _after(check, n):
    """Position of a test: how many of the student's cells are above it (all when unknown)."""
    after = check.get("after")
    return n if not isinstance(after, int) or not 0 <= after <= n else after


# ----------------------------------------------------------------------------- privileges
def drop_privileges(uid):
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    try:  # PR_SET_NO_NEW_PRIVS = 38: no setuid binaries can give privileges back
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0)
    except Exception:
        pass


def set_limits(job, cpu):
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    # the address space limit is on top of what the (forked) supervisor already maps
    with open("/proc/self/statm") as fh:
        vm_now = int(fh.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (vm_now + job["mem_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (job["nproc"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (job["fsize_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def reap(uid):
    """SIGKILL every process of ``uid`` (the reaper is that uid, so kill(-1) reaches exactly
    those: the loader, its checks and anything they spawned, detached or not)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for _ in range(3):
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    break
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def become_student(job, close_fds):
    """In a freshly forked loader: shed the supervisor's fds and rights, enter limits."""
    for fd in close_fds:
        os.close(fd)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    drop_privileges(job["uid"])
    workdir = "/tmp/work-%d" % os.getpid()
    os.mkdir(workdir, 0o700)
    os.chdir(workdir)
    # the loader's CPU clock runs across all cells: the per-student budget bounds it
    set_limits(job, int(job["budget"]) + 1)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


# ----------------------------------------------------------------------------- supervisor side
class StudentCallError(Exception):
    """The student's code failed while a visible test called it."""


def decode_result(reply):
    import numpy as np
    if "tuple" in reply:
        return tuple(_decode_item(v) for v in reply["tuple"])
    if "list" in reply:
        return [_decode_item(v) for v in reply["list"]]
    arr = np.asarray(reply["array"], dtype=float)
    return arr[()] if arr.ndim == 0 else arr


def _decode_item(v):
    import numpy as np
    arr = np.asarray(v, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


def _jsonable(a):
    import numpy as np
    if isinstance(a, np.ndarray):
        return {"__ndarray__": a.tolist()}
    if isinstance(a, (np.floating, np.integer)):
        return a.item()
    return a


def run_script_check(job, check, base_ns, req_w, resp_r, deadline):
    """A visible test cell (public, instructor-written code) runs here in the supervisor; the
    student's names it uses are proxies that call into the student-uid server, so the test's
    own ``assert``/``np.allclose`` never share a process with student code."""
    cap = job["max_result_mb"] * 1024 * 1024
    reader = FrameReader(resp_r)
    state = {}

    def remote(name, call, args=(), kwargs=None):
        try:
            _write_frame(req_w, {"name": name, "call": call, "args": [_jsonable(a) for a in args],
                                 "kwargs": {k: _jsonable(v) for k, v in (kwargs or {}).items()}})
            reply = reader.next(deadline, cap)
        except TimeoutError:
            state["status"] = "timeout"
            raise StudentCallError("`%s` did not finish in time" % name)
        except (EOFError, OSError, ValueError, OverflowError):
            state["status"] = "crash"
            raise StudentCallError("the process running your code stopped while `%s` ran "
                                   "(os._exit, a crash, or a resource limit)" % name)
        if type(reply) is not dict:
            raise StudentCallError("`%s` sent back an unreadable result" % name)
        if "error" in reply:
            raise StudentCallError("`%s` raised an error:\n%s" % (name, _short(reply["error"])))
        return decode_result(reply.get("ok") or {"array": None})

    class Proxy:
        def __init__(self, name):
            self.name = name

        def __call__(self, *args, **kwargs):
            return remote(self.name, True, args, kwargs)

    ns = dict(base_ns)
    try:
        for name in check["names"]:
            if check["kinds"].get(name) == "value":
                try:
                    ns[name] = remote(name, False)
                except StudentCallError:
                    if state.get("status"):
                        raise
            else:
                ns[name] = Proxy(name)
        exec(compile(check["source"], "<visible test %s>" % check["grade_id"], "exec"), ns)
        result = {"status": "passed"}
    except StudentCallError as exc:
        result = {"status": state.get("status", "failed"), "message": _short(str(exc), 1000)}
    except AssertionError as exc:
        result = {"status": "failed",
                  "message": _short(str(exc)) or "an assertion of the self-check failed"}
    except Exception as exc:  # noqa: BLE001 - e.g. a TypeError from a wrong return value
        result = {"status": "failed", "message": "%s: %s" % (type(exc).__name__, _short(str(exc)))}
    return result


def sanitize(result):
    """A hidden check's result as the grader may store it: known keys, messages cut short."""
    if type(result) is not dict or result.get("status") not in ("ok", "error"):
        return {"status": "crash", "message": "your code's result could not be read"}
    if result["status"] == "error":
        return {"status": "error", "message": _short(str(result.get("message", "")), 3 * MAX_MESSAGE)}
    outs = result.get("outputs")
    if type(outs) is not list:
        return {"status": "crash", "message": "your code's result could not be read"}
    clean = []
    for out in outs:
        if type(out) is dict and "error" in out:
            clean.append({"error": _short(str(out["error"]), 3 * MAX_MESSAGE)})
        elif type(out) is dict and "value" in out:
            clean.append({"value": out["value"]})
        else:
            clean.append({"error": "unreadable result"})
    return {"status": "ok", "outputs": clean}


class Supervisor:
    """Runs loaders until every check has a result (or the budget is spent)."""

    def __init__(self, job, base_ns, result_fd):
        self.job, self.base_ns, self.result_fd = job, base_ns, result_fd
        self.results, self.modes, self.notes, self.timings = {}, {}, {}, {}
        self.by_id = {c["grade_id"]: c for c in job["checks"]}
        # the budget starts with the student's code (not with the trusted start-up)
        self.deadline = time.monotonic() + float(job["budget"])
        self.restarts = 0

    def pending(self):
        return [c for c in self.job["checks"] if c["grade_id"] not in self.results]

    def run(self):
        while self.pending():
            if time.monotonic() >= self.deadline or self.restarts > 2 * len(self.job["cells"]) + \
                    len(self.job["checks"]) + 2:
                break
            self.restarts += 1
            self.one_loader()
        budget = float(self.job["budget"])
        for check in self.pending():
            self.results[check["grade_id"]] = {
                "status": "over budget",
                "message": "not run: your notebook used up the grader's time budget of %g s "
                           "before this test (slow or sleeping cells above it)" % budget}
        return self.results

    def cut(self, i, why):
        """Cell ``i`` stopped its loader: cut it down to definitions, then drop it."""
        old = self.modes.get(i, ("full", ""))[0]
        why = "%s" % why
        self.modes[i] = ("cut", why) if old == "full" else ("drop", why)
        self.notes[str(i)] = "%s: %s (%s)" % (_label(self.job, i), why,
                                              "cut down to its definitions" if old == "full"
                                              else "left out")

    def one_loader(self):
        job = self.job
        evt_r, evt_w = os.pipe()
        pipes, theirs = {}, {}
        for check in self.pending():
            if check["kind"] == "script":
                req_r, req_w = os.pipe()
                resp_r, resp_w = os.pipe()
                pipes[check["grade_id"]] = (req_w, resp_r)
                theirs[check["grade_id"]] = (req_r, resp_w)
        ours = [evt_r, self.result_fd] + [fd for p in pipes.values() for fd in p]
        plan = {"modes": self.modes, "done": set(self.results)}
        pid = os.fork()
        if pid == 0:
            try:
                become_student(job, ours)
                loader_main(job, self.base_ns, plan, evt_w, theirs)
            finally:
                os._exit(70)
        os.close(evt_w)
        for fd in (fd for p in theirs.values() for fd in p):
            os.close(fd)
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = None
        try:
            self.follow(FrameReader(evt_r, pidfd), pipes)
        finally:
            reap(job["uid"])
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            for fd in [evt_r] + [fd for p in pipes.values() for fd in p] + \
                    ([pidfd] if pidfd is not None else []):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def follow(self, reader, pipes):
        """Follow one loader's events until it ends, or must be stopped (then the culprit is
        recorded: a cell is cut down, a check gets its status)."""
        job = self.job
        timeout = float(job["timeout"])
        activity, last_cell = ("start", None), None
        deadline = time.monotonic() + timeout
        while True:
            cap = MAX_EVENT
            if activity[0] == "check":
                cap = max(MAX_EVENT, int(self.by_id[activity[1]].get("max_bytes") or
                                         job["max_result_mb"] * 1024 * 1024))
            reader.watch = activity[0] != "check"
            try:
                msg = reader.next(min(deadline, self.deadline), cap)
                if type(msg) is not dict:
                    raise ValueError
            except (TimeoutError, EOFError, OverflowError, ValueError) as exc:
                if time.monotonic() >= self.deadline:
                    return
                self.blame(activity, last_cell, exc, timeout)
                return
            ev = msg.get("ev")
            now = time.monotonic()
            if ev == "cell" and type(msg.get("i")) is int and 0 <= msg["i"] < len(job["cells"]):
                activity, last_cell, deadline = ("cell", msg["i"]), msg["i"], now + timeout
                started = now
            elif ev == "celldone":
                if activity[0] == "cell":
                    self.timings["cell %d" % activity[1]] = round(now - started, 4)
                activity, deadline = ("idle", None), now + timeout
            elif ev == "check" and msg.get("gid") in self.by_id and \
                    msg["gid"] not in self.results:
                gid = msg["gid"]
                activity, deadline, started = ("check", gid), now + timeout, now
                check = self.by_id[gid]
                if check["kind"] == "script":
                    req_w, resp_r = pipes[gid]
                    _drain(resp_r)
                    res = run_script_check(job, check, self.base_ns, req_w, resp_r,
                                           min(deadline, self.deadline))
                    if time.monotonic() >= self.deadline and res["status"] == "timeout":
                        return
                    self.results[gid] = res
                    if res["status"] in ("timeout", "crash"):
                        return       # its server may still run: reap and go on afresh
                    os.close(req_w)  # end of the test: the server exits
                    pipes[gid] = (os.open("/dev/null", os.O_WRONLY), resp_r)
            elif ev == "result" and activity[0] == "check" and msg.get("gid") == activity[1]:
                self.results[activity[1]] = sanitize(msg.get("result"))
            elif ev == "checked" and activity[0] == "check" and msg.get("gid") == activity[1]:
                gid = activity[1]
                self.timings[gid] = round(now - started, 4)
                if gid not in self.results:
                    self.results[gid] = {
                        "status": "crash",
                        "message": "the process running your code %s before returning a "
                                   "result (os._exit, a crash, or a resource limit)"
                                   % _short(str(msg.get("how")), 100)}
                activity, deadline = ("idle", None), now + timeout
            elif ev == "end":
                return
            else:   # anything else breaks the protocol: treat it like a crash of the activity
                self.blame(activity, last_cell, ValueError(), timeout)
                return

    def blame(self, activity, last_cell, exc, timeout):
        kind = activity[0]
        if isinstance(exc, TimeoutError):
            why = "did not finish within %g s" % timeout
        elif isinstance(exc, OverflowError):
            why = "sent a result that is far too large"
        else:
            why = "stopped the process running your notebook (os._exit, a crash or a " \
                  "resource limit)"
        if kind == "check":
            gid = activity[1]
            if gid not in self.results:
                self.results[gid] = ({"status": "timeout"} if isinstance(exc, TimeoutError) else
                                     {"status": "toolarge"} if isinstance(exc, OverflowError) else
                                     {"status": "crash", "message": "your code " + why})
        elif kind == "cell" or last_cell is not None:
            self.cut(activity[1] if kind == "cell" else last_cell, why)
        else:   # the loader failed before any cell: nothing of the student's ran yet
            for check in self.pending():
                self.results[check["grade_id"]] = {
                    "status": "error", "message": "the grader could not start your notebook"}


T0 = time.monotonic()


def _setup(job):
    """The SOURCE notebook's locked cells, definitions only (trusted code)."""
    base_ns = {"__name__": "__main__", "__builtins__": __builtins__}
    setup_errors = []
    heavy = set(job.get("heavy", []))
    for k, code in enumerate(job["setup"]):
        try:
            tree = ast.parse(code)
        except SyntaxError as exc:
            setup_errors.append("setup %d: %s" % (k, exc))
            continue
        plain = [node for node in definitions_only(tree)
                 if not _lazy_imports(node, heavy, base_ns)]
        run_statements(plain, base_ns, "<setup %d>" % k, setup_errors)
    return base_ns, setup_errors


def _prewarm(job):
    """Heavy modules the student's cells mention are imported once here (the real module from
    the read-only venv, before any student code runs), not once per loader or check. A plain
    text search (an import of the module, or an attribute of it such as ``torch.zeros``):
    student code is never parsed in this process."""
    for mod in job.get("prewarm", []):
        imports = re.compile(r"^[ \t]*(?:import|from)[ \t]+(%s(?:\.\w+)*)" % re.escape(mod), re.M)
        attribute = re.compile(r"\b%s[ \t]*\." % re.escape(mod))
        names = set()
        for cell in job["cells"]:
            names.update(imports.findall(cell["source"]))
            if attribute.search(cell["source"]):
                names.add(mod)
        for name in sorted(names)[:20]:
            try:
                __import__(name)
            except Exception:
                pass


def main():
    job = json.loads(sys.stdin.buffer.read())
    result_fd = job["result_fd"]
    job.setdefault("budget", 3 * float(job["timeout"]))
    os.close(0)
    os.open("/dev/null", os.O_RDONLY)   # fd 0 again
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    if job.get("assignment_dir"):
        sys.path.insert(0, job["assignment_dir"])
        os.chdir(job["assignment_dir"])
    import numpy as np  # noqa: F401  (warm: every loader inherits it)
    import ctypes  # noqa: F401  (used by every loader for no_new_privs)
    if job.get("wire"):
        wire = {"__name__": "neurograder_wire"}
        exec(compile(job["wire"], "<wire>", "exec"), wire)
        WIRE.update(to_plain=wire["to_plain"], prepare_args=wire["prepare_args"])
    base_ns, setup_errors = _setup(job)
    _prewarm(job)
    timings = {"startup": time.monotonic() - T0}
    supervisor = Supervisor(job, base_ns, result_fd)
    results = supervisor.run()
    timings.update(supervisor.timings)
    timings["total"] = time.monotonic() - T0
    timings["loaders"] = supervisor.restarts
    os.chdir("/")
    data = json.dumps({"checks": results, "cells": supervisor.notes,
                       "setup_errors": setup_errors, "timings": timings}).encode()
    view = memoryview(data)
    while view:
        n = os.write(result_fd, view)
        view = view[n:]
    os.close(result_fd)


if __name__ == "__main__":
    main()
