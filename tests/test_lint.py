"""Does the code pass the linter (ruff, configured once in pyproject.toml)?"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(120)
def test_ruff_finds_nothing():
    """Question: do unused imports, undefined names and likely bugs (ruff's pyflakes,
    pycodestyle and bugbear rules) stay out of the code?"""
    ruff = Path(sys.executable).with_name("ruff")
    done = subprocess.run([str(ruff), "check", "--no-cache", "--output-format", "concise", "."],
                          cwd=ROOT, capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
