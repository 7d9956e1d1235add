"""Calling the student's code for a test, on both sides of the student-uid boundary.

Hidden checks run in a check child (student uid): :func:`compute_check` calls the graded
name on each case and converts what it returns with :mod:`neurograder.wire`. A visible test
runs in the supervisor (:func:`run_script_check`): the student's names it uses are proxies
whose calls a student-uid server (:func:`server_main`) answers. Either may first put
reference definitions in place of the student's (:func:`install_references`): a test graded
independently of an earlier function that failed its own check.
"""

import os
import time

from ..wire import prepare_args, to_plain
from .cells import short_tb
from .framing import MAX_MESSAGE, FrameReader, short, write_frame


def _missing(name, errors):
    msg = "`%s` is not defined by your notebook's cells." % name
    if errors:
        msg += " Your code raised:\n" + "\n".join(errors[-2:])
    return short(msg, 3 * MAX_MESSAGE)


def install_references(check, ns, errors):
    """Replace the student's definitions named in ``check["references"]`` by the reference
    ones (trusted source from the job), in this check's own process only."""
    for name, source in sorted((check.get("references") or {}).items()):
        try:
            exec(compile(source, "<reference %s>" % name, "exec"), ns)
        except BaseException as exc:  # noqa: BLE001 - recorded like any failing cell
            errors.append("<reference %s>: %s: %s" % (name, type(exc).__name__, short(str(exc))))


def compute_check(check, ns, errors):
    """The outputs of one hidden check, run on the loader's state at the test's position."""
    name = check["name"]
    if name not in ns:
        return {"status": "error", "message": _missing(name, errors)}
    if check["kind"] == "value":
        try:
            return {"status": "ok", "outputs": [{"value": to_plain(ns[name])}]}
        except BaseException as exc:  # noqa: BLE001
            return {
                "status": "error",
                "message": "`%s` could not be read as numbers: %s: %s" % (name, type(exc).__name__, short(str(exc))),
            }
    fn = ns[name]
    outs = []
    for args in check["cases"]:
        try:
            outs.append({"value": to_plain(fn(*prepare_args(args)))})
        except BaseException as exc:  # noqa: BLE001
            outs.append({"error": short_tb(exc)})
            # the check fails on its first error, as in the plain grader (whose loop stops
            # there): the later cases would change nothing but the time they cost (a memory
            # bomb's every case filling the address space)
            break
    return {"status": "ok", "outputs": outs}


def sanitize(result):
    """A hidden check's result as the grader may store it: known keys, messages cut short."""
    if type(result) is not dict or result.get("status") not in ("ok", "error"):
        return {"status": "crash", "message": "your code's result could not be read"}
    if result["status"] == "error":
        return {"status": "error", "message": short(str(result.get("message", "")), 3 * MAX_MESSAGE)}
    outs = result.get("outputs")
    if type(outs) is not list:
        return {"status": "crash", "message": "your code's result could not be read"}
    clean = []
    for out in outs:
        if type(out) is dict and "error" in out:
            clean.append({"error": short(str(out["error"]), 3 * MAX_MESSAGE)})
        elif type(out) is dict and "value" in out:
            clean.append({"value": out["value"]})
        else:
            clean.append({"error": "unreadable result"})
    return {"status": "ok", "outputs": clean}


# ----------------------------------------------------------------------------- visible tests
def encode_result(value):
    """A returned value as plain data plus its outer shape (tuple/list of arrays, array)."""
    if type(value) is tuple:
        return {"tuple": [to_plain(v) for v in value]}
    if type(value) is list:
        return {"list": [to_plain(v) for v in value]}
    return {"array": to_plain(value)}


def decode_result(reply):
    """The supervisor's copy of what a proxied call returned (arrays, tuples, lists)."""
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
    """An argument of a visible test on the wire (arrays marked, so they stay arrays)."""
    import numpy as np

    if isinstance(a, np.ndarray):
        return {"__ndarray__": a.tolist()}
    if isinstance(a, (np.floating, np.integer)):
        return a.item()
    return a


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
                obj = obj(*[_from_wire(a) for a in req["args"]], **{k: _from_wire(v) for k, v in req["kwargs"].items()})
            reply = {"ok": encode_result(obj)}
        except BaseException as exc:  # noqa: BLE001
            reply = {"error": short_tb(exc)}
        try:
            write_frame(resp_fd, reply)
        except BaseException:  # noqa: BLE001
            os._exit(0)


class StudentCallError(Exception):
    """The student's code failed while a visible test called it."""


def run_script_check(job, check, base_ns, req_w, resp_r, deadline):
    """A visible test cell (public, instructor-written code) runs here in the supervisor; the
    student's names it uses are proxies that call into the student-uid server, so the test's
    own ``assert``/``np.allclose`` never share a process with student code."""
    cap = job["max_result_mb"] * 1024 * 1024
    reader = FrameReader(resp_r)
    state = {}

    def remote(name, call, args=(), kwargs=None):
        try:
            write_frame(
                req_w,
                {
                    "name": name,
                    "call": call,
                    "args": [_jsonable(a) for a in args],
                    "kwargs": {k: _jsonable(v) for k, v in (kwargs or {}).items()},
                },
            )
            reply = reader.next(deadline, cap)
        except TimeoutError:
            state["status"] = "timeout"
            raise StudentCallError("`%s` did not finish in time" % name) from None
        except (EOFError, OSError, ValueError, OverflowError):
            state["status"] = "crash"
            raise StudentCallError(
                "the process running your code stopped while `%s` ran (os._exit, a crash, or a resource limit)" % name
            ) from None
        if type(reply) is not dict:
            raise StudentCallError("`%s` sent back an unreadable result" % name)
        if "error" in reply:
            raise StudentCallError("`%s` raised an error:\n%s" % (name, short(reply["error"])))
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
        result = {"status": state.get("status", "failed"), "message": short(str(exc), 1000)}
    except AssertionError as exc:
        result = {"status": "failed", "message": short(str(exc)) or "an assertion of the self-check failed"}
    except Exception as exc:  # noqa: BLE001 - e.g. a TypeError from a wrong return value
        result = {"status": "failed", "message": "%s: %s" % (type(exc).__name__, short(str(exc)))}
    return result
