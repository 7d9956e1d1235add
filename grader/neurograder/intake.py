"""What a submission may hold before anything reads or copies it, and how its text is shown.

* :func:`refused_entries`: a submission folder is walked with ``lstat`` semantics (symlinks
  are never followed): every entry must be a regular file or a directory inside the student's
  own folder. A symlink (to a classmate's notebook, to ``/etc/shadow``), a FIFO, a device or a
  socket is named with a reason; the caller refuses the whole submission and copies nothing.
* :func:`guard_autograde`: the same check in ``nbgrader autograde``: nbgrader's
  ``Autograde.init_assignment`` (the step that copies the submission into ``autograded/``) is
  wrapped to raise first, so nbgrader reports that one student as failed, copies nothing and
  goes on with the others (and, in the grading workers, to make the student's and
  submission's rows in one gradebook transaction).
* :func:`printable`: student-controlled text (folder names, notebook fields, error messages)
  with every control character replaced, for the terminal and the report CSV.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: the most entries a submission folder may hold (a folder of 100,000 files is refused, not walked)
MAX_ENTRIES = 2000
#: replaces each non-printable character in shown text
REPLACEMENT = "?"


def printable(text, limit: int | None = None) -> str:
    """``text`` with every non-printable character (controls, escapes, bidi marks) replaced."""
    text = "".join(ch if ch.isprintable() else REPLACEMENT for ch in str(text))
    return text if limit is None or len(text) <= limit else text[:limit] + "..."


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def refused_entries(folder: Path, root: Path | None = None) -> list[str]:
    """Reasons to refuse ``folder`` (empty: every entry is a plain file or folder).

    ``root`` (e.g. ``submitted/``): every path component from it down to ``folder`` must be a
    real directory too, so ``submitted/alice -> submitted/bob`` is refused as well.
    """
    folder = Path(folder)
    reasons = []
    if root is not None:
        path = Path(root)
        for part in folder.relative_to(root).parts:
            path = path / part
            mode = os.lstat(path).st_mode
            if not stat.S_ISDIR(mode):
                reasons.append(f"{printable(path.relative_to(root))} is {_kind(mode)}")
                return reasons
    elif not stat.S_ISDIR(os.lstat(folder).st_mode):
        return [f"{printable(folder.name)} is {_kind(os.lstat(folder).st_mode)}"]
    seen = 0
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            seen += 1
            if seen > MAX_ENTRIES:
                return reasons + [f"the submission holds more than {MAX_ENTRIES} files"]
            path = Path(dirpath) / name
            mode = os.lstat(path).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                reasons.append(
                    f"{printable(path.relative_to(folder))} is {_kind(mode)} (only plain files are accepted)"
                )
    return reasons


class RefusedSubmission(Exception):
    """A submission folder holds something other than plain files (see refused_entries)."""


def guard_autograde() -> None:
    """Make nbgrader's Autograde refuse a submission with links before copying any of it."""
    from nbgrader.converters.autograde import Autograde

    original = Autograde.init_assignment
    if getattr(original, "_neurograder_guard", False):
        return

    def init_assignment(self, assignment_id, student_id):
        from .warm import one_transaction

        root = Path(self.coursedir.root) / self.coursedir.submitted_directory
        reasons = refused_entries(root / student_id / assignment_id, root)
        if reasons:
            raise RefusedSubmission(f"submission of {printable(student_id)} refused: " + "; ".join(reasons))
        # the student's and submission's rows in one gradebook transaction (in the grading
        # workers; see neurograder.warm.one_transaction)
        with one_transaction(self.coursedir.db_url):
            return original(self, assignment_id, student_id)

    init_assignment._neurograder_guard = True
    Autograde.init_assignment = init_assignment
