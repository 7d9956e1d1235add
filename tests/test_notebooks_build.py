"""Does ``python -m course.notebooks build`` refuse to lose an instructor's work?

On a copy of the course (tests/fixtures/course_copy.py), built once with the real command:

* a hand edit of the generated instructor notebook stops the build, which names the chapter
  source to edit and how to discard the edit; ``--discard-edits`` discards it;
* once the gradebook has a submission, a chapter change that removes a graded cell (which
  nbgrader's generate_assignment cannot take) is refused before anything under
  grader/source or grader/release is deleted or written;
* new cases in an existing check change no cell, and a new paragraph of prose (a Markdown cell
  of its own) changes no cell nbgrader records: either build goes through the real
  generate_assignment with submissions in the gradebook.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from fixtures.course_copy import copy_course, run

HIDDEN_TASK0 = re.compile(
    r"```\{code-cell\} ipython3\n---\ntags: \[remove-cell\]\ncourse: hidden\n"
    r"grade_id: task0_input_data\n---\n[^\n]*\n```\n"
)


def build(course, *flags):
    return run(course, "-m", "course.notebooks", "build", *flags, timeout=900)


def snapshot(course) -> dict:
    """Bytes and modification times of every file under grader/source and grader/release."""
    files = [p for d in ("source", "release") for p in sorted((course / "grader" / d).rglob("*")) if p.is_file()]
    return {str(p.relative_to(course)): (p.read_bytes(), p.stat().st_mtime_ns) for p in files}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("build") / "course")
    done = build(course)
    assert done.returncode == 0, done.stderr
    return course


def _submitted(course, student: str) -> None:
    """A submission of module1 by ``student`` in the course copy's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'grader' / 'gradebook.db'}") as gb:
        gb.update_or_create_student(student)
        gb.add_submission("module1", student)


def _built_with(chapter, text: str):
    """The build's result with the chapter source ``chapter`` replaced by ``text`` (restored after)."""
    original = chapter.read_text()
    chapter.write_text(text)
    try:
        return build(chapter.parents[2])
    finally:
        chapter.write_text(original)


def _source_nb(course):
    return course / "grader" / "source" / "module1" / "neurons.ipynb"


@pytest.mark.timeout(900)
def test_a_hand_edit_stops_the_build_and_names_the_source(course):
    """Is a hand edit of grader/source/module1/neurons.ipynb detected, kept, and the chapter named;
    and does --discard-edits regenerate the notebook?"""
    path = _source_nb(course)
    nb = nbformat.read(path, as_version=4)
    first_md = next(c for c in nb.cells if c.cell_type == "markdown")
    first_md.source += "\n\nAn instructor's note added by hand."
    nbformat.write(nb, path)
    edited = path.read_bytes()

    done = build(course)
    assert done.returncode == 3
    assert "book/module1/neurons.md" in done.stderr and "--discard-edits" in done.stderr
    assert path.read_bytes() == edited

    done = build(course, "--discard-edits")
    assert done.returncode == 0, done.stderr
    assert b"added by hand" not in path.read_bytes()
    assert build(course).returncode == 0  # and the next build accepts it again


@pytest.mark.timeout(900)
def test_a_structural_change_after_submissions_is_refused_before_anything_is_written(course):
    """With a submission in the gradebook, is removing a graded cell refused, with what to do,
    and is nothing under grader/source or grader/release deleted or written?"""
    _submitted(course, "ada")
    chapter = course / "book" / "module1" / "neurons.md"
    original = chapter.read_text()
    assert len(HIDDEN_TASK0.findall(original)) == 1
    before = snapshot(course)
    done = _built_with(chapter, HIDDEN_TASK0.sub("", original))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "removes task0_input_data" in done.stderr
    assert "add cases to the existing check" in done.stderr
    assert snapshot(course) == before


@pytest.mark.timeout(900)
def test_new_cases_in_an_existing_check_need_no_new_cell(course):
    """With a submission in the gradebook, does a change of the checks (new cases) rebuild through
    the real nbgrader generate_assignment?"""
    _submitted(course, "bob")
    checks = course / "book" / "module1" / "checks.py"  # module 1's checks, named by its manifest
    text = checks.read_text()
    assert "BAND_PASS_PER_BAND = 2" in text
    checks.write_text(text.replace("BAND_PASS_PER_BAND = 2", "BAND_PASS_PER_BAND = 3"))
    release = course / "grader" / "release" / "module1" / "neurons.ipynb"
    before = release.stat().st_mtime_ns
    done = build(course)
    assert done.returncode == 0, done.stderr
    assert "generate_assignment module1" in done.stdout
    assert release.stat().st_mtime_ns > before


@pytest.mark.timeout(300)
def test_a_broken_manifest_is_named_and_nothing_is_written(tmp_path):
    """Does a manifest without its assignment id stop the build with the file and key named,
    before anything is written?"""
    course = copy_course(tmp_path / "course")
    toml = course / "book" / "module1" / "module.toml"
    toml.write_text(toml.read_text().replace('assignment = "module1"', ""))
    done = build(course)
    assert done.returncode == 2
    assert "book/module1/module.toml" in done.stderr and "missing `assignment`" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (course / "grader" / "source").exists()


NEW_PROSE = "A paragraph written after the first submissions came in."


@pytest.mark.timeout(900)
def test_new_prose_after_submissions_goes_through(course):
    """With a submission in the gradebook, does a new Markdown cell of prose (which renumbers the
    prose after it) rebuild through the real nbgrader generate_assignment, and does the student's
    notebook get it, read-only?"""
    _submitted(course, "cyd")
    chapter = course / "book" / "module1" / "neurons.md"
    original = chapter.read_text()
    first_break = original.index("\n+++\n", original.index("\n+++\n") + 1)
    done = _built_with(chapter, original[:first_break] + f"\n+++\n\n{NEW_PROSE}\n" + original[first_break:])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "generate_assignment module1" in done.stdout
    release = nbformat.read(course / "grader" / "release" / "module1" / "neurons.ipynb", as_version=4)
    added = [c for c in release.cells if NEW_PROSE in c.source]
    assert len(added) == 1
    assert added[0].metadata.get("editable") is False and "nbgrader" not in added[0].metadata
