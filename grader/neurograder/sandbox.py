"""Run untrusted student code in a throw-away sandbox and get back plain numbers.

Trusted side of the sandbox (the other side is :mod:`neurograder.inside`, which runs inside).

One call of :func:`run_job` = one sandbox = one submission:

* **bubblewrap** (preferred; ``bwrap`` runs here as root): new PID, network, IPC, UTS and
  cgroup namespaces, ``--die-with-parent``, a new session, an empty environment and a private
  ``/tmp``; the only files visible are read-only binds of what Python needs (``/usr``,
  ``/lib*``, a few ``/etc`` files, the interpreter's prefix and the venv) and, read-only, the
  released assignment folder (public files only). ``/work``, ``/root``, the host ``/tmp``,
  the course directory, the gradebook, the source notebook and other students do not exist
  inside. All capabilities are dropped except CAP_SETUID/CAP_SETGID, which the supervisor
  needs to start each check as the submission's private uid (see below).
* **fallback** (no working bwrap; set ``NEUROGRADER_SANDBOX=fallback`` to force it):
  the same supervisor started directly in a new session with the same per-check private uid,
  rlimits and kill-by-uid. Without a mount namespace, the course directory must not be
  readable by other users (``chmod 700 grader``) and the interpreter must be readable by them;
  :func:`fallback_problems` lists what is wrong. There is no network isolation in this mode.

Per check (inside either mode): a forked child drops to a **private uid** (one per running
sandbox, from a range no account uses; allocated with a lock file so parallel graders never
share one), ``no_new_privs``, rlimits (CPU, address space, processes, file size, open files,
no core), an empty work dir, stdin/stdout/stderr on ``/dev/null``; results come back framed on
its own pipe; afterwards every process of that uid is SIGKILLed. The supervisor sends the
collected results to the grader on a private pipe (``result_fd``), never on stdout. The
grader enforces an overall wall clock and kills the whole sandbox (PID namespace) on expiry.

Expected values never enter the sandbox: it receives argument tuples and returns outputs.

Per sandbox as a whole (:mod:`neurograder.bounds`): its own cgroup (v2, else v1) caps the
memory, processes and CPU of all its processes together; ``/tmp`` and ``/dev/shm`` are
tmpfs of TMP_MB and SHM_MB.

**No state from one sandbox to the next.** Each sandbox starts in a new anonymous session
keyring and runs under a uid handed out in rotation (:class:`UidSlot`: never the previous
sandbox's uid); when it ends every process in its cgroup is killed and the cgroup removed,
the uid's user keyrings are emptied, and (fallback mode) files of that uid in the host's
temp folders are removed (bubblewrap's ``/tmp``, ``/dev/shm`` and IPC namespace vanish with
it, and nothing else of the host is writable inside). Uids: :mod:`neurograder.uids`; the
pipes to a running sandbox: :mod:`neurograder.pipes`; the command line and the sandbox a
grading process keeps started for its next student (its interpreter and NumPy up, no job
yet): :mod:`neurograder.launch`.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import inside
from .launch import (  # noqa: F401 (the API)
    SHM_MB,
    SANDBOX_LOCK,
    Servers,
    _dirs_for,
    TMP_MB,
    Spare,
    Started,
    bwrap_command,
    keep_warm,
    python_executable,
    start_ahead,
)
from .pipes import communicate
from .uids import (
    HOST_TEMP_DIRS,  # noqa: F401
    LOCK_DIR,  # noqa: F401
    UID_BASE,  # noqa: F401
    UID_SLOTS,  # noqa: F401 (the API)
    UidSlot,  # noqa: F401
    remove_files_of,  # noqa: F401
)


@dataclass
class Limits:
    """Resource limits of one submission: per cell and per check, and its total budget."""

    timeout: float = 10.0  # wall-clock seconds per cell and per check
    cpu: int = 10  # CPU seconds per check (RLIMIT_CPU of each check's process)
    mem_mb: int = 1024  # address space on top of the warm supervisor (RLIMIT_AS)
    nproc: int = 32  # processes/threads of the private uid (RLIMIT_NPROC)
    fsize_mb: int = 16  # largest file the code may write (RLIMIT_FSIZE)
    max_result_mb: int = 32  # largest result message accepted from one check
    #: wall-clock seconds for the whole submission's cells and restarts (also the CPU limit
    #: of the process that runs the cells); each check is bounded by ``timeout`` instead, and
    #: its time is not taken from the budget, so a function that never returns costs only its
    #: own tests. None: 3 x timeout (30 s by default, ~60x an honest numpy student and ~10x a
    #: torch one measured under load); a student who sleeps in every cell costs the class at
    #: most this, and one whose every graded function loops forever this + checks x timeout.
    budget: float | None = None

    def total(self) -> float:
        return self.budget if self.budget is not None else 3 * self.timeout

    def as_job(self) -> dict:
        return {
            "timeout": self.timeout,
            "cpu": self.cpu,
            "mem_mb": self.mem_mb,
            "nproc": self.nproc,
            "fsize_mb": self.fsize_mb,
            "max_result_mb": self.max_result_mb,
            "budget": self.total(),
        }


@dataclass
class SandboxResult:
    checks: dict  # grade_id -> {"status": ..., ...} as sent by the sandbox
    setup_errors: list = field(default_factory=list)
    mode: str = "bwrap"
    seconds: float = 0.0
    error: str | None = None  # the sandbox as a whole failed (then checks is empty)
    timings: dict = field(default_factory=dict)  # seconds inside the sandbox
    cells: dict = field(default_factory=dict)  # cell index -> why it was cut down/left out
    payload: dict = field(default_factory=dict)  # the whole result message (other entries)


@functools.lru_cache(maxsize=1)
def bwrap_works() -> bool:
    """Can bubblewrap build our sandbox here (installed, allowed, running as root)?"""
    if shutil.which("bwrap") is None or os.geteuid() != 0:
        return False
    try:
        r = subprocess.run(
            bwrap_command(None) + [python_executable(), "-I", "-c", "print(7*6)"], capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and r.stdout.strip() == b"42"


def sandbox_mode() -> str:
    forced = os.environ.get("NEUROGRADER_SANDBOX", "").strip().lower()
    if forced in ("bwrap", "fallback"):
        return forced
    return "bwrap" if bwrap_works() else "fallback"


def fallback_problems(course_root: str | os.PathLike) -> list[str]:
    """Why the fallback sandbox would be weaker than promised on this machine."""
    problems = []
    if os.geteuid() != 0:
        problems.append("not running as root: cannot switch student code to a private uid")
    mode = os.stat(course_root).st_mode
    if mode & 0o007:
        problems.append(f"{course_root} is accessible to other users (chmod o-rwx it)")
    exe = os.path.realpath(python_executable())
    for d in _dirs_for(exe) + [os.path.dirname(exe)]:
        if os.path.isdir(d) and not os.stat(d).st_mode & 0o001:
            problems.append(f"{d} is not searchable by other users: sandboxed python cannot start")
            break
    problems.append("no network or mount isolation without bubblewrap")
    return problems


def runner_files() -> list[Path]:
    """Every file whose text runs inside the sandbox (a change to one regrades everyone)."""
    return inside.files()


def full_job(job: dict, limits: Limits, uid: int, result_fd: int, assignment_dir: str | None, mode: str) -> dict:
    """What the sandbox reads on stdin: the grader's ``job`` (setup, cells, checks, ...) plus
    the runner's modules, the private uid, the result pipe, the limits and the assignment
    folder as seen from inside (see :mod:`neurograder.inside` for every field)."""
    where = ("/assignment" if assignment_dir else None) if mode == "bwrap" else assignment_dir
    job = dict(job)
    extra = job.pop("extra_modules", [])  # modules a job of its own kind adds (the render pass)
    return dict(
        job, modules=inside.modules() + extra, uid=uid, result_fd=result_fd, assignment_dir=where, **limits.as_job()
    )


#: id of a check's cases -> (those cases, their JSON): a process holds one list of cases per
#: check for every student (:func:`neurograder.grading.check_cases`), so each is encoded once
_CASES_JSON: dict = {}
#: the most case lists whose JSON a process keeps
MAX_CASES_JSON = 256


def cases_json(cases) -> str:
    """The JSON of a check's ``cases``, encoded once per list object (the list is kept with
    its text, so its id cannot be another list's while the entry exists)."""
    hit = _CASES_JSON.get(id(cases))
    if hit is None or hit[0] is not cases:
        if len(_CASES_JSON) >= MAX_CASES_JSON:
            _CASES_JSON.clear()
        hit = _CASES_JSON[id(cases)] = (cases, json.dumps(cases))
    return hit[1]


def _object(fields: dict, encoded: dict) -> str:
    """A JSON object of ``fields`` and of ``encoded`` (name -> JSON text already made)."""
    parts = [json.dumps(fields)[1:-1]] if fields else []
    parts += [f"{json.dumps(name)}: {text}" for name, text in encoded.items()]
    return "{" + ", ".join(parts) + "}"


def job_bytes(job: dict) -> bytes:
    """``job`` as the JSON the sandbox reads, each check's cases from :func:`cases_json`:
    the same value as ``json.dumps(job)``, with only the per-student parts encoded again."""
    checks = [
        _object({k: v for k, v in check.items() if k != "cases"}, {"cases": cases_json(check["cases"])})
        if "cases" in check
        else json.dumps(check)
        for check in job.get("checks", [])
    ]
    rest = {k: v for k, v in job.items() if k != "checks"}
    return _object(rest, {"checks": "[" + ", ".join(checks) + "]"} if "checks" in job else {}).encode()


def run_job(
    job: dict, limits: Limits | None = None, assignment_dir: str | None = None, mode: str | None = None
) -> SandboxResult:
    """Run one submission's job (see :mod:`neurograder.inside`) in a fresh sandbox."""
    limits = limits or Limits()
    mode = mode or sandbox_mode()
    started = time.monotonic()
    with SANDBOX_LOCK:  # one sandbox at a time per process (see launch.SANDBOX_LOCK)
        # from a fork server with the heavy modules this student's code uses, and only those;
        # the next one started (in the background) with the same, as the next student will
        # most likely want (a spare for other modules is ended, not used)
        key = (assignment_dir, mode, Servers.heavy(mode, job))
        box = Spare.take(key)
        try:
            job = full_job(job, limits, box.slot.uid, box.result_fd, assignment_dir, mode)
            n_checks = max(1, len(job.get("checks", [])))
            # a backstop only: the supervisor enforces total() itself, from the first student
            # cell on, with each check bounded by its own timeout outside it (start-up, e.g.
            # importing torch under load, comes on top)
            budget = limits.total() + (n_checks + 1) * limits.timeout + 60.0
            data, err = communicate(
                box.proc,
                job_bytes(job),
                box.rfd,
                budget,
                cap=(limits.max_result_mb + 1) * 1024 * 1024 * n_checks,
            )
        finally:
            Spare.release(box, key)  # ended, and the next one started, while judged
    seconds = time.monotonic() - started
    if data is None:
        return SandboxResult({}, mode=mode, seconds=seconds, error=err)
    try:
        payload = json.loads(data)
        checks = payload["checks"]
    except (ValueError, KeyError, TypeError):
        return SandboxResult(
            {}, mode=mode, seconds=seconds, error="sandbox returned no readable result: " + (err or "")[-500:]
        )
    return SandboxResult(
        checks,
        payload.get("setup_errors", []),
        mode,
        seconds,
        timings=payload.get("timings", {}),
        cells=payload.get("cells", {}),
        payload=payload,
    )
