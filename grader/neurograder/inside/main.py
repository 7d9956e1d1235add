"""The sandbox's entry point once its modules are in place: a quiet process environment, the
trusted setup namespace, the supervisor, and the results written to the grader's pipe."""

import json
import os
import sys
import time

from .cells import prewarm, setup_namespace
from .framing import write_all
from .supervisor import Supervisor


def _environment(job):
    """stdin closed, one BLAS thread, no display, the released assignment as the cwd."""
    os.close(0)
    os.open("/dev/null", os.O_RDONLY)  # fd 0 again
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    if job.get("assignment_dir"):
        sys.path.insert(0, job["assignment_dir"])
        os.chdir(job["assignment_dir"])
    import ctypes  # noqa: F401  (used by every loader for no_new_privs)
    import numpy  # noqa: F401  (warm: every loader inherits it)


def main(job, started):
    """Grade ``job`` (see :mod:`neurograder.inside`); ``started``: monotonic start time."""
    result_fd = job["result_fd"]
    _environment(job)
    base_ns, setup_errors = setup_namespace(job)
    prewarm(job)
    timings = {"startup": time.monotonic() - started}
    supervisor = Supervisor(job, base_ns, result_fd)
    results = supervisor.run()
    timings.update(supervisor.timings)
    timings["total"] = time.monotonic() - started
    timings["loaders"] = supervisor.restarts
    # CPU seconds of the supervisor and every process it waited for (loaders, and through
    # them the tests): the sandbox's work, which no process outside the sandbox ever reaps
    cpu = os.times()
    timings["cpu"] = round(cpu.user + cpu.system + cpu.children_user + cpu.children_system, 4)
    os.chdir("/")
    write_all(
        result_fd,
        json.dumps(
            {"checks": results, "cells": supervisor.notes, "setup_errors": setup_errors, "timings": timings}
        ).encode(),
    )
    os.close(result_fd)
