"""Does the site build from the repository with no warnings?

Choice (sound and fast enough): build the repository's current sources with the Makefile's
flags (-W --keep-going) into a fresh temporary --path-output, with fresh HTML and doctrees so
every page is re-read and re-written and every warning is raised again, but with a copy of the
last build's jupyter execution cache, so notebooks whose code did not change are not executed
again (a changed notebook is executed: slower, still correct). Inspecting an old log would
trust a build that may predate the sources; an incremental rebuild would not repeat warnings
of unchanged pages.

The cache is taken from the build the other site tests look at: ``$SITE_DIR/../.jupyter_cache``
(default ``_build/.jupyter_cache``). ``make assets`` must have run (html_extra_path).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path


from browser import REPO, site_dir

JB = Path(sys.executable).with_name("jupyter-book")
# the Makefile's JB_FLAGS
FLAGS = ["-W", "--keep-going"]
# Sphinx warnings/errors ("path: WARNING: text" or "WARNING: text"), not kernel log lines
# such as "[IPKernelApp] WARNING | ..."
SPHINX_PROBLEM = re.compile(r"(?:^|: )(WARNING|ERROR|CRITICAL|SEVERE):", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def makefile_flags() -> list:
    """JB_FLAGS as the Makefile defines them (so this test builds the way `make book` does)."""
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^JB_FLAGS\s*:?=\s*(.+)$", text, flags=re.M)
    assert match, "Makefile defines no JB_FLAGS"
    return match.group(1).split("#")[0].split()


def test_makefile_builds_with_warnings_as_errors():
    """Does `make book` pass -W (warnings are errors) and --keep-going to jupyter-book?"""
    flags = makefile_flags()
    assert "-W" in flags or "--warningiserror" in flags, flags
    assert "--keep-going" in flags, flags


def test_site_builds_from_the_repository_without_warnings(tmp_path):
    """Does a full (non-incremental) build of the current sources finish with exit code 0 and
    no Sphinx warning or error?"""
    assert JB.exists(), f"{JB} missing: run `make venv`"
    out = tmp_path / "out"
    cache = site_dir().parent / ".jupyter_cache"
    if cache.is_dir():
        shutil.copytree(cache, out / "_build" / ".jupyter_cache")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run(
        [str(JB), "build", str(REPO), *makefile_flags(), "--path-output", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    log = ANSI.sub("", proc.stdout + proc.stderr)
    problems = [line for line in log.splitlines() if SPHINX_PROBLEM.search(line)]
    assert proc.returncode == 0 and not problems, (
        f"jupyter-book build exited {proc.returncode} with {len(problems)} warnings/errors:\n"
        + "\n".join(problems[:40])
        + ("" if problems else "\n--- log tail ---\n" + "\n".join(log.splitlines()[-40:]))
    )
    assert (out / "_build" / "html" / "index.html").is_file()
