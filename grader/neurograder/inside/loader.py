"""The loader: walks the student's cells in notebook order as the private uid and, at each
graded test's position, forks that test's process from the current state."""

import os

from .calls import compute_check, install_references, server_main
from .cells import label, run_cell
from .framing import write_frame
from .privileges import check_limits, fork_and_wait


def position(check, n):
    """Position of a test: how many of the student's cells are above it (all when unknown)."""
    after = check.get("after")
    return n if not isinstance(after, int) or not 0 <= after <= n else after


def _run_test(job, check, ns, errors, evt_w, pipes):
    """One test in a child of the loader; returns how that child ended."""
    gid = check["grade_id"]
    if check["kind"] == "script":
        req_r, resp_w = pipes[gid]

        def serve():
            check_limits(job)
            install_references(check, ns, errors)
            server_main(ns, errors, req_r, resp_w)

        return fork_and_wait(serve)

    def one():
        check_limits(job)
        install_references(check, ns, errors)
        result = compute_check(check, ns, errors)
        write_frame(evt_w, {"ev": "result", "gid": gid, "result": result})
        os._exit(0)

    return fork_and_wait(one)


def loader_main(job, ns, plan, evt_w, pipes):
    """Walk the notebook in order (runs as the student, never returns).

    ``plan``: {"modes": {cell index: ("cut" | "drop", why)}, "done": grade_ids already
    graded}. Events on ``evt_w``: check / result / checked around each test, cell / celldone
    around each cell, end."""
    errors = []
    n = len(job["cells"])
    at = {}
    for check in job["checks"]:
        if check["grade_id"] not in plan["done"]:
            at.setdefault(position(check, n), []).append(check)
    last = max(at) if at else -1
    for i in range(last + 1):
        for check in at.get(i, []):
            write_frame(evt_w, {"ev": "check", "gid": check["grade_id"]})
            how = _run_test(job, check, ns, errors, evt_w, pipes)
            write_frame(evt_w, {"ev": "checked", "gid": check["grade_id"], "how": how})
        if i == last:
            break
        mode, why = plan["modes"].get(i, ("full", ""))
        if mode == "drop":
            errors.append("<cell %s> was left out: %s" % (label(job, i), why))
            continue
        if mode == "cut":
            errors.append("<cell %s> %s; only its imports and definitions were kept" % (label(job, i), why))
        write_frame(evt_w, {"ev": "cell", "i": i})
        run_cell(job, i, mode, ns, errors)
        write_frame(evt_w, {"ev": "celldone", "i": i})
    write_frame(evt_w, {"ev": "end"})
    os._exit(0)
