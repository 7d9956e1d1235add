"""Helpers of the instructor's-term test (tests/test_term_journey.py): a throw-away copy of the
course, the class it grades, the real commands, and readers of what an instructor looks at.

* :func:`copy_course` copies what ``make`` needs (Makefile, chapter, ``course/``,
  ``solutions/``, ``grader/`` config) into a temporary folder, with the project's ``.venv``
  and the grader package linked, so ``make notebooks``, ``make collect``, ``make grade``,
  ``make feedback`` and ``make report`` run there and never touch the repository's
  ``grader/`` state.
* :func:`run` runs one command with a time bound and fails with its output.
* :func:`canvas_zip` writes an LMS download named the way Canvas names files.
* :func:`formgrader` starts a real ``jupyter server`` (nbgrader's formgrader and the course's
  extension, ``grader/jupyter_server_config.py``) on 127.0.0.1 with a free port and a token,
  waits until it answers, and stops it afterwards (also used by
  tests/test_grader_html_safety.py).
* :func:`gradebook_state` reads the gradebook through nbgrader's own API.
"""

from __future__ import annotations

import contextlib
import csv
import os
import secrets
import shutil
import subprocess
import time
import urllib.request
import zipfile
from pathlib import Path

from attacks import corpus
from browser import free_port

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = corpus.ASSIGNMENT
NOTEBOOK = "neurons"
#: nbgrader course id (grader/nbgrader_config.py): the exchange keeps courses apart by it
COURSE_ID = "spiking-neurons"
#: files and folders ``make`` and ``course.notebooks`` read, copied with their times (so the
#: venv stamp stays newer than the requirements and make does not reinstall)
COPIED = [
    "Makefile",
    "requirements.txt",
    "requirements-test.txt",
    "constraints.txt",
    "pyproject.toml",
    "_config.yml",
    "_toc.yml",
    "book/module1",
    "course",
    "solutions",
    "grader/nbgrader_config.py",
    "grader/jupyter_server_config.py",
    ".stamps/venv",
]
#: the Makefile's environment step (never remade in a copy)
VENV_STAMP = ".stamps/venv"
#: linked, not copied: the environment and the grader package (the installed one is used)
LINKED = [".venv", "grader/neurograder"]
#: longest wait for the jupyter server to answer its status API (s)
SERVER_START_S = 120


def copy_course(dest: Path) -> Path:
    """A copy of the course in ``dest`` that ``make`` can run in; returns ``dest``."""
    for rel in COPIED:
        src, out = REPO / rel, dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, out, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, out)
    for rel in LINKED:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).symlink_to(REPO / rel)
    return dest


def env(root: Path, **extra) -> dict:
    """The venv's tools first on PATH; the course secret (hidden cases) kept in the copy."""
    return corpus.venv_env(NEUROGRADER_SECRET_FILE=str(root / "grader" / ".neurograder-secret"), **extra)


def run(cmd: list[str], cwd: Path, root: Path, timeout: float, **extra_env) -> str:
    """Run ``cmd`` in ``cwd``; fail with its output unless it exits 0; return stdout+stderr.
    ``make`` never remakes the environment step: the copy shares the repository's ``.venv``,
    and a reinstall from the copy would point the editable install at the copy."""
    if cmd[0] == "make":
        cmd = [*cmd, f"--assume-old={VENV_STAMP}"]
    done = subprocess.run(cmd, cwd=cwd, env=env(root, **extra_env), capture_output=True, text=True, timeout=timeout)
    out = done.stdout + done.stderr
    if done.returncode != 0:  # the whole output beside the course, the tail in the message
        log = root / f"failed-{cmd[0].rsplit('/', 1)[-1]}.log"
        log.write_text(out)
        raise AssertionError(
            f"{' '.join(map(str, cmd))} exited {done.returncode} (whole output: {log}):\n{out[-4000:]}"
        )
    return out


def canvas_name(last_first: str, user_id: str, file_id: int, name: str, resubmission: int = 0) -> str:
    """A file name as Canvas writes it into a submissions download."""
    stem, ext = os.path.splitext(name)
    return f"{last_first}_{user_id}_{file_id}_{stem}{f'-{resubmission}' if resubmission else ''}{ext}"


def canvas_zip(path: Path, files: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def roster_csv(path: Path, students: dict[str, tuple[str, str]]) -> Path:
    """nbgrader's roster format: ``id,first_name,last_name,email``."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "first_name", "last_name", "email"])
        for sid, (first, last) in students.items():
            w.writerow([sid, first, last, f"{first.lower()}@example.org"])
    return path


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def gradebook_state(course: Path) -> dict:
    """student -> None (no submission) or {score, max, penalty, late, cells: {grade_id:
    {auto, manual, extra, flagged, comment}}} from nbgrader's gradebook API."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for st in gb.students:
            try:
                sub = gb.find_submission(ASSIGNMENT, st.id)
            except MissingEntry:
                out[st.id] = None
                continue
            cells = {}
            for nb in sub.notebooks:
                comments = {c.name: c.manual_comment for c in nb.comments}
                for g in nb.grades:
                    cells[g.name] = {
                        "auto": g.auto_score,
                        "manual": g.manual_score,
                        "extra": g.extra_credit,
                        "flagged": g.needs_manual_grade,
                        "comment": comments.get(g.name),
                    }
            out[st.id] = {
                "score": sub.score,
                "max": sub.max_score,
                "penalty": sub.late_submission_penalty or 0.0,
                "late": sub.total_seconds_late,
                "cells": cells,
            }
    return out


def differences(before: dict, after: dict) -> list[tuple]:
    """What a person would see change between two :func:`gradebook_state` readings:
    (student, field or cell, before, after)."""
    out = []
    for sid in sorted(set(before) | set(after)):
        b, a = before.get(sid) or {}, after.get(sid) or {}
        for key in sorted(set(b) | set(a)):
            if key == "cells":
                for cell in sorted(set(b.get("cells", {})) | set(a.get("cells", {}))):
                    if b["cells"].get(cell) != a["cells"].get(cell):
                        out.append((sid, cell, b["cells"].get(cell), a["cells"].get(cell)))
            elif b.get(key) != a.get(key):
                out.append((sid, key, b.get(key), a.get(key)))
    return out


def submission_notebook_id(course: Path, student: str) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student).id


def _answers(url: str, token: str) -> bool:
    req = urllib.request.Request(f"{url}/api/status", headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def formgrader(course: Path, log_path: Path, config: str = "jupyter_server_config.py", environ: dict | None = None):
    """``jupyter server --config=<config>`` run from the nbgrader course folder ``course``, as
    the README says, on 127.0.0.1:<free port> with a token; waits until its API answers
    (polled, never a fixed sleep), yields {url, token, log}, and stops it afterwards."""
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        corpus.tool("jupyter"),
        "server",
        f"--config={config}",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.open_browser=False",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=course, stdout=log, stderr=subprocess.STDOUT, env=environ or corpus.venv_env())
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + SERVER_START_S
            while not _answers(url, token):
                assert proc.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, f"no answer within {SERVER_START_S} s"
                time.sleep(0.2)
            yield {"url": url, "token": token, "log": log_path}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)


def typeset_formulas(rec) -> int:
    """Wait until MathJax has typeset the open page (fails if it never loads); the count."""
    rec.page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=60_000)
    return rec.page.evaluate(
        "() => MathJax.startup.promise.then(() => document.querySelectorAll('mjx-container').length)"
    )
