"""Does a second module go through the whole pipeline by adding one folder and one toc entry?

A copy of the course (tests/fixtures/course_copy.py) gets the folder
tests/fixtures/module_demo (one page, one graded function, one hidden check, one hand-graded
answer, its manifest) as book/module_demo and one _toc.yml entry, and nothing else. Then,
with the real commands: the page is built by jupyter-book, ``python -m course.notebooks build``
makes the instructor notebook, the release (nbgrader generate_assignment) and the zip; a right
and a wrong submission go through ``nbgrader autograde`` (the course's sandboxed chain),
``nbgrader generate_feedback`` and ``nbgrader export``.
"""

from __future__ import annotations

import csv
import re
import shutil
import sys
import zipfile
from html import unescape
from pathlib import Path

import nbformat
import pytest

from fixtures.course_copy import copy_course, nbgrader, run

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "module_demo"
TOC_ENTRY = """  - caption: "Demo module"
    chapters:
      - file: book/module_demo/demo
"""
#: what each student writes into the solution cell of `double`
ANSWERS = {
    "ada_right": "def double(x):\n    return [2 * v for v in x]\n",
    "bob_wrong": "def double(x):\n    return [v + 2 for v in x]\n",
}
WRITTEN = "Because 2(a + b) = 2a + 2b."


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The course copy with the module folder and its toc entry added (no other edit)."""
    course = copy_course(tmp_path_factory.mktemp("demo") / "course")
    shutil.copytree(FIXTURE, course / "book" / "module_demo", ignore=shutil.ignore_patterns("__pycache__"))
    with open(course / "_toc.yml", "a") as toc:
        toc.write(TOC_ENTRY)
    return course


@pytest.fixture(scope="module")
def built(course):
    done = run(course, "-m", "course.notebooks", "build", "--assignment", "module_demo", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return course


def _nb(path):
    return nbformat.read(path, as_version=4)


def _meta(cell):
    return cell.metadata.get("nbgrader", {})


@pytest.fixture(scope="module")
def graded(built):
    """Two submissions (right and wrong ``double``, both with a written answer) autograded."""
    release = built / "grader" / "release" / "module_demo"
    for student, code in ANSWERS.items():
        nb = _nb(release / "demo.ipynb")
        for cell in nb.cells:
            if _meta(cell).get("grade_id") == "task1_double_solution":
                cell.source = code
            elif _meta(cell).get("grade_id") == "task2_why_answer":
                cell.source = WRITTEN
        dest = built / "grader" / "submitted" / student / "module_demo"
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / "demo.ipynb")
    done = nbgrader(built, "autograde", "module_demo", "--force", timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return built


@pytest.mark.timeout(900)
def test_the_page_builds_with_its_stub_and_points_table(course, tmp_path):
    """Does jupyter-book build the new page (stub shown, points from its manifest, no hidden check)?"""
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: book/module_demo/demo\n")
    done = run(
        course,
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(course),
        "--toc",
        str(toc),
        "--path-output",
        str(tmp_path / "out"),
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    html = (tmp_path / "out" / "_build" / "html" / "book" / "module_demo" / "demo.html").read_text()
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())  # the page's words
    code = "".join(text.split())  # without spaces: highlighted code is split into spans
    assert "raiseNotImplementedError()" in code  # the stub, not the reference
    assert "return2*x" not in code
    assert "task autograded graded by hand points 1 2 0 2 2 0 1 1 total 3 + 0 extra credit" in text
    assert "double([1,2])=[2.4.]" in code  # the page ran the reference


@pytest.mark.timeout(900)
def test_notebooks_release_and_zip_are_made(built):
    """Are the instructor notebook (solution, generic hidden test), the release (stubs, no hidden
    test) and the zip made for the new module?"""
    source = _nb(built / "grader" / "source" / "module_demo" / "demo.ipynb")
    by_id = {_meta(c).get("grade_id"): c for c in source.cells}
    assert "return 2 * x" in by_id["task1_double_solution"].source
    assert "checks_of('module_demo')" in by_id["task1_double_hidden"].source
    assert _meta(by_id["task1_double_hidden"])["points"] == 2
    assert "linear" in by_id["task2_why_answer"].source
    release = (built / "grader" / "release" / "module_demo" / "demo.ipynb").read_text()
    assert "raise NotImplementedError()" in release and "return 2 * x" not in release
    assert "checks_of" not in release and "Doubling is linear" not in release
    with zipfile.ZipFile(built / "_build" / "downloads" / "module_demo.zip") as zf:
        assert zf.namelist() == ["module_demo/demo.ipynb"]


@pytest.mark.timeout(900)
def test_autograde_scores_right_and_wrong(graded):
    """Does the real nbgrader autograde give the right function 2 points and the wrong one 0,
    and leave the written answer for hand grading?"""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded / 'grader' / 'gradebook.db'}") as gb:
        scores = {s: gb.find_grade("task1_double_hidden", "demo", "module_demo", s).auto_score for s in ANSWERS}
        manual = {s: gb.find_grade("task2_why_answer", "demo", "module_demo", s).needs_manual_grade for s in ANSWERS}
        assert gb.find_assignment("module_demo").max_score == 3
    assert scores == {"ada_right": 2, "bob_wrong": 0}
    assert manual == {"ada_right": True, "bob_wrong": True}


@pytest.mark.timeout(900)
def test_feedback_and_export(graded):
    """Does nbgrader generate_feedback write each student's page without the hidden test, and
    nbgrader export one row per student with a column per task?"""
    done = nbgrader(graded, "generate_feedback", "module_demo", "--force", timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    for student in ANSWERS:
        page = (graded / "grader" / "feedback" / student / "module_demo" / "demo.html").read_text()
        assert "checks_of" not in page and "BEGIN HIDDEN TESTS" not in page
    assert (
        "must return 2 * x" in (graded / "grader" / "feedback" / "bob_wrong" / "module_demo" / "demo.html").read_text()
    )
    done = nbgrader(graded, "export", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(graded / "grader" / "grades.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[-3:] == ["task1 (of 2)", "task2 (of 1)", "extra_credit"]
    by_student = {r["student_id"]: r for r in rows if r["assignment"] == "module_demo"}
    assert {s: float(r["task1 (of 2)"]) for s, r in by_student.items()} == {"ada_right": 2.0, "bob_wrong": 0.0}
    assert {s: float(r["max_score"]) for s, r in by_student.items()} == {"ada_right": 3.0, "bob_wrong": 3.0}
