"""How a sandbox is started: the bubblewrap command line, cold starts, forks from a warm
fork server, and the next sandbox started ahead of its job.

:class:`Started` is one sandbox up and waiting for its job: uid slot and cgroup taken, nothing
of any job inside. It is forked by this process's fork server for its released folder
(:class:`Servers`, :mod:`neurograder.zygote`: NumPy and the runner already loaded, a fork and
four mounts instead of an interpreter start; a student whose code uses a heavy module of the
course's prewarm list, such as torch, gets one from a server that has it loaded too, and
everyone else one from a server without it, whose processes are cheaper to fork) when
:func:`keep_warm` is on and bubblewrap is used; otherwise bubblewrap (or the fallback) starts a new interpreter that imports NumPy
(``inside/boot.py``). With :func:`keep_warm` the process also keeps the next one started
while the current student is graded (:class:`Spare`). Each student still gets a sandbox of
their own that nothing ran in before; a waiting one holds no job and no student code, and it
is ended (cgroup removed, uid released) when it is not used; a used one is ended, and the
next one started, in the background while the student is judged (:meth:`Spare.release`).

(Over 300 lines: the command line, the cold start, the fork servers and the spare are the
steps of one sandbox's start, sharing :class:`Started` and :data:`SANDBOX_LOCK`.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from . import bounds, inside
from .inside.cells import mentioned
from .pipes import kill_tree
from .uids import UidSlot
from .zygote import RESULT_FD, Warm, Zygote, ZygoteError

#: modules imported once per sandbox (not once per check) when the student's cells import
#: them (:func:`neurograder.inside.cells.prewarm`); a warm sandbox of such a student comes
#: from a fork server that has loaded them (:class:`Servers`)
PREWARM_MODULES = ["torch", "scipy"]

#: NEUROGRADER_WARM=0 turns both off for a grading process: the next student's sandbox started
#: ahead (Spare) and the fork server each sandbox comes from (Servers); each student then gets
#: a cold sandbox, started by bubblewrap when the job is there (slower, same isolation)
WARM = os.environ.get("NEUROGRADER_WARM", "1") != "0"


#: held around each sandbox run (neurograder.sandbox.run_job): a process's sandboxes run one
#: at a time, so those forked by its fork server, which share the server's network
#: namespace, never meet (a formgrader may grade from several threads; the batch's workers
#: are single-threaded and never wait on it)
SANDBOX_LOCK = threading.Lock()

#: sizes of the sandbox's private tmpfs /tmp and /dev/shm (their pages also count against
#: the sandbox's cgroup memory, see neurograder.bounds)
TMP_MB = 64
SHM_MB = 16


def python_executable() -> str:
    """The venv's interpreter (the same one the grader runs in), as an absolute path without
    ``..`` (a grader started as ``../.venv/bin/python`` from ``grader/`` has that path in
    ``sys.executable``, and the sandbox, which binds only the venv, could not reach it there);
    symlinks are kept: the venv's ``bin/python`` is one, and only through it is the venv used."""
    return os.path.normpath(os.path.abspath(sys.executable))


def _ro_paths() -> list[str]:
    """Host paths Python + numpy (+ torch, matplotlib) need, bound read-only."""
    paths = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"]
    prefixes = {
        os.path.realpath(sys.prefix),
        os.path.realpath(sys.base_prefix),
        os.path.realpath(sys.exec_prefix),
        sys.prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
    }
    # the venv's bin/python is a symlink into the base interpreter's prefix
    paths += sorted(prefixes)
    return paths


ETC_FILES = [
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/fonts",
    "/etc/alternatives",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/mime.types",
    "/etc/ssl/certs/ca-certificates.crt",
]


def _dirs_for(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[:k]) for k in range(1, len(parts) + 1)]


def bwrap_command(assignment_dir: str | None, extra_caps: tuple = (), die_with_parent: bool = True) -> list[str]:
    """The bubblewrap command line of a sandbox (``extra_caps``: kept besides
    CAP_SETUID/CAP_SETGID, for the fork server only; ``die_with_parent``: killed when the
    thread that started it ends, which the fork server, shared by a process's threads, must
    not be: it ends when its socket to the grader closes)."""
    cmd = [
        "bwrap",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        *(["--die-with-parent"] if die_with_parent else []),
        "--new-session",
        "--clearenv",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "CAP_SETUID",
        "--cap-add",
        "CAP_SETGID",
        *[arg for cap in extra_caps for arg in ("--cap-add", cap)],
        "--hostname",
        "sandbox",
    ]
    # /dev, /proc and a private /tmp first: a venv that lives under the host's /tmp (a CI clone)
    # is then bound read-only on top of the private /tmp instead of being hidden by it
    cmd.extend(
        [
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--perms",
            "1777",
            "--size",
            str(TMP_MB * 2**20),
            "--tmpfs",
            "/tmp",
            "--perms",
            "1777",
            "--size",
            str(SHM_MB * 2**20),
            "--tmpfs",
            "/dev/shm",
        ]
    )
    made = {"/tmp", "/dev", "/proc"}

    def mkdirs(path):
        for d in _dirs_for(path):
            if d not in made and d not in ("/usr", "/lib", "/lib64"):
                made.add(d)
                cmd.extend(["--perms", "0755", "--dir", d])

    for p in _ro_paths():
        if os.path.exists(p):
            mkdirs(p)
            cmd.extend(["--ro-bind", p, p])
    for p in ETC_FILES:
        if os.path.exists(p):
            mkdirs(p)
            cmd.extend(["--ro-bind", p, p])
    if assignment_dir:
        cmd.extend(["--perms", "0755", "--dir", "/assignment", "--ro-bind", assignment_dir, "/assignment"])
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/mpl",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for k, v in env.items():
        cmd.extend(["--setenv", k, v])
    cmd.extend(["--chdir", "/tmp"])
    return cmd


class Started:
    """One sandbox started and waiting for its job: its uid slot and cgroup taken, its
    interpreter up with NumPy imported (``inside/boot.py``), nothing of any job inside yet."""

    def __init__(self, assignment_dir: str | None, mode: str, heavy: tuple = (), cold: bool = True):
        """``heavy``: the prewarm modules its fork server has loaded (see :meth:`Servers.heavy`);
        ``cold``: when no fork server gives one, start it cold (False: raise ZygoteError)."""
        self.key = (assignment_dir, mode, heavy)
        self.slot = UidSlot(host_temp=mode != "bwrap").__enter__()
        try:
            self.box = bounds.SandboxBounds().__enter__()
            server = Servers.get(assignment_dir, heavy) if mode == "bwrap" else None
            try:
                if server is None:
                    raise ZygoteError("no fork server")
                self.proc, self.rfd = server.fork(self.box.cgroup)
                self.result_fd = RESULT_FD
            except ZygoteError:
                if not cold:
                    raise
                self._spawn(assignment_dir, mode)
        except BaseException:
            if hasattr(self, "box"):
                self.box.__exit__(None, None, None)
            self.slot.__exit__(None, None, None)
            raise

    def _spawn(self, assignment_dir: str | None, mode: str) -> None:
        """A cold sandbox: bubblewrap (or the fallback) starts a new interpreter."""
        self.rfd, wfd = os.pipe()
        self.result_fd = wfd  # the same number in the sandbox (pass_fds)
        cmd = bwrap_command(assignment_dir) if mode == "bwrap" else []
        cmd += [python_executable(), "-I", "-c", inside.BOOT.read_text()]
        env = (
            None
            if mode == "bwrap"
            else {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "MPLBACKEND": "Agg"}
        )
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(wfd,),
            env=env,
            start_new_session=True,
            cwd="/",
            preexec_fn=self.box.preexec,
        )
        os.close(wfd)

    def usable_for(self, key: tuple) -> bool:
        return self.key == key and self.proc.poll() is None

    def end(self) -> None:
        """Kill everything of the sandbox, remove its cgroup, clear and release its uid."""
        try:
            os.close(self.rfd)
        except OSError:
            pass
        kill_tree(self.proc)
        if isinstance(self.proc, Warm):
            self.proc.close()
        self.box.__exit__(None, None, None)
        self.slot.__exit__(None, None, None)


class Servers:
    """The fork servers of this process (:mod:`neurograder.zygote`), one per released folder
    and set of heavy modules loaded, when :func:`keep_warm` is on; a server that died is
    replaced at the next student.

    Heavy modules (torch) get servers of their own rather than being loaded into the one
    every student's sandbox comes from: a process holding torch maps hundreds of megabytes,
    and each of the dozens of forks per student (the sandbox's init, supervisor, loader, a
    process per test, the reapers) copies its page tables and, on exit, unmaps them again:
    measured here, a fork and exit of a process holding NumPy 0.9 ms of CPU, of one holding
    torch as well 7.3 ms."""

    enabled = False
    #: (released folder, heavy modules) -> its fork server
    running: dict = {}
    #: ((released folder, heavy modules), server): a server this process started for the
    #: next process it forks (:meth:`park`), which adopts it; None once handed over
    parked: tuple | None = None

    @classmethod
    def get(cls, assignment_dir: str | None, heavy: tuple = ()) -> Zygote | None:
        if not cls.enabled:
            return None
        key = (assignment_dir, heavy)
        server = cls.running.get(key)
        if server is None or not server.alive():
            try:
                server = cls.running[key] = Zygote(assignment_dir)
            except ZygoteError:
                return None
            server.load(list(heavy))  # (imported before its first fork)
        return server

    @classmethod
    def park(cls, assignment_dir: str, heavy: tuple) -> Zygote | None:
        """Start a fork server for ``assignment_dir`` that loads ``heavy`` (torch: seconds of
        import) now, for a process this one forks later: the batch's driver starts the one its
        students need while it is still importing nbgrader, on the core its start leaves idle.
        The next process forked adopts it (:meth:`adopt`); this one then lets go of its copy
        (:meth:`disown`) and, being the server's parent, reaps it at the end (``end()``)."""
        try:
            server = Zygote(assignment_dir)
        except ZygoteError:
            return None
        server.load(list(heavy))
        cls.parked = ((assignment_dir, tuple(heavy)), server)
        return server

    @classmethod
    def adopt(cls, assignment_dir: str | None) -> bool:
        """In the forked process the parked server was started for: keep it as one of this
        process's servers when it is alive and was started for the same released folder
        (compared by real path; other servers are unaffected), else let go of it."""
        parked, cls.parked = cls.parked, None
        if parked is None:
            return False
        (folder, heavy), server = parked
        same = assignment_dir is not None and os.path.realpath(folder) == os.path.realpath(assignment_dir)
        key = (assignment_dir, heavy)
        if cls.enabled and same and key not in cls.running and server.alive():
            cls.running[key] = server
            return True
        server.let_go()
        return False

    @classmethod
    def disown(cls) -> None:
        """Let go of this process's copy of a parked server (handed to a forked process)."""
        parked, cls.parked = cls.parked, None
        if parked is not None:
            parked[1].let_go()

    @staticmethod
    def heavy(mode: str, job: dict) -> tuple:
        """The modules of the job's prewarm list its student's cells mention (top-level names
        only) and the modules its kind always imports (``preload``, e.g. the render pass's
        matplotlib), sorted: the sandbox comes from a fork server that has loaded exactly those."""
        if mode != "bwrap":
            return ()
        prewarm = set(job.get("prewarm", []))
        return tuple(sorted(({m.split(".")[0] for m in mentioned(job)} & prewarm) | set(job.get("preload", []))))

    @classmethod
    def end_all(cls) -> None:
        running, cls.running = dict(cls.running), {}
        for server in running.values():
            server.end()


class Spare:
    """Keeps the next sandbox of this process started while the current student is graded
    (:func:`keep_warm`), so its start is off the student's path. Each student still gets a
    sandbox of their own that nothing ran in before.

    When a student's sandbox has returned its result, :meth:`release` ends it and starts the
    next one in a background thread, in that order (a fork server's sandboxes never overlap),
    while the worker judges and records the grades; its waits (the fork server's fork, the
    kernel's cgroup moves and removals, the uid's keyring clearing) then overlap that work.
    Every other method first waits for that thread (:meth:`settle`), and all of them are
    called under :data:`SANDBOX_LOCK` (or by :func:`keep_warm` and the process's end). The
    thread starts a sandbox only from a fork server (a cold start, which forks with a
    pre-exec hook, happens in :meth:`take` instead)."""

    started: Started | None = None
    enabled = False
    #: the thread ending the last sandbox and starting the next, while one runs
    pending: threading.Thread | None = None
    #: what that thread raised (re-raised by the next settle, so the next student sees it)
    failed: BaseException | None = None

    @classmethod
    def settle(cls) -> Started | None:
        """Wait until the last sandbox has ended and the next one is started (or not); the
        started one."""
        thread, cls.pending = cls.pending, None
        if thread is not None:
            thread.join()
        failed, cls.failed = cls.failed, None
        if failed is not None:
            raise failed
        return cls.started

    @classmethod
    def take(cls, key: tuple) -> Started:
        """A started sandbox for ``key`` = (released folder, mode, heavy modules): the one
        waiting when it matches, else a new one."""
        cls.settle()
        ready, cls.started = cls.started, None
        if ready is not None and ready.usable_for(key):
            return ready
        if ready is not None:
            ready.end()
        return Started(*key)

    @classmethod
    def release(cls, box: Started, key: tuple) -> None:
        """``box``'s student is done: end it and, when kept warm, start the next sandbox for
        ``key``, in the background (without :func:`keep_warm`: end it now)."""
        cls.settle()
        if not cls.enabled:
            box.end()
            return
        cls.pending = threading.Thread(target=cls._turn_over, args=(box, key), name="next sandbox", daemon=True)
        cls.pending.start()

    @classmethod
    def ahead(cls, key: tuple) -> None:
        """When kept warm and no sandbox waits: start one for ``key`` in the background (a
        grading process's first, with its fork server, while its first student is read)."""
        cls.settle()
        if cls.enabled and cls.started is None:
            cls.pending = threading.Thread(target=cls._turn_over, args=(None, key), name="next sandbox", daemon=True)
            cls.pending.start()

    @classmethod
    def _turn_over(cls, box: Started | None, key: tuple) -> None:
        try:
            if box is not None:
                box.end()
            if cls.started is None:
                cls.started = Started(*key, cold=False)
        except ZygoteError:
            pass  # no fork server now: the next take() starts one (cold if need be)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the next settle()
            cls.failed = exc

    @classmethod
    def discard(cls) -> None:
        cls.settle()
        ready, cls.started = cls.started, None
        if ready is not None:
            ready.end()


def keep_warm(on: bool = True) -> None:
    """Give this process's sandboxes from a fork server, and start each one ahead of its job
    (the batch's workers do); the waiting sandbox and the servers end when the process exits
    (or at ``keep_warm(False)``). No effect when :data:`WARM` is off."""
    on = on and WARM
    if on == Spare.enabled:
        return
    Spare.enabled = Servers.enabled = on
    if not on:
        _end_warm()
        return
    import atexit
    from multiprocessing import util

    atexit.register(_end_warm)  # a plain process
    util.Finalize(Spare, _end_warm, exitpriority=10)  # a multiprocessing worker


def start_ahead(assignment_dir: str | None, mode: str) -> None:
    """Start this process's next sandbox for ``assignment_dir`` now, in the background (see
    :meth:`Spare.ahead`; nothing without :func:`keep_warm`)."""
    with SANDBOX_LOCK:
        Spare.ahead((assignment_dir, mode, ()))


def _end_warm() -> None:
    Spare.discard()
    Servers.disown()
    Servers.end_all()
