"""Kernels forked from a warm interpreter, for the plain-nbgrader oracle runs of honest notebooks.

A kernel started the usual way (``python -m ipykernel_launcher``) pays for an interpreter and
for ipykernel's imports, and then the notebook's first cell imports NumPy, matplotlib, h5py
and ipywidgets: together about a third of the CPU of grading one honest notebook with plain
``nbgrader autograde`` (measured on the correct corpus: 0.77x the CPU with forked kernels). :class:`ForkedKernelManager` (nbclient's ``kernel_manager_class``)
starts each kernel instead by forking a **kernel zygote**, a process of the same interpreter
that has imported all of those once (matplotlib with the run's ``MPLBACKEND``), so only the
kernel's own start-up and the notebook's work are paid per notebook.

The kernel runs the same ipykernel code, in a new session of its own, with the environment
and working folder jupyter_client would have given it; its connection file is the one
jupyter_client wrote. jupyter_client manages, in the kernel's place, a small **stand-in
process** (this file run as a script): it asks the zygote for the kernel, passes SIGINT and
SIGTERM on to the kernel's process group, and exits with the kernel's exit status; if it is
killed, the zygote kills the kernel's group. The zygote ends, killing any kernel still
running, when the process that started it ends or stops it (its stdin closes).

Only for notebooks whose code does not look at its own process: a kernel forked this way
has the zygote, not the grading process, as parent, and NumPy & co. already imported. So the
attack corpus' oracle runs keep real kernels (an attack that signals its parent must reach
nbgrader there); the correct corpus' oracle uses these (tests/test_grader_correct.py).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading

#: what the zygote imports once, before its first fork (the chapter notebook's imports)
WARM_IMPORTS = ("numpy", "matplotlib.pyplot", "h5py", "ipywidgets", "ipykernel.kernelapp")


def _send(sock: socket.socket, message: dict) -> None:
    sock.sendall(json.dumps(message).encode() + b"\n")


def _receive(sock: socket.socket) -> dict | None:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    return json.loads(data)


# ------------------------------------------------------------------------------ the zygote
def _kernel(request: dict) -> None:
    """(In the forked child) become the kernel jupyter_client asked for; never returns. As
    ``python -m ipykernel_launcher`` does, the script's folder leaves ``sys.path`` (the kernel
    puts its working folder there itself)."""
    try:
        os.setsid()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        del sys.path[0]
        from ipykernel import kernelapp

        sys.argv = ["ipykernel_launcher", "-f", request["connection_file"]]
        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - reported as the kernel's exit status
        code = 1
    os._exit(code)


def _watch(conn: socket.socket, pid: int) -> None:
    """Report the kernel's exit status to its stand-in; kill the kernel's process group if the
    stand-in goes away first (killed by jupyter_client)."""
    ended = threading.Event()

    def kill_when_closed():
        try:
            closed = conn.recv(1) == b""
        except OSError:
            closed = True
        if closed and not ended.is_set():
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

    threading.Thread(target=kill_when_closed, daemon=True).start()
    _, status = os.waitpid(pid, 0)
    ended.set()
    _LIVE.discard(pid)
    try:
        _send(conn, {"status": os.waitstatus_to_exitcode(status)})
    except OSError:
        pass
    conn.close()


#: (in the zygote) the kernels it forked that have not ended yet
_LIVE: set = set()


def _end_with_stdin() -> None:
    """Wait until the starting process closes the zygote's stdin (or ends); then kill the
    kernels still running and end."""
    sys.stdin.read()
    for pid in list(_LIVE):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    os._exit(0)


def zygote_main(path: str) -> None:
    """Import :data:`WARM_IMPORTS`, then fork a kernel (from this main thread) for each
    request on the unix socket ``path``, until stdin closes."""
    for name in WARM_IMPORTS:
        __import__(name)
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(16)
    threading.Thread(target=_end_with_stdin, daemon=True).start()
    print("ready", flush=True)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # (nobody reads the pipe after this line)
    while True:
        conn, _ = server.accept()
        request = _receive(conn)
        if request is None:
            conn.close()
            continue
        pid = os.fork()
        if pid == 0:
            server.close()
            conn.close()
            _kernel(request)
        _LIVE.add(pid)
        _send(conn, {"pid": pid})
        threading.Thread(target=_watch, args=(conn, pid), daemon=True).start()


# ------------------------------------------------------------------------------ the stand-in
def stand_in_main(path: str, connection_file: str) -> int:
    """Ask the zygote at ``path`` for a kernel; forward SIGINT/SIGTERM to it; its exit status."""
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(path)
    _send(sock, {"connection_file": connection_file, "cwd": os.getcwd(), "env": dict(os.environ)})
    pid = _receive(sock)["pid"]
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda s, _f: os.killpg(pid, s))
    reply = _receive(sock)
    return 1 if reply is None else int(reply["status"])


# ------------------------------------------------------------------------------ jupyter_client's side
class _Zygote:
    """This process's kernel zygote, started on first use."""

    lock = threading.Lock()
    proc: subprocess.Popen | None = None
    path: str | None = None

    @classmethod
    def socket_path(cls) -> str:
        with cls.lock:
            if cls.proc is None or cls.proc.poll() is not None:
                folder = tempfile.mkdtemp(prefix="kernel-zygote-")
                cls.path = os.path.join(folder, "socket")
                cls.proc = subprocess.Popen(
                    [sys.executable, __file__, "zygote", cls.path],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                if cls.proc.stdout.readline().strip() != "ready":
                    raise RuntimeError("the kernel zygote did not start")
                atexit.register(cls.stop)
            return cls.path

    @classmethod
    def stop(cls) -> None:
        """End the zygote (its stdin closes) and reap it, so its CPU (and that of the kernels
        it reaped) counts for this process."""
        proc, cls.proc = cls.proc, None
        if proc is not None:
            proc.stdin.close()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            shutil.rmtree(os.path.dirname(cls.path), ignore_errors=True)  # (its socket's folder)


def kernel_manager_class():
    """jupyter_client's AsyncKernelManager starting its kernel from this process's zygote."""
    from jupyter_client.manager import AsyncKernelManager

    class ForkedKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            connection_file = cmd[cmd.index("-f") + 1]
            return [sys.executable, "-S", __file__, "stand-in", _Zygote.socket_path(), connection_file]

    return ForkedKernelManager


#: appended to a course's nbgrader_config.py (after tests/kernels.py's ``PLAIN_WAITS_CFG``, which
#: puts this folder on ``sys.path``) for an oracle run whose kernels come from the zygote
FORKED_KERNELS_CFG = """
from forked_kernels import kernel_manager_class as _kernel_manager_class
c.Execute.kernel_manager_class = _kernel_manager_class()
"""


if __name__ == "__main__":
    if sys.argv[1] == "zygote":
        zygote_main(sys.argv[2])
    else:
        sys.exit(stand_in_main(sys.argv[2], sys.argv[3]))
