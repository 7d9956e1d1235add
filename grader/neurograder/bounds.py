"""Bounds of one sandbox as a whole (all its processes together), and what it leaves behind.

* :class:`SandboxCgroup`: a fresh cgroup per sandbox, created *below the grader's own*
  cgroup (so every limit above it still applies), entered by the sandbox's first process
  before it execs, so everything the sandbox ever forks is inside. It caps memory (RAM and
  swap, tmpfs pages included) for the whole sandbox, the number of its processes/threads,
  and its CPU to SANDBOX_CPUS cores. cgroup v2 is used when the grader's cgroup delegates
  the memory, pids and cpu controllers; otherwise cgroup v1 (memory, pids, cpu hierarchies
  mounted read-write under /sys/fs/cgroup). Without either (:func:`cgroup_mode` is "none")
  only the per-process rlimits of each check hold: :data:`FALLBACK_NOTE` says what that means.
* :func:`neurograder.inside.privileges.new_session_keyring`: the sandbox's first process
  joins a new anonymous session keyring, so nothing a student adds to ``@s`` is visible to
  the grader or to the next sandbox.
* :func:`clear_user_keyrings`: a private uid's user keyrings (``@u``, ``@us``) are emptied
  when its sandbox ends (they live in the kernel as long as the uid, not the process).
"""

from __future__ import annotations

import ctypes
import os
import signal
import uuid
from pathlib import Path

from .inside.privileges import SYS_KEYCTL, new_session_keyring

#: memory (RAM + swap, tmpfs pages included) of one whole sandbox: every process it runs
SANDBOX_MEMORY_MB = 1536
#: processes + threads of one whole sandbox (supervisor, checks and all they fork)
SANDBOX_PIDS = 128
#: CPU of one whole sandbox, in cores (CFS quota): 30 busy processes share this, not the host
SANDBOX_CPUS = 1.0
#: CFS period for the CPU quota (microseconds)
CPU_PERIOD_US = 100_000
#: where the cgroup hierarchies are mounted
CGROUP_ROOT = Path("/sys/fs/cgroup")
#: what holds when no cgroup can be made
FALLBACK_NOTE = (
    "no cgroup: memory, processes and CPU are bounded per check process only "
    "(RLIMIT_AS, RLIMIT_NPROC per uid, RLIMIT_CPU), not for the sandbox as a whole"
)

# keyctl(2) operations and special keyring ids (linux/keyctl.h; the syscall number and the
# join of a new session keyring: neurograder.inside.privileges, which the sandbox runs too)
_KEYCTL_CLEAR = 7
_KEY_SPEC_USER_KEYRING = -4
_KEY_SPEC_USER_SESSION_KEYRING = -5
_libc = ctypes.CDLL(None, use_errno=True)


def _keyctl(op: int, *args) -> int:
    if SYS_KEYCTL is None:
        return -1
    return _libc.syscall(SYS_KEYCTL, ctypes.c_int(op), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])


def clear_user_keyrings(uid: int) -> bool:
    """Empty ``uid``'s user and user-session keyrings (as that uid, in a short child)."""
    if SYS_KEYCTL is None or os.geteuid() != 0:
        return False
    pid = os.fork()
    if pid == 0:  # child: only syscalls, then _exit
        ok = 0
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for ring in (_KEY_SPEC_USER_KEYRING, _KEY_SPEC_USER_SESSION_KEYRING):
                ok |= _keyctl(_KEYCTL_CLEAR, ring) != 0
        finally:
            os._exit(ok)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


# ------------------------------------------------------------------------------ cgroups
def _own_cgroups() -> dict[str, str]:
    """controller (or '' for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    out = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            out[c] = path
    return out


def _v2_base() -> Path | None:
    """The grader's own cgroup v2 directory, if it delegates memory, pids and cpu."""
    own = _own_cgroups().get("")
    if own is None:
        return None
    for mount in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
        base = mount / own.lstrip("/")
        try:
            enabled = (base / "cgroup.subtree_control").read_text().split()
        except OSError:
            continue
        if {"memory", "pids", "cpu"} <= set(enabled) and os.access(base, os.W_OK):
            return base
    return None


def _v1_bases() -> dict[str, Path] | None:
    """controller -> the grader's own cgroup v1 directory, for memory, pids and cpu."""
    own = _own_cgroups()
    bases = {}
    for c in ("memory", "pids", "cpu"):
        if c not in own:
            return None
        base = CGROUP_ROOT / c / own[c].lstrip("/")
        if not (base / "cgroup.procs").exists() or not os.access(base, os.W_OK):
            return None
        bases[c] = base
    return bases


def cgroup_mode() -> str:
    """'v2', 'v1' or 'none': how each sandbox is bounded as a whole on this machine."""
    forced = os.environ.get("NEUROGRADER_CGROUP", "").strip().lower()
    if forced == "none":
        return "none"
    if _v2_base() is not None:
        return "v2"
    if _v1_bases() is not None:
        return "v1"
    return "none"


def _write(path: Path, value) -> None:
    path.write_text(str(value))


class SandboxCgroup:
    """One sandbox's cgroup: ``create()``, ``enter`` (as preexec_fn), ``close()``.

    After close: ``peak_bytes``, the most memory the whole sandbox held at once, and
    ``throttled``, how many CPU periods it was held back by its quota (0 if unknown).
    """

    def __init__(
        self, memory_mb: int | None = None, pids: int | None = None, cpus: float | None = None, mode: str | None = None
    ):
        self.memory = (memory_mb or SANDBOX_MEMORY_MB) * 2**20
        self.pids, self.cpus = pids or SANDBOX_PIDS, cpus or SANDBOX_CPUS
        self.mode = mode or cgroup_mode()
        self.dirs: list[Path] = []
        self.peak_bytes = self.throttled = 0

    def create(self) -> "SandboxCgroup":
        name = f"neurograder-{uuid.uuid4().hex[:12]}"
        quota = int(self.cpus * CPU_PERIOD_US)
        if self.mode == "v2":
            d = _v2_base() / name
            d.mkdir()
            self.dirs = [d]
            _write(d / "memory.max", self.memory)
            _write(d / "memory.swap.max", 0) if (d / "memory.swap.max").exists() else None
            _write(d / "pids.max", self.pids)
            _write(d / "cpu.max", f"{quota} {CPU_PERIOD_US}")
        elif self.mode == "v1":
            bases = _v1_bases()
            for c in ("memory", "pids", "cpu"):
                d = bases[c] / name
                d.mkdir()
                self.dirs.append(d)
            mem, pids, cpu = self.dirs
            _write(mem / "memory.limit_in_bytes", self.memory)
            if (mem / "memory.memsw.limit_in_bytes").exists():
                _write(mem / "memory.memsw.limit_in_bytes", self.memory)
            _write(pids / "pids.max", self.pids)
            _write(cpu / "cpu.cfs_period_us", CPU_PERIOD_US)
            _write(cpu / "cpu.cfs_quota_us", quota)
        return self

    def enter(self, pid: int | None = None) -> None:
        """Move process ``pid`` into the cgroup (default: the calling process, as the child
        before exec does)."""
        for d in self.dirs:
            with open(d / "cgroup.procs", "w") as fh:
                fh.write(str(pid or os.getpid()))

    def _pids(self) -> set[int]:
        found = set()
        for d in self.dirs:
            try:
                found |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return found

    def close(self) -> None:
        """Kill whatever is left inside, record the peak memory, remove the cgroup."""
        if not self.dirs:
            return
        for peak in ("memory.max_usage_in_bytes", "memory.peak"):
            try:
                self.peak_bytes = int((self.dirs[0] / peak).read_text())
                break
            except (OSError, ValueError):
                continue
        self.throttled = _cpu_throttled(self.dirs[-1])
        for _ in range(50):
            left = self._pids()
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            _wait_gone(left)
        for d in reversed(self.dirs):
            try:
                d.rmdir()
            except OSError:
                pass
        self.dirs = []

    def __enter__(self):
        return self.create()

    def __exit__(self, *exc):
        self.close()


def _cpu_throttled(d: Path) -> int:
    """Periods the cgroup was throttled by its CPU quota (cpu.stat, v1 and v2)."""
    try:
        stat = dict(line.split() for line in (d / "cpu.stat").read_text().splitlines())
        return int(stat.get("nr_throttled", 0))
    except (OSError, ValueError):
        return 0


def _wait_gone(pids: set[int], timeout: float = 1.0) -> None:
    """Wait until the killed ``pids`` have died: left /proc, or zombies (an orphan's zombie
    stays until init reaps it, which a container's init may never do)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError):
        return False


class SandboxBounds:
    """What the first process of a sandbox does before exec (``preexec``: a fresh session
    keyring, then into the per-sandbox cgroup), and the cgroup's removal after it."""

    def __init__(self, cgroup: SandboxCgroup | None = None):
        self.cgroup = cgroup if cgroup is not None else SandboxCgroup()

    def __enter__(self):
        self.cgroup.create()
        return self

    def preexec(self) -> None:
        new_session_keyring()
        self.cgroup.enter()

    def __exit__(self, *exc):
        self.cgroup.close()
