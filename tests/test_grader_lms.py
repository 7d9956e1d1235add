"""Can an instructor take a class from an LMS download to released feedback
(``neurograder.lms`` + the real ``nbgrader zip_collect``, ``generate_feedback`` and
``release_feedback``)?"""

from __future__ import annotations

import subprocess
import sys
import zipfile

import nbformat
import pytest

from attacks import corpus
from neurograder.lms import PATTERNS, match


@pytest.mark.parametrize(
    "lms, name, student, file_id",
    [
        ("canvas", "doejane_12345_67890_neurons.ipynb", "12345", "neurons.ipynb"),
        ("canvas", "doejane_LATE_12345_67890_neurons-1.ipynb", "12345", "neurons.ipynb"),
        ("canvas", "o-brien_77_1_neurons.ipynb", "77", "neurons.ipynb"),
        ("moodle", "Jane Doe_4711_assignsubmission_file_neurons.ipynb", "4711", "neurons.ipynb"),
        ("moodle", "Jane Doe_4711_assignsubmission_file_/neurons.ipynb", "4711", "neurons.ipynb"),
    ],
)
def test_lms_file_names_give_student_and_notebook(lms, name, student, file_id):
    assert match(lms, name) == {"student_id": student, "file_id": file_id}


@pytest.mark.parametrize(
    "lms, name",
    [
        ("canvas", "neurons.ipynb"),
        ("canvas", "doejane_12345_67890_notes.txt"),
        ("moodle", "Jane Doe_4711_assignsubmission_onlinetext_/onlinetext.html"),
    ],
)
def test_other_files_are_not_guessed(lms, name):
    assert lms in PATTERNS and match(lms, name) is None


def _run(cmd, cwd, timeout=600):
    done = subprocess.run(cmd, cwd=cwd, env=corpus.venv_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


@pytest.mark.timeout(900)
def test_canvas_download_to_released_feedback(tmp_path, new_course):
    """A Canvas zip (one re-upload, one late, one stray file) is collected under the Canvas
    ids, graded, and feedback is generated and released through the exchange."""
    course = new_course(tmp_path / "course")
    full = corpus.honest_notebook(course)
    stub = nbformat.read(str(course / "release" / "module1" / "neurons.ipynb"), as_version=4)
    download = tmp_path / "submissions.zip"
    with zipfile.ZipFile(download, "w") as z:
        z.writestr("doejane_12345_67890_neurons-1.ipynb", nbformat.writes(full))
        z.writestr("roebob_LATE_23456_67891_neurons.ipynb", nbformat.writes(stub))
        z.writestr("roebob_LATE_23456_67891_notes.txt", "my notes")
    _run(
        [sys.executable, "-m", "neurograder.lms", "collect", "module1", str(download), "--course", str(course)],
        cwd=tmp_path,
    )
    for sid, nb in (("12345", full), ("23456", stub)):
        folder = course / "submitted" / sid / "module1"
        assert nbformat.read(str(folder / "neurons.ipynb"), as_version=4).cells[0].source == nb.cells[0].source
        assert len((folder / "submission_secret.txt").read_text()) == 32
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["12345", "23456"]

    _run(
        [sys.executable, "-m", "neurograder.batch", "--course", str(course), "--jobs", "2", "--no-progress"], cwd=course
    )
    _run([sys.executable, "-m", "neurograder.lms", "feedback", "module1", "--course", str(course)], cwd=tmp_path)
    released = list((course / "exchange").rglob("*.html"))
    assert len(released) == 2, released
    assert (course / "feedback" / "12345" / "module1" / "neurons.html").exists()
    # the download gave no submission time: nothing was counted late, nothing was invented
    for sid in ("12345", "23456"):
        assert not (course / "autograded" / sid / "module1" / "timestamp.txt").exists()
