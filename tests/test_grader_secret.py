"""The course secret (seed of the hidden cases): made once, whole, even when several grading
workers start at the same moment."""

from __future__ import annotations

import subprocess
import sys

import pytest

READ = "from neurograder import checks; print(checks.course_secret())"


@pytest.mark.timeout(120)
def test_workers_starting_together_share_one_whole_secret(tmp_path):
    """Question: when eight processes create a missing course secret at once, does every one
    read the same complete secret (none sees an empty or half-written file)?"""
    path = tmp_path / ".neurograder-secret"
    env = {"NEUROGRADER_SECRET_FILE": str(path), "PATH": "/usr/bin:/bin"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", READ], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(8)
    ]
    results = [p.communicate(timeout=100) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err[-500:] for _, err in results]
    assert len({out for out, _ in results}) == 1
    assert len(path.read_text().strip()) == 64
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


@pytest.mark.timeout(60)
def test_a_short_secret_is_refused_with_what_to_do(tmp_path):
    """Question: does a damaged (too short) secret stop grading with a message saying what to do?"""
    path = tmp_path / ".neurograder-secret"
    path.write_text("short\n")
    env = {"NEUROGRADER_SECRET_FILE": str(path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", READ], env=env, capture_output=True, text=True, timeout=50)
    assert done.returncode != 0
    assert "delete it to make a new one" in done.stderr
