"""Does the code pass the linter and the formatter (ruff, configured once in pyproject.toml)?"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(RUFF), *args, "--no-cache", "."], cwd=ROOT, capture_output=True, text=True, timeout=100)


@pytest.mark.timeout(120)
def test_ruff_finds_nothing():
    """Question: do unused imports, undefined names and likely bugs (ruff's pyflakes,
    pycodestyle and bugbear rules) stay out of the code?"""
    done = _ruff("check", "--output-format", "concise")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


@pytest.mark.timeout(120)
def test_code_is_formatted():
    """Question: is every Python file (and the Python in the Markdown) laid out as
    `ruff format` writes it, so a diff shows only what changed? (Fix: `.venv/bin/ruff format .`)"""
    done = _ruff("format", "--check")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
