"""The grader's side of the warm sandbox (:mod:`neurograder.inside.fork_server`).

One fork server per grading process and released folder: bubblewrap starts it once, with the
same command line as any sandbox plus CAP_SYS_ADMIN/CAP_SETPCAP (which each student's side
drops before anything of the student exists), and it loads NumPy and the runner's modules.
:meth:`Zygote.fork` then gives one student a sandbox of its own in milliseconds instead of
an interpreter start and an import: the grader takes the student's uid slot and cgroup as for
a cold sandbox, hands the server four fresh descriptors, learns the new sandbox's pid from
the kernel (SCM_CREDENTIALS), moves it into the cgroup and lets it go. The server never sees
a job, a result or student code.

:class:`Warm` stands for the forked sandbox where :mod:`neurograder.pipes` expects a
``Popen``: its stdin is the job pipe, its stderr the error pipe, and it ends (``poll``,
``wait``) when its PID namespace's init does.

Anything unexpected (the server died, a start took over :data:`START_S`) raises
:class:`ZygoteError`; the caller grades that student in a cold sandbox instead and the next
student gets a new server.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import subprocess

from . import inside

#: the descriptor on which a forked sandbox's supervisor writes its result (``job["result_fd"]``)
RESULT_FD = 3

#: seconds a forked sandbox may take to report (a fork and four mounts: milliseconds), and
#: on top of it after a load request (the server imports first: torch takes seconds)
START_S = 10.0
LOAD_S = 120.0
#: capabilities the server keeps besides CAP_SETUID/CAP_SETGID, for the namespaces, mounts and
#: capability drop of each student's side
SERVER_CAPS = ("CAP_SYS_ADMIN", "CAP_SETPCAP")
_UCRED = struct.Struct("iII")  # pid, uid, gid


class ZygoteError(RuntimeError):
    """The warm sandbox could not start a student's sandbox."""


class Warm:
    """A student's sandbox forked by the server, as a ``Popen`` for :mod:`neurograder.pipes`."""

    def __init__(self, pid: int, job_w: int, err_r: int):
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.stdin = open(job_w, "wb", buffering=0)
        self.stderr = open(err_r, "rb", buffering=0)
        self.returncode = None  # its exit status goes to the server's init: "?" once ended

    def poll(self):
        if self.returncode is None and select.select([self.pidfd], [], [], 0)[0]:
            self.returncode = "?"
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            if not select.select([self.pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired("warm sandbox", timeout)
            self.returncode = "?"
        return self.returncode

    def close(self) -> None:
        os.close(self.pidfd)


class Zygote:
    """A fork server for sandboxes with ``assignment_dir`` bound in."""

    def __init__(self, assignment_dir: str | None):
        from .launch import SHM_MB, TMP_MB, _ro_paths, bwrap_command, python_executable

        self.loaded: set[str] = set()
        self.loading = False  # a load request went out since the last fork
        self.ctl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # not --die-with-parent (bubblewrap's signal follows the thread that started it): the
        # server ends when its socket closes, i.e. when the last of this process ends
        cmd = bwrap_command(assignment_dir, extra_caps=SERVER_CAPS, die_with_parent=False)
        cmd += [python_executable(), "-I", "-c", inside.BOOT.read_text()]
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
            start_new_session=True,
            cwd="/",
        )
        # whether it still runs, for this process and for a forked one that adopts it (which
        # is not its parent: Popen.poll cannot tell there)
        self.pidfd = os.pidfd_open(self.proc.pid)
        boot = {
            "modules": inside.modules(),
            "entry": "neurograder.inside.fork_server",
            "ctl_fd": theirs.fileno(),
            "tmp_mb": TMP_MB,
            "shm_mb": SHM_MB,
            "result_fd": RESULT_FD,
            "rebind": [p for p in _ro_paths() if p.startswith("/tmp/") and os.path.isdir(p)],
        }
        theirs.close()
        try:
            self.proc.stdin.write(json.dumps(boot).encode())
            self.proc.stdin.close()
        except OSError as exc:
            self.end()
            raise ZygoteError(f"the fork server did not start: {exc}") from exc

    def load(self, names: list[str]) -> bool:
        """Have the server import these top-level modules (trusted, from the venv) once, for
        the sandboxes it forks from now on; whether any was new to it."""
        todo = sorted(set(names) - self.loaded)
        if todo:
            self.loaded.update(todo)
            self.loading = True
            try:
                self.ctl.send(b"load " + json.dumps(todo).encode())
            except OSError:
                pass  # a dead server is replaced at the next fork
        return bool(todo)

    def alive(self) -> bool:
        return self.pidfd >= 0 and not select.select([self.pidfd], [], [], 0)[0]

    def fork(self, cgroup) -> tuple[Warm, int]:
        """A new student's sandbox, moved into ``cgroup``: (the process, the result pipe's
        read end). Its job (with ``result_fd`` = :data:`RESULT_FD`) goes to ``proc.stdin``."""
        job_r, job_w = os.pipe()
        rfd, wfd = os.pipe()
        err_r, err_w = os.pipe()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        mine.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        warm = None
        try:
            try:
                socket.send_fds(self.ctl, [b"fork"], [job_r, wfd, err_w, theirs.fileno()])
            finally:
                for fd in (job_r, wfd, err_w):
                    os.close(fd)
                theirs.close()
            mine.settimeout(START_S + (LOAD_S if self.loading else 0.0))
            self.loading = False
            msg, ancdata, _, _ = mine.recvmsg(16, socket.CMSG_SPACE(_UCRED.size))
            pid = next(
                (_UCRED.unpack(d[: _UCRED.size])[0] for lvl, typ, d in ancdata if typ == socket.SCM_CREDENTIALS), 0
            )
            if msg != b"ready" or pid <= 0:
                raise ZygoteError("the fork server's sandbox did not start: " + _read_some(err_r))
            cgroup.enter(pid)
            warm = Warm(pid, job_w, err_r)  # (needs pidfd_open: Linux 5.3)
            mine.sendall(b"go")
        except (OSError, ZygoteError) as exc:
            if warm is not None:  # it owns job_w and err_r now
                warm.stdin.close()
                warm.stderr.close()
                warm.close()
                os.close(rfd)
            else:
                for fd in (job_w, rfd, err_r):
                    os.close(fd)
            self.end()  # (and with it the sandbox it had forked)
            raise exc if isinstance(exc, ZygoteError) else ZygoteError(f"warm sandbox: {exc}") from exc
        finally:
            mine.close()
        return warm, rfd

    def let_go(self) -> None:
        """Close this process's end of the server's socket and leave the server to the
        process that still holds it (a forked copy of this object): the server ends when the
        last copy of its socket closes."""
        self.ctl.close()
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1

    def end(self) -> None:
        """Stop the server (the sandboxes it forked have ended or are ended by their owners)
        and reap it when this process is its parent."""
        self.ctl.close()
        if self.pidfd < 0 or self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.pidfd >= 0:
            select.select([self.pidfd], [], [], 10)  # (its end, whoever its parent is)
            os.close(self.pidfd)
            self.pidfd = -1
        try:
            self.proc.wait(timeout=10)  # (returns at once where it is not this process's child)
        except subprocess.TimeoutExpired:
            pass


def _read_some(fd: int) -> str:
    if select.select([fd], [], [], 1.0)[0]:
        return os.read(fd, 2000).decode(errors="replace")
    return "(no message)"


__all__ = ["RESULT_FD", "START_S", "Warm", "Zygote", "ZygoteError"]
