"""Sandbox-side runner: the only code of ours that runs inside the sandbox.

It is started as ``python -I -c <this file's text>`` inside bubblewrap (or the fallback), so it
must import nothing from the project. It never sees expected values: it only runs student code
on the argument tuples it is given and sends back what the student's code returned, converted
to plain JSON numbers.

Process layout inside one sandbox (one per submission)::

    supervisor  (this script; trusted code; keeps CAP_SETUID/CAP_SETGID only, never runs
      |          student code, holds the result pipe to the grader on fd ``result_fd``)
      +-- one short-lived child per graded check: drops to the submission's private uid,
          sets rlimits, runs the setup + student cells, makes the calls, writes one framed
          JSON message on its own pipe, exits.  After each child, a "reaper" (same uid)
          SIGKILLs every process of that uid, so nothing a check starts survives it.

Job (JSON on stdin)::

    {"uid": int, "result_fd": int, "timeout": s, "cpu": s, "mem_mb": int, "nproc": int,
     "fsize_mb": int, "max_result_mb": int, "assignment_dir": str | null,
     "setup": [code, ...],                      # locked cells of the SOURCE notebook
     "cells": [{"grade_id": id, "source": code}], # the student's solution cells
     "heavy": ["torch", ...],                   # imported lazily in setup code
     "checks": [{"grade_id", "name", "kind", "target": cell index | null, "cases": [...]}]}

Result (JSON on ``result_fd``): ``{"checks": {grade_id: {"status": ..., ...}}, "setup_errors": [...]}``
with status ``ok`` (``outputs``: one converted value per case, or per-case errors),
``error`` (``message``), ``timeout``, ``crash`` (``message``) or ``toolarge``.
"""
import ast
import json
import os
import resource
import select
import signal
import struct
import sys
import time
import traceback

_FRAME = struct.Struct("!Q")


# ----------------------------------------------------------------------------- helpers
def _is_const_expr(node):
    """True if evaluating ``node`` cannot call anything (names, literals, arithmetic)."""
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Call, ast.Lambda, ast.Await, ast.Yield, ast.YieldFrom,
                            ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
                            ast.NamedExpr, ast.Subscript, ast.Attribute)):
            return False
    return True


def _def_has_calls_at_definition(node):
    """Decorators and default values run when a ``def``/``class`` statement runs."""
    parts = list(getattr(node, "decorator_list", []))
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        parts += list(node.args.defaults) + [d for d in node.args.kw_defaults if d is not None]
    if isinstance(node, ast.ClassDef):
        return True  # class bodies run at definition time
    return not all(_is_const_expr(p) for p in parts)


def definitions_only(tree):
    """Statements of a cell that only *define* things: imports, plain ``def``s and constant
    assignments. Used for every cell except the one that holds the graded name, so a stray
    ``os._exit()``, loop or plot elsewhere in a notebook cannot cost an unrelated check."""
    keep = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            keep.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not _def_has_calls_at_definition(node):
                keep.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            value = node.value
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if value is not None and _is_const_expr(value) and all(
                    isinstance(t, ast.Name) for t in targets):
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
                                                 type(exc).__name__, str(exc)[:300]))


def _to_plain_builtin(x, depth=0):
    """Fallback used only when the job carries no ``wire`` source: what the grader compares: ``np.asarray(x, float).tolist()``, tuples and lists of arrays
    kept as lists. Only ``type(...) is`` tests: a hostile class cannot pass as a tuple."""
    import numpy as np
    if depth > 6:
        raise TypeError("result nested too deeply")
    if type(x) in (tuple, list) and x and not all(type(e) in (int, float, bool) for e in x):
        try:
            return np.asarray(x, dtype=float).tolist()
        except Exception:  # ragged: convert each element
            return [_to_plain_builtin(e, depth + 1) for e in x]
    if type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=float)
    if type(arr) is not np.ndarray:   # asarray can return a subclass only if it lies; refuse
        arr = np.array(arr, dtype=float, subok=False)
    return arr.tolist()


def _short_tb(exc):
    """Traceback lines of the student's own code only (frames from ``<cell ...>``)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell")]
    lines = ["%s, line %s, in %s" % (f.filename, f.lineno, f.name) for f in frames[-3:]]
    lines.append("%s: %s" % (type(exc).__name__, str(exc)[:500]))
    return "\n".join(lines)


WIRE = {"to_plain": _to_plain_builtin, "prepare_args": lambda case: tuple(case)}


def to_plain(x):
    return WIRE["to_plain"](x)


def prepare_args(case):
    return WIRE["prepare_args"](case)


def _write_frame(wfd, obj):
    data = json.dumps(obj).encode()
    os.write(wfd, _FRAME.pack(len(data)))
    view = memoryview(data)
    while view:
        n = os.write(wfd, view)
        view = view[n:]


def _read_frame(rfd, deadline, cap):
    """One framed JSON message, or raise TimeoutError / EOFError / ValueError."""
    buf = bytearray()
    need = None
    while need is None or len(buf) < _FRAME.size + need:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        ready, _, _ = select.select([rfd], [], [], min(left, 1.0))
        if not ready:
            continue
        chunk = os.read(rfd, 1 << 20)
        if not chunk:
            raise EOFError
        buf += chunk
        if need is None and len(buf) >= _FRAME.size:
            need = _FRAME.unpack(bytes(buf[:_FRAME.size]))[0]
            if need > cap:
                raise ValueError("message too large")
    return json.loads(bytes(buf[_FRAME.size:_FRAME.size + need]))


# ----------------------------------------------------------------------------- child side
def load_student(job, targets, ns, pre_trees):
    """Run the student's cells: the ``targets`` fully, the others definitions only."""
    errors = []
    for i, cell in enumerate(job["cells"]):
        tree = pre_trees[i]
        fname = "<cell %s>" % cell["grade_id"]
        if tree is None:
            continue
        if targets is None or i in targets:
            try:
                exec(compile(tree, fname, "exec"), ns)
            except BaseException as exc:  # noqa: BLE001
                errors.append(_short_tb(exc))
        else:
            heavy = set(job.get("heavy", []))
            plain = [n for n in definitions_only(tree) if not _lazy_imports(n, heavy, ns)]
            run_statements(plain, ns, fname, [])
    return errors


def _targets(check):
    t = check.get("targets")
    if t is None:
        t = None if check.get("target") is None else [check["target"]]
    return None if t is None or None in t else set(t)


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


def server_main(job, check, base_ns, req_fd, resp_fd, pre_trees):
    """Serve calls of a visible test (run by the supervisor) with the student's functions."""
    ns = base_ns
    errors = load_student(job, _targets(check), ns, pre_trees)
    while True:
        try:
            req = _read_frame(req_fd, time.monotonic() + 3600, 64 << 20)
        except (EOFError, TimeoutError, ValueError):
            os._exit(0)
        name = req["name"]
        try:
            if name not in ns:
                msg = "`%s` is not defined by your solution cells" % name
                if errors:
                    msg += "; your code raised:\n" + "\n".join(errors[-2:])
                raise NameError(msg)
            obj = ns[name]
            if req["call"]:
                obj = obj(*[_from_wire(a) for a in req["args"]],
                          **{k: _from_wire(v) for k, v in req["kwargs"].items()})
            reply = {"ok": encode_result(obj)}
        except BaseException as exc:  # noqa: BLE001
            reply = {"error": _short_tb(exc)}
        try:
            _write_frame(resp_fd, reply)
        except Exception:
            os._exit(0)


def child_main(job, check, base_ns, wfd, pre_trees):
    """Runs in the forked child after privileges are dropped. Never returns."""
    ns = base_ns
    errors = load_student(job, _targets(check), ns, pre_trees)
    name = check["name"]
    if name not in ns:
        msg = "`%s` is not defined by your solution cells." % name
        if errors:
            msg += " Your code raised:\n" + "\n".join(errors[-2:])
        result = {"status": "error", "message": msg}
    elif check["kind"] == "value":
        try:
            result = {"status": "ok", "outputs": [{"value": to_plain(ns[name])}]}
        except BaseException as exc:  # noqa: BLE001
            result = {"status": "error",
                      "message": "`%s` could not be read as numbers: %s: %s"
                                 % (name, type(exc).__name__, str(exc)[:300])}
    else:
        fn = ns[name]
        outs = []
        for args in check["cases"]:
            try:
                value = fn(*prepare_args(args))
                outs.append({"value": to_plain(value)})
            except BaseException as exc:  # noqa: BLE001
                outs.append({"error": _short_tb(exc)})
        result = {"status": "ok", "outputs": outs}
    data = json.dumps(result).encode()
    try:
        os.write(wfd, _FRAME.pack(len(data)))
        view = memoryview(data)
        while view:
            n = os.write(wfd, view)
            view = view[n:]
    finally:
        os._exit(0)


def drop_privileges(job):
    uid = job["uid"]
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    try:  # PR_SET_NO_NEW_PRIVS = 38: no setuid binaries can give privileges back
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0)
    except Exception:
        pass


def set_limits(job):
    mb = 1024 * 1024
    cpu = int(job["cpu"])
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
    those: the check's child and anything it spawned, detached or not)."""
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


def become_student(job, check, close_fds):
    """In a freshly forked child: shed the supervisor's fds and rights, enter limits."""
    for fd in close_fds:
        os.close(fd)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    drop_privileges(job)
    workdir = "/tmp/work-%s-%d" % (check["grade_id"][:40], os.getpid())
    os.mkdir(workdir, 0o700)
    os.chdir(workdir)
    set_limits(job)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


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


def run_script_check(job, check, base_ns, pre_trees, result_fd):
    """A visible test cell (public, instructor-written code) runs here in the supervisor; the
    student's names it uses are proxies that call into a student-uid server process, so the
    test's own ``assert``/``np.allclose`` never share a process with student code."""
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            become_student(job, check, (req_w, resp_r, result_fd))
            server_main(job, check, base_ns, req_r, resp_w, pre_trees)
        finally:
            os._exit(70)
    os.close(req_r)
    os.close(resp_w)
    deadline = time.monotonic() + job["timeout"]
    cap = job["max_result_mb"] * 1024 * 1024
    state = {}

    def remote(name, call, args=(), kwargs=None):
        try:
            _write_frame(req_w, {"name": name, "call": call, "args": [_jsonable(a) for a in args],
                                 "kwargs": {k: _jsonable(v) for k, v in (kwargs or {}).items()}})
            reply = _read_frame(resp_r, deadline, cap)
        except TimeoutError:
            state["status"] = "timeout"
            raise StudentCallError("`%s` did not finish in time" % name)
        except (EOFError, OSError, ValueError):
            state["status"] = "crash"
            raise StudentCallError("the process running your code stopped while `%s` ran "
                                   "(os._exit, a crash, or a resource limit)" % name)
        if "error" in reply:
            raise StudentCallError("`%s` raised an error:\n%s" % (name, reply["error"]))
        return decode_result(reply["ok"])

    class Proxy:
        def __init__(self, name):
            self.name = name

        def __call__(self, *args, **kwargs):
            return remote(self.name, True, args, kwargs)

    ns = dict(base_ns)
    for name in check["names"]:
        if check["kinds"].get(name) == "value":
            try:
                ns[name] = remote(name, False)
            except StudentCallError:
                pass
        else:
            ns[name] = Proxy(name)
    try:
        exec(compile(check["source"], "<visible test %s>" % check["grade_id"], "exec"), ns)
        result = {"status": "passed"}
    except StudentCallError as exc:
        result = {"status": state.get("status", "failed"), "message": str(exc)}
    except AssertionError as exc:
        result = {"status": "failed", "message": str(exc) or "an assertion of the self-check failed"}
    except Exception as exc:  # noqa: BLE001 - e.g. a TypeError from a wrong return value
        result = {"status": "failed", "message": "%s: %s" % (type(exc).__name__, str(exc)[:500])}
    for fd in (req_w, resp_r):
        os.close(fd)
    reap(job["uid"])
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    return result


def _jsonable(a):
    import numpy as np
    if isinstance(a, np.ndarray):
        return {"__ndarray__": a.tolist()}
    if isinstance(a, (np.floating, np.integer)):
        return a.item()
    return a


def run_check(job, check, base_ns, pre_trees, result_fd):
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            become_student(job, check, (rfd, result_fd))
            child_main(job, check, base_ns, wfd, pre_trees)
        finally:
            os._exit(70)
    os.close(wfd)
    cap = job["max_result_mb"] * 1024 * 1024
    deadline = time.monotonic() + job["timeout"]
    buf = bytearray()
    need = None
    status = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            status = "timeout"
            break
        ready, _, _ = select.select([rfd], [], [], min(left, 1.0))
        if not ready:
            continue
        chunk = os.read(rfd, 1 << 20)
        if not chunk:
            break
        buf += chunk
        if need is None and len(buf) >= _FRAME.size:
            need = _FRAME.unpack(bytes(buf[:_FRAME.size]))[0]
            if need > cap:
                status = "toolarge"
                break
        if need is not None and len(buf) >= _FRAME.size + need:
            break
        if len(buf) > cap + _FRAME.size:
            status = "toolarge"
            break
    os.close(rfd)
    reap(job["uid"])
    try:
        _, wstatus = os.waitpid(pid, 0)
    except ChildProcessError:
        wstatus = 0
    if status is not None:
        return {"status": status}
    if need is None or len(buf) < _FRAME.size + need:
        if os.WIFSIGNALED(wstatus):
            how = "was killed by signal %d" % os.WTERMSIG(wstatus)
        else:
            how = "exited with status %d" % os.WEXITSTATUS(wstatus)
        return {"status": "crash",
                "message": "the process running your code %s before returning a result "
                           "(os._exit, a crash, or a resource limit)" % how}
    try:
        return json.loads(bytes(buf[_FRAME.size:_FRAME.size + need]))
    except ValueError:
        return {"status": "crash", "message": "your code's result could not be read"}


T0 = time.monotonic()


def main():
    job = json.loads(sys.stdin.buffer.read())
    result_fd = job["result_fd"]
    os.close(0)
    os.open("/dev/null", os.O_RDONLY)   # fd 0 again
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    if job.get("assignment_dir"):
        sys.path.insert(0, job["assignment_dir"])
        os.chdir(job["assignment_dir"])
    import numpy as np  # noqa: F401  (warm: every child inherits it)
    import ctypes  # noqa: F401  (used by every child for no_new_privs)
    if job.get("wire"):
        wire = {"__name__": "neurograder_wire"}
        exec(compile(job["wire"], "<wire>", "exec"), wire)
        WIRE.update(to_plain=wire["to_plain"], prepare_args=wire["prepare_args"])

    base_ns = {"__name__": "__main__", "__builtins__": __builtins__}
    setup_errors = []
    heavy = set(job.get("heavy", []))
    for k, code in enumerate(job["setup"]):
        try:
            tree = ast.parse(code)
        except SyntaxError as exc:
            setup_errors.append("setup %d: %s" % (k, exc))
            continue
        plain = []
        for node in definitions_only(tree):
            if not _lazy_imports(node, heavy, base_ns):
                plain.append(node)
        run_statements(plain, base_ns, "<setup %d>" % k, setup_errors)

    # parse the student's cells once (parsing runs no student code)
    pre_trees = []
    for cell in job["cells"]:
        try:
            pre_trees.append(ast.parse(cell["source"], "<cell %s>" % cell["grade_id"]))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pre_trees.append(None)
    # warm: heavy modules the student's cells import are imported once here (the real module
    # from the read-only venv, before any student code runs), not once per check
    wanted = set()
    for tree in pre_trees:
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.Import):
                wanted.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                wanted.add(node.module.split(".")[0])
    for mod in sorted(wanted & set(job.get("prewarm", []))):
        try:
            __import__(mod)
        except Exception:
            pass
    results = {}
    timings = {"startup": time.monotonic() - T0}
    for check in job["checks"]:
        t_check = time.monotonic()
        if check["kind"] == "script":
            results[check["grade_id"]] = run_script_check(job, check, base_ns, pre_trees, result_fd)
            timings[check["grade_id"]] = time.monotonic() - t_check
            continue
        t = check.get("target")
        if t is not None and pre_trees[t] is None:
            results[check["grade_id"]] = {
                "status": "error",
                "message": "the cell that should define `%s` has a syntax error"
                           % check["name"]}
            continue
        results[check["grade_id"]] = run_check(job, check, base_ns, pre_trees, result_fd)
        timings[check["grade_id"]] = time.monotonic() - t_check
    os.chdir("/")
    data = json.dumps({"checks": results, "setup_errors": setup_errors,
                       "timings": timings}).encode()
    view = memoryview(data)
    while view:
        n = os.write(result_fd, view)
        view = view[n:]
    os.close(result_fd)


if __name__ == "__main__":
    main()
