"""The warm sandbox: one long-lived process per grading worker that has NumPy (with the
submodules NumPy itself loads lazily that sandboxes use, :data:`NUMPY_LAZY`) and the runner's
modules loaded and forks each student's sandbox from there.

Bubblewrap starts it like any sandbox (same binds, namespaces and environment), keeping
CAP_SYS_ADMIN and CAP_SETPCAP besides CAP_SETUID/CAP_SETGID for the set-up below. It never
reads a job or any student data: per student, the grader sends it only four fresh descriptors
(job in, result out, errors out, a credentials socket) and a forked child does the rest:

(The grader may also ask it to import heavy modules of the course's prewarm list, such as
torch: it keeps a server of their own for the students whose code mentions them, and the
sandboxes that server forks have them loaded.)

1. leaves the server's namespaces: new PID, mount and IPC namespaces (the network namespace,
   loopback only, and the host name stay the server's: its owner never has two of its
   sandboxes alive at once), a new session and session keyring, fresh tmpfs ``/tmp`` and
   ``/dev/shm`` (paths of the venv that lie under ``/tmp`` bound again, read-only), a
   ``/proc`` of its own PID namespace;
2. sends one message on the credentials socket (the kernel stamps it with the child's pid as
   the grader sees it) and waits until the grader has moved it into the student's cgroup;
3. keeps only CAP_SETUID/CAP_SETGID (bounding, effective and permitted sets), as a sandbox
   bubblewrap starts directly does, and forks the supervisor, which re-seeds the random
   generators, reads its job on stdin and runs the same ``main(job, started)``.

The child stays as the PID namespace's init, with no capability left: it only reaps, and
ends when the supervisor does; killing it ends every process of the student.

Boot message (JSON on stdin, read by boot.py): ``modules``, ``entry`` (this module),
``ctl_fd`` (the grader's socket), ``tmp_mb``/``shm_mb`` (tmpfs sizes), ``rebind`` (read-only
paths under ``/tmp`` to bind again), ``result_fd`` (where the supervisor finds its result pipe).
"""

import ctypes
import json
import os
import random
import socket
import sys
import time

from .privileges import fork_frozen, new_session_keyring

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID = 0x00020000, 0x08000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_CAPBSET_DROP = 24
CAP_SETGID, CAP_SETUID = 6, 7
CAPABILITY_V3 = 0x20080522
_libc = ctypes.CDLL(None, use_errno=True)


def _ok(rc, what):
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def _mount(source, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _ok(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), "mount " + target)


def fresh_filesystems(boot):
    """Private mounts from here on; new /tmp and /dev/shm; the venv under /tmp bound again;
    this PID namespace's /proc."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    keep = [(p, os.open(p, os.O_PATH)) for p in boot.get("rebind", [])]
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=%d,mode=1777" % (boot["tmp_mb"] << 20))
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=%d,mode=1777" % (boot["shm_mb"] << 20))
    for path, fd in keep:
        os.makedirs(path, mode=0o755, exist_ok=True)
        _mount("/proc/self/fd/%d" % fd, path, None, MS_BIND | MS_REC)
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        os.close(fd)
    os.chmod("/tmp", 0o1777)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir("/tmp")


def _capset(keep):
    header = (ctypes.c_uint32 * 2)(CAPABILITY_V3, 0)
    data = (ctypes.c_uint32 * 6)(keep, keep, 0, 0, 0, 0)  # effective, permitted, inheritable x2
    _ok(_libc.capset(header, data), "capset")


def keep_only_setuid_capabilities():
    """Drop every capability but CAP_SETUID/CAP_SETGID, from the bounding set too."""
    with open("/proc/sys/kernel/cap_last_cap") as fh:
        last = int(fh.read())
    for cap in range(last + 1):
        if cap not in (CAP_SETGID, CAP_SETUID):
            _ok(_libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "drop capability %d" % cap)
    _capset((1 << CAP_SETGID) | (1 << CAP_SETUID))


def _init(supervisor):
    """PID 1 of the student's namespace: reap everything until the supervisor has ended."""
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if pid == supervisor:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _supervisor(installed):
    """Fresh random state (the server's was copied), then the job as in a cold sandbox: the
    modules it carries that differ from the server's ``installed`` ones (a pass of another
    kind ships its own) put in place by boot.py's ``install``, and its entry's ``main``."""
    random.seed()
    import numpy

    numpy.random.seed()
    data = sys.stdin.buffer.read()
    started = time.monotonic()
    job = json.loads(data)
    sys.modules["__main__"].install([m for m in job.pop("modules", []) if installed.get(m[0], 0) != m[1]])
    sys.modules[job.pop("entry", "neurograder.inside.main")].main(job, started)


def student(boot, fds, installed):
    """(In a child of the server) the student's sandbox; never returns."""
    job_r, result_w, err_w, cred = fds
    _ok(_libc.unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC), "unshare")
    if os.fork():  # the next child is PID 1 of the new namespace (unshare moves only children)
        os._exit(0)
    os.setsid()
    fresh_filesystems(boot)
    _ok(new_session_keyring(), "new session keyring")
    cred_sock = socket.socket(fileno=cred)
    cred_sock.sendall(b"ready")  # stamped with our pid by the kernel
    if cred_sock.recv(16) != b"go":  # the grader moved us into the student's cgroup
        os._exit(71)
    cred_sock.close()
    keep_only_setuid_capabilities()
    devnull = os.open("/dev/null", os.O_WRONLY)
    result_fd = boot["result_fd"]  # the supervisor's descriptors: job, /dev/null, errors, result
    for fd, target in ((job_r, 0), (devnull, 1), (err_w, 2), (result_w, result_fd)):
        os.dup2(fd, target)
    os.closerange(result_fd + 1, 1 << 16)
    # the supervisor under an init of its own: when it ends, PID 1 does, and the kernel
    # kills every process left in the namespace (a student's detached ones too)
    pid = fork_frozen()
    if pid == 0:
        try:
            _supervisor(installed)
        finally:
            os._exit(0)
    for fd in (0, 1, 2, result_fd):
        os.close(fd)
    _capset(0)  # the init only reaps
    _init(pid)


def load(names):
    """Import modules (heavy ones the grader sends, from the course's prewarm list, and
    :data:`NUMPY_LAZY`) once here, so the sandboxes forked after have them."""
    for name in names:
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - a sandbox then imports it itself, as a cold one does
            pass


#: NumPy's submodules that ``import numpy`` leaves to the first use of ``numpy.<name>``, imported
#: here once: every sandbox's supervisor re-seeds ``numpy.random`` (its import took ~13 ms of
#: CPU in each sandbox: eleven extension modules, OpenSSL through ``secrets``) and about half
#: the sandboxes' checks reach ``numpy.ma`` (~10 ms)
NUMPY_LAZY = ("numpy.random", "numpy.ma")


def main(boot, started):
    """Fork a student's sandbox for each ``fork`` request on the grader's socket, load the
    modules of each ``load`` request, until the socket closes."""
    os.close(0)
    os.open("/dev/null", os.O_RDONLY)
    load(NUMPY_LAZY)
    ctl = socket.socket(fileno=boot["ctl_fd"])
    installed = dict(sys.modules["__main__"].installed)  # boot.py's record of its modules
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 4096, 4)
        except OSError:
            break
        if msg.startswith(b"load ") and not fds:
            load(json.loads(msg[5:]))
            continue
        if msg != b"fork" or len(fds) != 4:
            for fd in fds:
                os.close(fd)
            break
        # a child per student: it leaves the server's namespaces for new ones, which a
        # process can do only for itself (and a PID namespace only for its children)
        pid = fork_frozen()
        if pid == 0:
            try:
                ctl.close()
                student(boot, fds, installed)
            except BaseException as exc:  # noqa: BLE001 - told to the grader, which starts it cold
                os.write(fds[2], ("warm sandbox: %s: %s" % (type(exc).__name__, exc)).encode()[:2000])
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        os.waitpid(pid, 0)  # it forks the namespace's init and ends at once
    os._exit(0)
