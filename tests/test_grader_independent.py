"""Does one mistake cost one task's points under the sandboxed grader?

A test whose function calls an earlier graded function that fails its own check is graded
again with the reference version of that earlier function (neurograder.independent). Checked
on every wrong implementation of the corpus (tests/corpus/module1.py: ``fails`` is what plain
nbgrader takes, ``regraded`` what the sandbox gives back), through the real ``nbgrader
autograde`` with the course config and through ``python -m neurograder.batch``; the
dependency metadata against the functions' real calls; and the substituted reference against
the fast model of solutions.neurons.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attacks import corpus  # noqa: E402
from corpus.module1 import BAND, T2, T41, T42, WRONG  # noqa: E402
from test_grader_attacks import _copy  # noqa: E402

from neurograder import grading, independent, sandbox  # noqa: E402

SOURCE = corpus.GRADER / "source" / corpus.ASSIGNMENT / corpus.NOTEBOOK
RELEASE = corpus.GRADER / "release" / corpus.ASSIGNMENT
LIMITS = sandbox.Limits(timeout=10, cpu=10)
NO_RESET = WRONG["lif_no_reset"]["cells"]
SWAPPED_SURFACE = WRONG["lif_surface_swapped_axes"]["cells"]
#: the feedback of a test graded with the reference LIF
WITH_REFERENCE_LIF = "graded with the reference `leaky_integrate_and_fire` because yours fails Task 2"


def _submission(cells: dict[str, str]):
    nb = corpus.honest_notebook(corpus.GRADER)
    for gid, source in cells.items():
        corpus.set_cell(nb, gid, source)
    return nb


def _grade(cells: dict[str, str], monkeypatch=None):
    """(outcomes, number of sandboxes run) of the release filled with the reference except
    ``cells``, graded in this process."""
    runs = []
    if monkeypatch is not None:
        run_job = sandbox.run_job
        monkeypatch.setattr(sandbox, "run_job", lambda *a, **k: runs.append(1) or run_job(*a, **k))
    spec = grading.load_spec(SOURCE)
    outcomes, info = grading.grade_notebook(_submission(cells), spec, limits=LIMITS, assignment_dir=str(RELEASE))
    assert info["error"] is None, info["error"]
    return outcomes, len(runs)


def _failed(outcomes) -> set[str]:
    return {gid for gid, o in outcomes.items() if not o.passed}


# ------------------------------------------------------------------------------ metadata
def test_dependencies_are_the_earlier_functions_each_task_really_calls():
    """Which earlier function does each graded function call? The check metadata
    (``Check.uses``) names exactly the graded functions whose names the reference code of
    each function calls: 3.1 and 4.2 the LIF, 4.1 the leaky integrator."""
    import ast
    import inspect

    from course.manifest import module
    from solutions import reference

    CHECKS = module("module1").checks()
    graded = {c.name: c.grade_id for c in CHECKS.values()}
    for check in CHECKS.values():
        fn = getattr(reference, check.name, None)
        if fn is None:  # a value task: it calls nothing
            assert check.uses == (), check.grade_id
            continue
        tree = ast.parse(inspect.getsource(fn))
        called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert set(check.uses) == {graded[n] for n in called & set(graded)}, check.grade_id


def test_a_visible_test_inherits_the_dependencies_of_the_functions_it_calls():
    """A self-check of the surfaces depends on the LIF; one that calls the LIF itself never
    gets it replaced."""
    from course.manifest import module

    CHECKS = module("module1").checks()
    surface = {"grade_id": "v", "kind": "script", "names": ["lif_time_surface"]}
    both = dict(surface, names=["leaky_integrate_and_fire", "lif_time_surface"])
    assert [c.grade_id for c in independent.dependencies(surface, CHECKS)] == ["task2_lif_hidden"]
    assert independent.dependencies(both, CHECKS) == []


def test_the_substituted_reference_is_the_lif_model():
    """The definition sent into the sandbox (from the source notebook) computes what the fast
    model solutions.neurons.lif computes."""
    from solutions.neurons import lif

    source = independent.reference_definition(grading.load_spec(SOURCE), "leaky_integrate_and_fire")
    ns = {"np": np}
    exec(source, ns)
    x = np.random.default_rng(3).uniform(0, 2, 200)
    spikes, membrane = ns["leaky_integrate_and_fire"](x, 4.0, 0.6)
    ref_spikes, ref_membrane = lif(x, 4.0, 0.6)
    assert np.array_equal(spikes, ref_spikes) and np.allclose(membrane, ref_membrane)


# ------------------------------------------------------------------------------ the sandbox
@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", sorted(WRONG))
def test_each_wrong_function_costs_only_its_own_task(name):
    """Each wrong implementation of the corpus loses what plain nbgrader takes except the
    cells that only called it (``regraded``); those pass and say how they were graded."""
    entry = WRONG[name]
    regraded = entry.get("regraded", set())
    outcomes, _ = _grade(entry["cells"])
    assert _failed(outcomes) == set(entry["fails"]) - regraded, name
    for gid in regraded:
        assert "graded with the reference `" in outcomes[gid].message, (gid, outcomes[gid])


@pytest.mark.timeout(240)
def test_wrong_lif_and_right_surfaces_lose_only_task_2(monkeypatch):
    """The surfaces of 4.2 keep their points, with the reason, and no diagnosis of the
    surface code; one extra sandbox run."""
    outcomes, runs = _grade(NO_RESET, monkeypatch)
    assert _failed(outcomes) == T2
    for gid in T42:
        assert outcomes[gid].message == WITH_REFERENCE_LIF + ".", outcomes[gid]
    assert runs == 2


@pytest.mark.timeout(240)
def test_wrong_lif_and_wrong_surfaces_lose_both(monkeypatch):
    """Graded with the reference LIF, the swapped surfaces still fail, with their own
    diagnosis (the channel axis) and the reason."""
    outcomes, runs = _grade({**NO_RESET, **SWAPPED_SURFACE}, monkeypatch)
    assert _failed(outcomes) == T2 | T42
    hidden = outcomes["task42_lif_surface_hidden"].message
    assert "ran along the channel axis" in hidden and WITH_REFERENCE_LIF in hidden, hidden
    assert runs == 2


@pytest.mark.timeout(240)
def test_nothing_the_student_makes_next_to_the_reference_comes_back():
    """A surface that raises with the LIF's docstring (the reference's, once substituted) as
    its message fails, and neither the hidden nor the visible test's feedback shows it."""
    leak = {
        "task42_lif_surface_solution": """
def lif_time_surface(raster, tau, threshold):
    raise ValueError(str(leaky_integrate_and_fire.__doc__))
"""
    }
    outcomes, _ = _grade({**NO_RESET, **leak})
    assert _failed(outcomes) == T2 | T42
    for gid in T42:
        assert "one step at a time" not in outcomes[gid].message, outcomes[gid].message
        assert WITH_REFERENCE_LIF in outcomes[gid].message


@pytest.mark.timeout(240)
def test_a_correct_student_or_a_wrong_surface_alone_runs_one_sandbox(monkeypatch):
    """No second run unless an earlier function failed: the reference student passes all in
    one run; wrong surfaces with a right LIF lose only 4.2, in one run."""
    outcomes, runs = _grade({}, monkeypatch)
    assert _failed(outcomes) == set() and runs == 1
    outcomes, runs = _grade(SWAPPED_SURFACE, monkeypatch)
    assert _failed(outcomes) == T42 and runs == 1


# ------------------------------------------------------------------------------ the commands
STUDENTS = {"honest": {}, "wrong_lif": NO_RESET, "wrong_lif_and_surface": {**NO_RESET, **SWAPPED_SURFACE}}
LOST = {"honest": set(), "wrong_lif": T2, "wrong_lif_and_surface": T2 | T42}


@pytest.fixture(scope="module")
def template(tmp_path_factory, new_course):
    course = new_course(tmp_path_factory.mktemp("independent") / "template")
    for student, cells in STUDENTS.items():
        nb = corpus.honest_notebook(course)
        for gid, source in cells.items():
            corpus.set_cell(nb, gid, source)
        corpus.write_submission(course, student, nb, timestamp=corpus.ON_TIME)
    return course


def _cell_scores(course: Path) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s: {g.name: g.score for g in gb.find_submission("module1", s).notebooks[0].grades} for s in STUDENTS}


def _output_text(course: Path, student: str, gid: str) -> str:
    import nbformat

    nb = nbformat.read(str(course / "autograded" / student / "module1" / corpus.NOTEBOOK), 4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)
    return "\n".join(o.get("text", "") + "\n".join(o.get("traceback", [])) for o in cell.outputs)


def _assert_graded_independently(course: Path):
    from attacks import corpus

    full = corpus.autograded_points(course)
    scores = _cell_scores(course)
    for student, lost in LOST.items():
        want = {gid: 0.0 if gid in lost else pts for gid, pts in full.items()}
        assert {g: scores[student][g] for g in full} == want, student
    for gid in T42 | BAND:
        assert "graded with" not in _output_text(course, "honest", gid)
    for gid in T42:
        text = _output_text(course, "wrong_lif", gid)
        assert text.startswith("passed") and WITH_REFERENCE_LIF in text, text
        assert "along" not in text, text
    text = _output_text(course, "wrong_lif_and_surface", "task42_lif_surface_hidden")
    assert "channel axis" in text and WITH_REFERENCE_LIF in text, text


@pytest.mark.timeout(900)
def test_nbgrader_autograde_grades_tasks_independently(template, tmp_path):
    """``nbgrader autograde`` with the course config: the wrong LIF costs Task 2 only; the
    feedback page says how Task 4.2 was graded."""
    course = _copy(template, tmp_path / "course")
    run = corpus.nbgrader(course, "autograde", "module1", timeout=800)
    assert run.returncode == 0, run.stderr[-3000:]
    _assert_graded_independently(course)
    feedback = corpus.nbgrader(course, "generate_feedback", "module1", "--student=wrong_lif", timeout=600)
    assert feedback.returncode == 0, feedback.stderr[-3000:]
    page = (course / "feedback" / "wrong_lif" / "module1" / "neurons.html").read_text()
    assert WITH_REFERENCE_LIF.replace("`", "") in page.replace("`", ""), "not in feedback"


@pytest.mark.timeout(900)
def test_batch_grades_tasks_independently(template, tmp_path):
    """``python -m neurograder.batch`` (make grade): the same grades and texts."""
    course = _copy(template, tmp_path / "course")
    run = corpus.run_batch(course, timeout=800)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    _assert_graded_independently(course)


def test_corpus_marks_the_cells_that_only_call_a_wrong_function():
    """Every wrong LIF or leaky integrator of the corpus names the cells it takes down with
    it, and those are among the cells it fails."""
    for name, entry in WRONG.items():
        assert entry.get("regraded", set()) <= set(entry["fails"]), name
        if name.startswith(("lif_", "li_")) and "surface" not in name:
            assert entry.get("regraded") in (T41, T42, T42 | BAND), name
