"""Is each sandbox bounded as a whole, and does nothing carry over to the next one?

Every test runs real sandboxes (neurograder.sandbox.run_job through the probe helper of
test_grader_sandbox) and measures from the outside (waitpid statuses, CPU seconds against
wall seconds, the cgroup's own peak counter) or from a second sandbox. Each test runs with
sandboxes started cold and forked warm (the ``start`` fixture of test_grader_sandbox).
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_grader_sandbox import probe, start  # noqa: E402, F401  (start: cold and warm)

from neurograder import bounds, sandbox  # noqa: E402

LONG = sandbox.Limits(timeout=30, cpu=20)


def _recorded_cgroups(monkeypatch) -> list:
    """Every SandboxCgroup closed from now on (to read its peak memory and throttling)."""
    closed = []
    close = bounds.SandboxCgroup.close

    def recording_close(self):
        close(self)
        closed.append(self)

    monkeypatch.setattr(bounds.SandboxCgroup, "close", recording_close)
    return closed


def test_a_cgroup_is_in_force_here():
    """This machine has writable cgroup controllers, so the whole-sandbox bounds are on."""
    assert bounds.cgroup_mode() in ("v1", "v2")


@pytest.mark.timeout(300)
def test_forked_children_share_one_memory_bound(monkeypatch):
    """7 forked children x 800 MB (each under the per-process limit): together they may not
    exceed the sandbox's memory; the kernel kills some, and the sandbox's peak stays under
    SANDBOX_MEMORY_MB (read from its cgroup)."""
    closed = _recorded_cgroups(monkeypatch)
    code = """
import os
kids = []
for k in range(7):
    pid = os.fork()
    if pid == 0:
        b = bytearray(800 * 2**20)
        for i in range(0, len(b), 4096):
            b[i] = 1
        os._exit(0)
    kids.append(pid)
probe = [float(os.waitpid(pid, 0)[1]) for pid in kids]
"""
    statuses = probe(code, limits=LONG)
    peaks = [c.peak_bytes for c in closed]
    assert 9.0 in statuses, statuses  # SIGKILL by the cgroup's OOM killer
    assert peaks and 0 < max(peaks) <= bounds.SANDBOX_MEMORY_MB * 2**20


@pytest.mark.timeout(300)
def test_busy_processes_get_at_most_the_sandbox_cpu(monkeypatch):
    """8 busy processes for 3 s of wall time use at most the sandbox's CPU quota between
    them (CPU seconds of the children over wall seconds, measured inside), and the quota is
    what held them back (the sandbox's cgroup counts throttled periods). The quota is set to
    0.2 cores here, below what a loaded shared machine still gives 8 processes."""
    monkeypatch.setattr(bounds, "SANDBOX_CPUS", 0.2)
    closed = _recorded_cgroups(monkeypatch)
    code = """
import os, resource, time
start = time.monotonic()
kids = []
for k in range(8):
    pid = os.fork()
    if pid == 0:
        while time.monotonic() - start < 3.0:
            pass
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
wall = time.monotonic() - start
use = resource.getrusage(resource.RUSAGE_CHILDREN)
probe = [(use.ru_utime + use.ru_stime) / wall]
"""
    (cores,) = probe(code, limits=LONG)
    assert cores <= 0.2 * 1.5, cores
    assert closed and closed[0].throttled > 0


@pytest.mark.timeout(300)
def test_tmp_and_shm_are_size_capped():
    """Files of 15 MB (under the file-size limit) fill /tmp and /dev/shm only up to their
    caps: the written megabytes are counted inside."""
    code = """
def fill(folder):
    total = 0
    for k in range(40):
        try:
            with open(f'{folder}/f{k}', 'wb') as fh:
                for j in range(15):
                    fh.write(b'x' * 2**20)
                    total += 1
        except OSError:
            return float(total)
    return float(total)
probe = [fill('/tmp'), fill('/dev/shm')]
"""
    tmp_mb, shm_mb = probe(code, limits=LONG)
    assert tmp_mb <= sandbox.TMP_MB and shm_mb <= sandbox.SHM_MB, (tmp_mb, shm_mb)
    assert tmp_mb >= sandbox.TMP_MB - 15  # the cap, not another limit, stopped it


# ------------------------------------------------------------------------------ no carry-over
KEY_CODE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
ADD_KEY, KEYCTL, SEARCH = 248, 250, 10
found = []
for ring in (-3, -4):        # session keyring, user keyring
    if {write}:
        libc.syscall(ADD_KEY, b"user", b"neurograder-note", b"answers", 7, ring)
    found.append(float(libc.syscall(KEYCTL, SEARCH, ring, b"user", b"neurograder-note", 0) > 0))
probe = found + [float(os.getuid())]
"""


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers of x86_64")
@pytest.mark.timeout(300)
def test_a_keyring_note_never_reaches_the_next_sandbox():
    """A note one sandbox adds to its session and user keyrings is found there, and not by
    the next sandbox, which also runs under another uid."""
    first = probe(KEY_CODE.format(write=True))
    second = probe(KEY_CODE.format(write=False))
    assert first[:2] == [1.0, 1.0], first  # the note was really written
    assert second[:2] == [0.0, 0.0], second
    assert first[2] != second[2]


@pytest.mark.timeout(60)
def test_uids_rotate_across_sandboxes():
    """Successive slots never repeat the previous uid, even when the previous is free."""
    seen = []
    for _ in range(4):
        with sandbox.UidSlot() as slot:
            seen.append(slot.uid)
    assert all(a != b for a, b in zip(seen, seen[1:])), seen


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers of x86_64")
@pytest.mark.timeout(60)
def test_clear_user_keyrings_empties_the_uid_keyring():
    """A key added to a uid's user keyring is gone after clear_user_keyrings(uid)."""
    uid = sandbox.UID_BASE + sandbox.UID_SLOTS + 7  # outside the sandbox range
    libc = ctypes.CDLL(None, use_errno=True)

    def as_uid(add: bool) -> int:
        pid = os.fork()
        if pid == 0:
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            if add:
                libc.syscall(248, b"user", b"neurograder-note", b"x", 1, -4)
            os._exit(int(libc.syscall(250, 10, -4, b"user", b"neurograder-note", 0) > 0))
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    assert as_uid(True) == 1
    assert bounds.clear_user_keyrings(uid)
    assert as_uid(False) == 0


@pytest.mark.timeout(60)
def test_no_cgroup_is_left_behind(monkeypatch):
    """After a sandbox ends its cgroup directories are gone (no process left inside). Only
    this test's own sandbox is looked at: sandboxes of tests running in parallel come and go
    below the same parent cgroup meanwhile."""
    made = []
    create = bounds.SandboxCgroup.create

    def recording_create(self):
        create(self)
        made.extend(self.dirs)
        return self

    monkeypatch.setattr(bounds.SandboxCgroup, "create", recording_create)
    probe("probe = 1.0")
    assert made, "the sandbox made no cgroup"
    assert all(d.parent in _cgroup_bases() and d.name.startswith("neurograder-") for d in made)
    assert [d for d in made if d.exists()] == []


def _cgroup_bases():
    return [b for b in list((bounds._v1_bases() or {}).values()) + [bounds._v2_base()] if b]


@pytest.mark.timeout(60)
def test_fallback_temp_files_of_a_uid_are_removed(tmp_path):
    """remove_files_of: only the given uid's entries go; links are removed, not followed."""
    uid = sandbox.UID_BASE + sandbox.UID_SLOTS + 8
    mine, theirs, target = tmp_path / "mine", tmp_path / "theirs", tmp_path / "target"
    mine.mkdir()
    (mine / "f").write_text("x")
    theirs.write_text("keep")
    target.write_text("keep")
    link = tmp_path / "link"
    link.symlink_to(target)
    for p in (mine, mine / "f"):
        os.chown(p, uid, uid)
    os.lchown(link, uid, uid)
    sandbox.remove_files_of(uid, dirs=[str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target", "theirs"]
    assert target.read_text() == "keep"
