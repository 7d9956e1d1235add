"""Sandbox-side runner: the only code of ours that runs inside the sandbox.

It imports nothing from the project from disk: :func:`modules` hands the sources of this
package and of :mod:`neurograder.wire` to the job, and ``boot.py`` (the text of
``python -I -c``) installs them under their own names before it runs :mod:`.main`. It never
sees expected values: it only runs student code on the argument tuples it is given and sends
back what the student's code returned, converted to plain JSON numbers.

It runs what plain nbgrader runs: the student's code cells in notebook order, each graded test
seeing exactly the cells above it. Process layout inside one sandbox (one per submission)::

    supervisor  (supervisor.py; trusted code; keeps CAP_SETUID/CAP_SETGID only, never runs or
      |          parses student code, holds the result pipe to the grader on ``result_fd``)
      +-- loader (loader.py; the submission's private uid, rlimits from privileges.py): walks
          |        the cells in order (cells.py), each with its exceptions caught (the rest of
          |        that cell is skipped, later cells still run, as nbgrader's allow_errors);
          |        reports "cell i started/done" on its event pipe (framing.py); at each
          |        graded test's position it forks:
          +-- one check child (hidden test: calls the graded function on the cases and writes
          |   the converted outputs as one framed message) or one server (visible test: the
          |   supervisor runs the test's own code and reaches the student's names through
          |   proxies), both in calls.py; after it, every other process of the uid is killed.

The supervisor enforces every time limit from the events: a cell or check that runs past its
wall clock, a loader that dies (``os._exit``, a signal, a resource limit) or a message that
breaks the protocol gets the uid reaped; the culprit cell is recorded as cut down and a new
loader resumes from a fresh state, running that cell as definitions only (and dropping it if
that fails too), with the checks already done skipped. A check only loses what really depends
on the cut cell. A per-student wall-clock budget bounds the submission's cells (its clock stops
while a check runs: each check has its own timeout); checks not reached within it are reported
``over budget``.

Job (JSON on stdin), every field the runner reads::

    modules         [[dotted name, source or null for a package], ...] (boot.py)
    uid             the submission's private uid
    result_fd       the pipe to the grader (results only, never stdout)
    timeout         wall-clock seconds per cell and per check
    cpu             CPU seconds per check
    mem_mb          address space per process on top of the warm supervisor
    nproc           processes/threads of the private uid
    fsize_mb        largest file student code may write
    max_result_mb   largest result of a check without its own max_bytes
    budget          wall-clock seconds for the submission's cells, checks excluded (also the
                    loader's CPU limit)
    assignment_dir  the released assignment folder (cwd and sys.path) or null
    setup           [code, ...]: the SOURCE notebook's locked cells (definitions only)
    heavy           modules bound lazily by setup cells
    prewarm         modules imported once when the student's cells mention them
    cells           the student's code cells in order (fields below)
    checks          the graded tests (fields below)

Each of ``cells``::

    grade_id        the solution cell's grade_id, or "added k"
    source          the cell's code

Each of ``checks``::

    grade_id        the test cell's grade_id (key of its result)
    kind            "call" | "value" (hidden test) or "script" (visible test)
    after           how many of ``cells`` are above the test
    references      {name: source} put in place of the student's definitions (optional)
    name            call/value: the graded global
    cases           call/value: argument tuples (JSON)
    max_bytes       call/value: largest accepted result
    source          script: the visible test's code
    names           script: the student's names it uses
    kinds           script: {name: "call" | "value"}

Result (JSON on ``result_fd``): ``{"checks": {grade_id: {"status": ..., ...}}, "cells": {index:
note}, "setup_errors": [...], "timings": {...}}`` with status ``ok`` (``outputs``: one converted
value per case, or per-case errors), ``error``/``crash`` (``message``), ``timeout``,
``toolarge``, ``over budget``; for visible tests ``passed`` or ``failed`` (``message``).
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
#: the text run as ``python -I -c``
BOOT = HERE / "boot.py"
#: the runner's modules, each after those it imports (boot.py installs them in this order)
ORDER = ("framing", "privileges", "cells", "calls", "loader", "supervisor", "main", "fork_server")
#: argument/result conversion shared with the plain in-kernel grader
WIRE = HERE.parent / "wire.py"


def files() -> list[Path]:
    """Every file whose text runs inside the sandbox."""
    return [BOOT, WIRE] + [HERE / f"{name}.py" for name in ORDER]


def modules() -> list[list]:
    """``job["modules"]``: packages (None) and module sources, in installation order."""
    return [["neurograder", None], ["neurograder.wire", WIRE.read_text()], ["neurograder.inside", None]] + [
        [f"neurograder.inside.{name}", (HERE / f"{name}.py").read_text()] for name in ORDER
    ]
