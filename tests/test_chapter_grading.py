"""Is the module1 assignment graded right?

Through the real nbgrader CLI in a temporary course directory: the instructor
notebook validates, the release's stubs fail validation, a submission made of
the reference solutions gets full marks and the untouched release gets zero.
Through the notebook's own test cells: every wrong implementation of the corpus
loses exactly the points it should, and every correct variant keeps them all.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from chapter_tools import graded_cells, make_submission, nbgrader_meta, score_in_process
from corpus.module1 import CORRECT, WRONG
from course import notebooks
from kernels import ORACLE_ENV, SLICED_WAITS_ONLY_CFG

NBGRADER = str(Path(sys.executable).with_name("nbgrader"))
NB = notebooks.NOTEBOOK


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run a real nbgrader command in ``course`` (plain nbgrader: no project config). Autograde
    runs as every plain-nbgrader oracle run does (tests/kernels.py's ``ORACLE_ENV``); validate
    as a student does."""
    quiet = [] if args[0] == "validate" else ["--log-level=WARN"]  # validate has no --log-level
    env = {**notebooks.venv_env(), **(ORACLE_ENV if args[0] == "autograde" else {})}
    return subprocess.run([NBGRADER, *args, *quiet], cwd=course, capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def course(tmp_path_factory, new_course) -> Path:
    """A temporary nbgrader course with module1's source notebook and the release made from it by
    the real ``nbgrader generate_assignment`` (the shared ``new_course``), its project config
    replaced by one that only makes the kernel waits go in slices (tests/kernels.py): the
    commands here are plain nbgrader's."""
    root = new_course(tmp_path_factory.mktemp("course") / "course")
    (root / "nbgrader_config.py").write_text(SLICED_WAITS_ONLY_CFG)
    return root


@pytest.fixture(scope="module")
def instructor(course):
    return nbformat.read(course / "source" / notebooks.ASSIGNMENT / NB, as_version=4)


@pytest.fixture(scope="module")
def release(course):
    return nbformat.read(course / "release" / notebooks.ASSIGNMENT / NB, as_version=4)


def test_instructor_notebook_passes_nbgrader_validate(course):
    """Do the reference solutions pass every visible and hidden test, run by nbgrader?"""
    done = nbgrader(course, "validate", str(course / "source" / notebooks.ASSIGNMENT / NB))
    assert done.returncode == 0 and "Success! Your notebook passes all the tests." in done.stdout, (
        done.stdout + done.stderr
    )


def test_release_notebook_fails_nbgrader_validate_invert(course, release):
    """Do the stubs of the release fail every required test (validate --invert), while the 0-point cells
    of the optional tasks pass untouched (a hidden-test cell prints that the task was skipped instead of
    raising; a code answer only defines its function, and the locked cell after it says it was skipped)?"""
    done = nbgrader(course, "validate", "--invert", str(course / "release" / notebooks.ASSIGNMENT / NB))
    assert done.returncode == 0, done.stdout + done.stderr
    passing = done.stdout.split("The following cell passed:")[1:]
    # the 0-point cells: optional tasks' hidden-test cells and their untouched answers (0 of 0 = passed)
    optional = [c for c in release.cells if nbgrader_meta(c).get("grade") and nbgrader_meta(c)["points"] == 0]
    tests = [c for c in optional if c.cell_type == "code" and not nbgrader_meta(c).get("solution")]
    answers = [
        i
        for i, c in enumerate(release.cells)
        if c in optional and c.cell_type == "code" and nbgrader_meta(c).get("solution")
    ]
    assert tests and answers and len(passing) == len(optional), done.stdout
    assert sum("is optional and not attempted" in block for block in passing) == len(tests), done.stdout
    for i in answers:
        task = notebooks.task_of(nbgrader_meta(release.cells[i])["grade_id"])
        assert notebooks.skipped_message(task) in release.cells[i + 1].source


def test_release_keeps_no_solution_or_hidden_test(release, instructor):
    """Does the student notebook hold stubs only: no solution body, no hidden test code?"""
    text = nbformat.writes(release)
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "run_check" not in text and "neurograder" not in text
    for cell in release.cells:
        if nbgrader_meta(cell).get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source


def _student(course: Path, name: str, nb) -> None:
    dest = course / "submitted" / name / notebooks.ASSIGNMENT
    shutil.copytree(course / "release" / notebooks.ASSIGNMENT, dest, dirs_exist_ok=True)
    nbformat.write(nb, dest / NB)


def test_round_trip_through_nbgrader(course, instructor, release):
    """Reference solutions get every autograded point, the untouched release none, and two wrong
    submissions lose exactly their cells' points, through nbgrader autograde and its gradebook.
    (Every correct variant, torch's included, gets full marks from plain nbgrader's autograde in
    tests/test_grader_correct.py's one oracle run over the correct corpus.)"""
    from nbgrader.api import Gradebook

    students = {
        "reference": make_submission(instructor, release),
        "untouched": release,
        "reset_to_one": make_submission(instructor, release, WRONG["lif_reset_to_one_as_the_seed_typo"]["cells"]),
        "transposed": make_submission(instructor, release, WRONG["li_surface_transposed"]["cells"]),
    }
    for name, nb in students.items():
        _student(course, name, nb)
    done = nbgrader(course, "autograde", notebooks.ASSIGNMENT, "--force")
    assert done.returncode == 0, done.stderr
    points = graded_cells(instructor)
    expected_lost = {
        "reference": set(),
        "untouched": set(points),
        "reset_to_one": WRONG["lif_reset_to_one_as_the_seed_typo"]["fails"],
        "transposed": WRONG["li_surface_transposed"]["fails"],
    }
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for name, lost in expected_lost.items():
            got = {gid: gb.find_grade(gid, "neurons", notebooks.ASSIGNMENT, name).auto_score for gid in points}
            want = {gid: (0.0 if gid in lost else pts) for gid, pts in points.items()}
            assert got == want, name


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_implementation_loses_its_points(name, instructor, release):
    """Does each plausible wrong implementation lose exactly the points of the cells it breaks?"""
    entry = WRONG[name]
    results = score_in_process(make_submission(instructor, release, entry["cells"]), instructor)
    failed = {gid for gid, ok in results.items() if not ok}
    assert failed == set(entry["fails"]), f"{name}: failed {sorted(failed)}"


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_variant_gets_full_marks(name, instructor, release):
    """Does each correct variant (loop, vectorised, torch, lists, float32, >=, ...) keep every point?"""
    results = score_in_process(make_submission(instructor, release, CORRECT[name]), instructor)
    assert all(results.values()), f"{name}: failed {sorted(g for g, ok in results.items() if not ok)}"
    assert set(results) == set(graded_cells(instructor))


def test_corpus_is_big_enough():
    """Is the corpus big enough to trust: at least 15 wrong implementations and 8 correct variants?"""
    assert len(WRONG) >= 15 and len(CORRECT) >= 8
