"""Expensive test inputs built once per test run, also when pytest-xdist runs several workers.

Under pytest-xdist each worker is a process of its own and runs every session or module
fixture it needs again. :func:`built_once` builds a folder (a graded class, a course made by
``nbgrader generate_assignment``) once for the whole run: the first worker that needs it
builds it under a file lock in the temp folder all workers of the run share; the others wait
on that lock and then reuse it. What the build returns (plain data: scores, a finished
``subprocess.CompletedProcess``) is pickled next to the folder. :func:`private_copy` gives a
test module its own copy to change, so no two workers ever write the same files.

Without xdist the same calls build into the session's own temp folder: one code path.
A build that raised leaves nothing behind: the next caller builds again (and fails with the
same error if the cause persists).
"""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path
from typing import Callable

import filelock

#: set by pytest-xdist in each worker process ("gw0", "gw1", ...); absent without xdist
WORKER_ENV = "PYTEST_XDIST_WORKER"


def run_temp(tmp_path_factory) -> Path:
    """The temp folder every worker of this run shares (the session's own one without xdist).

    xdist gives worker ``gwN`` the base temp ``<run's base temp>/popen-gwN``; the parent is made
    afresh for each run, so nothing built here outlives the run's temp folders.
    """
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get(WORKER_ENV) else base


def built_once(tmp_path_factory, name: str, build: Callable[[Path], object]) -> tuple[Path, object]:
    """Return ``(folder, value)``: ``build(folder)`` run once per test run across all workers.

    ``build`` gets an empty folder, fills it and returns a picklable value. Callers must not
    change the folder (other workers read it): take a :func:`private_copy` to change it.
    """
    root = run_temp(tmp_path_factory)
    folder, result = root / f"shared-{name}", root / f"shared-{name}.pickle"
    with filelock.FileLock(str(root / f"shared-{name}.lock")):
        if not result.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that raised part way
            folder.mkdir()
            value = build(folder)
            tmp = result.with_suffix(".part")
            tmp.write_bytes(pickle.dumps(value))
            tmp.replace(result)
    return folder, pickle.loads(result.read_bytes())


def private_copy(folder: Path, dest: Path) -> Path:
    """A copy of a shared folder (file times kept) at ``dest``, for one caller to change."""
    shutil.copytree(folder, dest, symlinks=True)
    return dest
