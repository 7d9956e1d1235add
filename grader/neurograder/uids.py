"""Private uids for sandboxed code, handed out in rotation, and what a uid leaves behind.

Part of the trusted side of the sandbox (:mod:`neurograder.sandbox` holds one
:class:`UidSlot` for the life of each sandbox).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path

from . import bounds

#: private uids for sandboxed code: UID_BASE + slot; no account on a normal system uses them.
UID_BASE = 3_100_000
UID_SLOTS = 512
LOCK_DIR = Path(tempfile.gettempdir()) / "neurograder-uids"


class UidSlot:
    """A private uid held for the life of one sandbox (flock on a per-slot file).

    Slots rotate: a shared counter (``LOCK_DIR/next``, under its own flock) hands out the
    first free slot after the last one handed out, so a sandbox never gets the uid of the
    sandbox before it, whether that ran in the same process, in a parallel worker or in an
    earlier command; a uid comes back only after UID_SLOTS - 1 other sandboxes. On release
    the uid's user keyrings are emptied and, with ``host_temp`` (the fallback shares the
    host's /tmp), its files in the host's temp folders are removed.
    """

    def __init__(self, host_temp: bool = True):
        # host_temp: the sandbox can write to the host's temp folders (fallback mode); under
        # bubblewrap nothing of the host is writable (its /tmp, /dev/shm are its own tmpfs)
        self.host_temp = host_temp
        LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
        with open(LOCK_DIR / "next", "a+") as counter:
            fcntl.flock(counter, fcntl.LOCK_EX)
            counter.seek(0)
            text = counter.read().strip()
            start = int(text) % UID_SLOTS if text.isdigit() else 0
            for k in range(UID_SLOTS):
                slot = (start + k) % UID_SLOTS
                fh = open(LOCK_DIR / f"{slot}.lock", "a")
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    fh.close()
                    continue
                counter.seek(0)
                counter.truncate()
                counter.write(str((slot + 1) % UID_SLOTS))
                self._fh, self.uid = fh, UID_BASE + slot
                return
        raise RuntimeError("no free sandbox uid slot")

    def release(self):
        try:
            bounds.clear_user_keyrings(self.uid)
            if self.host_temp:
                remove_files_of(self.uid)
        finally:
            self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


#: host temp folders cleared of a private uid's files when its sandbox ends (fallback mode
#: writes there; bubblewrap's /tmp and /dev/shm are private tmpfs that vanish with it)
HOST_TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")


def remove_files_of(uid: int, dirs=HOST_TEMP_DIRS) -> None:
    """Remove the top-level entries of ``dirs`` owned by ``uid`` (links are not followed)."""
    for d in dirs:
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass
