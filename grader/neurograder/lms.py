"""Submissions downloaded from an LMS (Canvas, Moodle) into nbgrader's ``submitted/`` folder.

``python -m neurograder.lms collect module1 submissions.zip`` (``make collect ZIP=...``):

1. copies the LMS download into ``downloaded/<assignment>/archive/`` (nbgrader's layout),
   after moving downloads collected before to ``downloaded/<assignment>/collected/``: each
   run collects exactly the download it is given (a later download with one student's
   re-upload updates that student; a student in two downloads is not a duplicate);
2. runs the real ``nbgrader zip_collect`` with :class:`LmsFileNameCollector` (set in
   ``grader/nbgrader_config.py``), which reads the student id and the notebook name from the
   file names the LMS gives:

   * Canvas: ``doejane_12345_67890_neurons.ipynb``, ``doejane_LATE_12345_67890_neurons-1.ipynb``
     (student id = the Canvas user id ``12345``; ``-1`` = a re-upload of the same file);
   * Moodle: ``Jane Doe_4711_assignsubmission_file_neurons.ipynb``, flat or in a folder
     ``Jane Doe_4711_assignsubmission_file_/neurons.ipynb`` (student id = ``4711``);
3. gives every collected submission a ``submission_secret.txt`` (what ``nbgrader collect``
   writes for exchange submissions), so ``generate_feedback`` and ``release_feedback`` work
   for LMS students too.

``python -m neurograder.lms feedback module1`` (``make feedback``) runs ``nbgrader
generate_feedback`` and ``nbgrader release_feedback``. An LMS download carries no submission
time (nbgrader then counts the work as on time), but ``release_feedback`` reads a
``timestamp.txt`` beside each feedback file for its log; where there is none, the feedback
folder alone gets one saying the time is unknown (grading never reads it).

Files whose names match no pattern are listed and skipped, never guessed.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Enum

#: file-name patterns of the LMS downloads (``student_id`` and ``file_id`` as nbgrader wants)
PATTERNS = {
    "canvas": re.compile(
        r"(?i)^[a-z0-9-]+_(?:late_)?(?P<student_id>\d+)_\d+_"
        r"(?P<file_id>.+?)(?:-\d+)?\.ipynb$"
    ),
    "moodle": re.compile(
        r"^.+?_(?P<student_id>\d+)_assignsubmission_file_/?"
        r"(?P<file_id>[^/]+?)(?:-\d+)?\.ipynb$"
    ),
}


def match(lms: str, relative_path: str) -> dict | None:
    """``{"student_id", "file_id"}`` for a downloaded file (path relative to the download)."""
    m = PATTERNS[lms].match(relative_path.replace(os.sep, "/"))
    if not m:
        return None
    return {"student_id": m["student_id"], "file_id": m["file_id"] + ".ipynb"}


class LmsFileNameCollector(FileNameCollectorPlugin):
    """zip_collect's file-name reader for Canvas and Moodle downloads."""

    lms = Enum(sorted(PATTERNS), default_value="canvas", help="Which LMS the download comes from.").tag(config=True)

    def collect(self, submitted_file: str):
        extracted = Path(submitted_file)
        # the path below the extracted folder (Moodle puts files in per-student folders)
        parts = extracted.parts
        rel = "/".join(parts[-2:]) if "_assignsubmission_" in extracted.parent.name else parts[-1]
        found = match(self.lms, rel)
        if found is None:
            self.log.warning("Skipped (name matches no %s download pattern): %s", self.lms, rel)
        return found


def add_secrets(submitted: Path, assignment: str) -> list[str]:
    """Write ``submission_secret.txt`` where a collected submission has none; return ids."""
    added = []
    for folder in sorted(submitted.glob(f"*/{assignment}")):
        secret = folder / "submission_secret.txt"
        if folder.is_dir() and not secret.exists():
            secret.write_text(secrets.token_hex(16))
            added.append(folder.parent.name)
    return added


#: what release_feedback logs for a submission whose time the LMS download did not give
UNKNOWN_TIME = "unknown (collected from an LMS download)"


def _nbgrader(course: Path, *args: str) -> int:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run([str(Path(sys.executable).with_name("nbgrader")), *args], cwd=course, env=env).returncode


def fill_feedback_timestamps(feedback: Path, assignment: str) -> list[str]:
    """Write :data:`UNKNOWN_TIME` where a feedback folder has no ``timestamp.txt``."""
    filled = []
    for folder in sorted(feedback.glob(f"*/{assignment}")):
        stamp = folder / "timestamp.txt"
        if folder.is_dir() and not stamp.exists():
            stamp.write_text(UNKNOWN_TIME)
            filled.append(folder.parent.name)
    return filled


def feedback(course: Path, assignment: str) -> int:
    """generate_feedback, then release_feedback (also for students collected from an LMS)."""
    code = _nbgrader(course, "generate_feedback", assignment)
    if code:
        return code
    fill_feedback_timestamps(course / "feedback", assignment)
    return _nbgrader(course, "release_feedback", assignment)


def retire_earlier_downloads(archive: Path) -> list[str]:
    """Move what ``archive`` holds to ``collected/`` beside it (never overwriting); return
    the names moved."""
    kept = archive.parent / "collected"
    moved = []
    for old in sorted(archive.iterdir()):
        kept.mkdir(exist_ok=True)
        target, n = kept / old.name, 1
        while target.exists():
            target, n = kept / f"{old.stem}.{n}{old.suffix}", n + 1
        shutil.move(old, target)
        moved.append(old.name)
    return moved


def collect(course: Path, assignment: str, download: Path) -> int:
    """Steps 1-3 for one LMS download (a .zip, or a folder of files)."""
    archive = course / "downloaded" / assignment / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    retire_earlier_downloads(archive)
    if download.is_dir():
        shutil.copytree(download, archive / download.name, dirs_exist_ok=True)
    else:
        shutil.copy2(download, archive / download.name)
    code = _nbgrader(course, "zip_collect", assignment, "--force")
    if code:
        return code
    added = add_secrets(course / "submitted", assignment)
    print(f"collected into {course / 'submitted'}; submission secrets written for {len(added)} students")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m neurograder.lms", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="collect an LMS download into submitted/")
    c.add_argument("assignment")
    c.add_argument("download", type=Path, help="the LMS's .zip (or a folder of its files)")
    c.add_argument("--course", type=Path, default=Path("grader"))
    f = sub.add_parser("feedback", help="generate and release feedback")
    f.add_argument("assignment")
    f.add_argument("--course", type=Path, default=Path("grader"))
    args = ap.parse_args(argv)
    course = args.course.resolve()
    if not (course / "nbgrader_config.py").exists():
        ap.error(f"{course} has no nbgrader_config.py: pass --course <nbgrader course root>")
    if args.command == "feedback":
        return feedback(course, args.assignment)
    if not args.download.exists():
        ap.error(f"{args.download}: no such file or folder")
    return collect(course, args.assignment, args.download.resolve())


if __name__ == "__main__":
    sys.exit(main())
