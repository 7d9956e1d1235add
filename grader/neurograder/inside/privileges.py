"""Who runs what inside the sandbox: the private uid, its resource limits, and the reaping of
everything that uid started."""

import ctypes
import gc
import os
import resource
import select
import signal
import time

#: keyctl(2): its syscall number here and the operation that joins a new session keyring
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)
KEYCTL_JOIN_SESSION_KEYRING = 1


def new_session_keyring():
    """Join a new anonymous session keyring; its serial number (negative on failure)."""
    if SYS_KEYCTL is None:
        return -1
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(SYS_KEYCTL, ctypes.c_int(KEYCTL_JOIN_SESSION_KEYRING), ctypes.c_char_p(None))


def drop_privileges(uid):
    """Become ``uid`` (no groups) for good: no setuid binary can give privileges back."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    try:  # PR_SET_NO_NEW_PRIVS = 38
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0)
    except Exception:
        pass


def set_limits(job, cpu):
    """CPU seconds, address space (on top of what the forked supervisor maps), processes,
    file size, open files, no core dumps."""
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    with open("/proc/self/statm") as fh:
        vm_now = int(fh.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (vm_now + job["mem_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (job["nproc"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (job["fsize_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def check_limits(job):
    """A check child gets its own CPU allowance (its CPU clock starts at zero)."""
    cpu = int(job["cpu"])
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    hard = cpu + 1 if hard == resource.RLIM_INFINITY else min(hard, cpu + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (min(cpu, hard), hard))


def _kill_all_of_my_uid():
    for _ in range(3):
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            break


def fork_frozen(thaw_parent=False):
    """``os.fork()`` with every object of this process moved to the garbage collector's
    permanent generation first (``gc.freeze()``, constant time): the child's collections then
    neither walk the heap it inherited (NumPy's, torch's, the runner's) nor, by writing to
    those objects' headers, copy its pages. ``thaw_parent``: the parent hands its objects
    back to the collector after the fork (``gc.unfreeze()``): a process that goes on running
    student code, whose garbage must stay collectable. Without it the parent's objects stay
    frozen, which suits a trusted process that only forks and waits."""
    gc.freeze()
    try:
        pid = os.fork()
    except BaseException:
        if thaw_parent:
            gc.unfreeze()
        raise
    if pid and thaw_parent:
        gc.unfreeze()
    return pid


def reap(uid):
    """SIGKILL every process of ``uid`` (the reaper is that uid, so kill(-1) reaches exactly
    those: the loader, its checks and anything they spawned, detached or not). Needs a process
    of its own: the caller keeps its rights, and kill(-1) as ``uid`` is what reaches exactly
    that uid's processes, including those forked while it runs."""
    pid = fork_frozen()
    if pid == 0:
        try:
            drop_privileges(uid)
            _kill_all_of_my_uid()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


#: longest wait for a killed loader to end before the next reaping pass: on its pidfd (woken
#: by its end, which a SIGKILL makes certain), or, without one, a pause between passes
REAP_EVENT_S = 1.0
REAP_PAUSE_S = 0.01


def reap_until_gone(uid, pid, tries=100, pidfd=None):
    """:func:`reap` until the loader ``pid`` (a child of the caller) has ended, then collect
    it: a process of ``uid`` that a reaping pass missed (one forked while it ran) is caught
    by the next, so the supervisor never waits on a loader that is still running. With the
    loader's ``pidfd`` each pass waits for its end as an event (readable when it exits)."""
    for _ in range(tries):
        reap(uid)
        if pidfd is not None:
            select.select([pidfd], [], [], REAP_EVENT_S)
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        if pidfd is None:
            time.sleep(REAP_PAUSE_S)
    os.kill(pid, signal.SIGKILL)  # (the supervisor may signal its own child directly)
    os.waitpid(pid, 0)


def become_student(job, close_fds):
    """In a freshly forked loader: shed the supervisor's fds and rights, enter limits."""
    for fd in close_fds:
        os.close(fd)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    drop_privileges(job["uid"])
    workdir = "/tmp/work-%d" % os.getpid()
    os.mkdir(workdir, 0o700)
    os.chdir(workdir)
    # the loader's CPU clock runs across all cells: the per-student budget bounds it
    set_limits(job, int(job["budget"]) + 1)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def exit_text(wstatus):
    """How a child ended, in words."""
    if os.WIFSIGNALED(wstatus):
        return "was killed by signal %d" % os.WTERMSIG(wstatus)
    return "exited with status %d" % os.WEXITSTATUS(wstatus)


def kill_others():
    """SIGKILL every process of this uid except the loader itself (what cells or the last
    check left running, detached or not), so a check starts and ends alone."""
    _kill_all_of_my_uid()
    while True:  # reap the loader's own killed children (zombies still count for NPROC)
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue


#: how long a check's start may wait for the processes the last check left to be gone: killed,
#: they still count against RLIMIT_NPROC until their new parent (the sandbox's init) has
#: collected them, which lags on a loaded machine
FORK_ROOM_S = 2.0


def _fork_thawed():
    return fork_frozen(thaw_parent=True)


def fork_when_possible(make_room, within=FORK_ROOM_S, fork=_fork_thawed):
    """``fork()``, retried while it fails for want of processes (EAGAIN), calling
    ``make_room()`` (kill what is left) before each retry, for at most ``within`` seconds."""
    deadline = time.monotonic() + within
    delay = 0.005
    while True:
        try:
            return fork()
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            make_room()
            time.sleep(delay)  # (the killed processes end and are collected meanwhile)
            delay = min(2 * delay, 0.1)


def fork_and_wait(body):
    """Run ``body()`` in a child of the loader, alone; wait for it; kill whatever it left
    running. Returns the child's exit description. A process per test: what the test's
    calls do to the student's objects, and a crash, an exit or a limit it hits, end with it,
    so every test sees the notebook's state at its own position and costs only itself."""
    kill_others()
    try:
        pid = fork_when_possible(kill_others)
    except OSError as exc:
        return "could not be started (%s)" % exc
    if pid == 0:
        try:
            body()
        finally:
            os._exit(70)
    while True:
        try:
            _, wstatus = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:  # a cell's SIGCHLD handler reaped it first
            wstatus = 0
            break
    kill_others()
    return exit_text(wstatus)
