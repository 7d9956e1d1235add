"""Does the downloaded notebook work the way students use it?

The released notebook (``grader/release/module1``, what ``module1.zip`` holds) is run with
nbclient in a fresh kernel, top to bottom, as Jupyter's *Restart & Run All* runs it, in a
copy of the release folder:

* untouched: every cell that is not a stub or a graded test runs, and the rest say what is
  missing;
* every required task done, the optional ones untouched: no cell raises (Run All reaches the
  end) and each optional task says it was skipped;
* everything done: no cell raises and nothing says it is missing;
* required tasks done, in a fresh virtual environment without torch (``make test`` makes it:
  ``.stamps/notorch-venv``): the notebook needs no torch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from chapter_tools import make_submission, nbgrader_meta
from kernels import RUN_NOTEBOOK_SCRIPT
from course import notebooks

ROOT = Path(__file__).resolve().parents[1]
#: The virtual environment without torch (made by `make notorch-venv`).
NOTORCH_VENV = Path(os.environ.get("NOTORCH_VENV", ROOT / "_build" / "venv-notorch"))
#: What the notebook prints where a task is not done yet (course.notebooks and the chapter).
MISSING_MARKERS = ("Not drawn yet", "not attempted", "skipped")


@pytest.fixture(scope="module")
def instructor():
    return nbformat.read(notebooks.SOURCE_DIR / notebooks.NOTEBOOK, as_version=4)


def optional_solution_ids(nb) -> set[str]:
    """grade_ids of the code cells a student fills in for an optional task."""
    return {
        nbgrader_meta(c)["grade_id"]
        for c in nb.cells
        if c.cell_type == "code"
        and nbgrader_meta(c).get("solution")
        and notebooks.task_of(nbgrader_meta(c)["grade_id"]) in notebooks.OPTIONAL_TASKS
    }


def required_only(instructor, release):
    """Every required task done with the reference solution; optional cells left as released."""
    stubs = {nbgrader_meta(c)["grade_id"]: c.source for c in release.cells if c.cell_type == "code"}
    return make_submission(instructor, release, {gid: stubs[gid] for gid in optional_solution_ids(release)})


def run_all(nb, tmp_path: Path, python: str = sys.executable, allow_errors: bool = False):
    """Run ``nb`` in a copy of the release folder as Restart & Run All would; return the executed
    notebook and the runner's completed process."""
    work = tmp_path / notebooks.ASSIGNMENT
    shutil.copytree(notebooks.RELEASE_DIR, work)
    nbformat.write(nb, work / notebooks.NOTEBOOK)
    (tmp_path / "run.py").write_text(RUN_NOTEBOOK_SCRIPT)
    env = notebooks.venv_env()
    env["PATH"] = f"{Path(python).parent}{os.pathsep}{env['PATH']}"
    env["MPLBACKEND"] = "Agg"
    done = subprocess.run(
        [
            python,
            str(tmp_path / "run.py"),
            str(work / notebooks.NOTEBOOK),
            str(work),
            "allow-errors" if allow_errors else "stop",
            str(Path(__file__).resolve().parent),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    return nbformat.read(work / notebooks.NOTEBOOK, as_version=4), done


def errors(nb) -> list[str]:
    return [
        f"{nbgrader_meta(c).get('grade_id')}: {o['ename']}: {o['evalue'][:200]}"
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]


def printed(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def unexecuted(nb) -> list[str]:
    return [
        nbgrader_meta(c).get("grade_id") for c in nb.cells if c.cell_type == "code" and c.get("execution_count") is None
    ]


def skipped_tasks(nb) -> set[str]:
    return {task for task in notebooks.OPTIONAL_TASKS if notebooks.skipped_message(task) in printed(nb)}


def optional_code_tasks(nb) -> set[str]:
    """Optional tasks with code in the notebook (a written answer has nothing to skip)."""
    return {notebooks.task_of(gid) for gid in optional_solution_ids(nb)}


@pytest.mark.timeout(900)
def test_untouched_notebook_runs_every_cell_and_says_what_is_missing(release, tmp_path):
    """Untouched release: does every cell run (only stubs and graded tests may fail) and do the
    cells that need a task say which one instead of failing?"""
    nb, done = run_all(release, tmp_path, allow_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not unexecuted(nb)
    for cell in nb.cells:
        errs = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        meta = nbgrader_meta(cell)
        assert not errs or meta.get("solution") or meta.get("grade"), (meta.get("grade_id"), errs[0]["evalue"])
    text = printed(nb)
    assert "Not drawn yet" in text and "is not implemented" in text
    assert skipped_tasks(nb) == optional_code_tasks(nb)
    assert "All packages found" in text  # the environment cell ran first and found everything


@pytest.mark.timeout(900)
def test_required_tasks_done_optional_untouched_runs_to_the_end(instructor, release, tmp_path):
    """Every required task done, optional tasks untouched: does Restart & Run All reach the last cell
    with no error, and does each optional task say that it was skipped?"""
    nb, done = run_all(required_only(instructor, release), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not errors(nb) and not unexecuted(nb)
    assert skipped_tasks(nb) == optional_code_tasks(nb) == {"3.1", "4.3"}
    assert "Not drawn yet: band_pass" in printed(nb)
    assert printed(nb).count("Not drawn yet") == 1  # only the optional band-pass demo


@pytest.mark.timeout(900)
def test_everything_done_runs_with_no_message_of_missing_work(instructor, release, tmp_path):
    """Every task done: does every cell run, every self-check pass and nothing say it is missing?"""
    nb, done = run_all(make_submission(instructor, release), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not errors(nb) and not unexecuted(nb)
    text = printed(nb)
    assert not [m for m in MISSING_MARKERS if m in text], text[-2000:]
    for check in [
        "input_data self-check: passed",
        "cosine_signal self-check: passed",
        "max_x_spiking self-check: passed",
        "max_x_silent self-check: passed",
        "Task 1 self-check passed",
        "Task 4.2 self-check passed",
    ]:
        assert check in text


@pytest.mark.timeout(900)
def test_required_tasks_run_without_torch(instructor, release, tmp_path):
    """In a fresh virtual environment with only the packages the environment cell names (no torch):
    does Restart & Run All of a notebook with the required tasks done reach the end?"""
    python = NOTORCH_VENV / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{NOTORCH_VENV} is missing: run `make notorch-venv` (make test does)")
    probe = subprocess.run(
        [str(python), "-c", "import importlib.util as u; print(u.find_spec('torch'))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == "None", "the no-torch environment has torch"
    nb, done = run_all(required_only(instructor, release), tmp_path, python=str(python))
    assert done.returncode == 0, done.stderr[-3000:]
    assert not errors(nb) and not unexecuted(nb)
    assert "All packages found" in printed(nb)


def _raster_cell(release) -> str:
    return next(c.source for c in release.cells if c.cell_type == "code" and "from shd_data import" in c.source)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("broken", ["no h5py", "no data folder", "no loader"])
def test_missing_package_or_data_says_exactly_what_is_missing(broken, release, tmp_path):
    """The cell that loads the spike data, without h5py / without data/ / without shd_data.py: does it
    say exactly which one is missing and what to do, instead of failing or blaming the tasks?"""
    work = tmp_path / notebooks.ASSIGNMENT
    shutil.copytree(notebooks.RELEASE_DIR, work)
    if broken == "no data folder":
        shutil.rmtree(work / "data")
    if broken == "no loader":
        (work / "shd_data.py").unlink()
    block = "import sys; sys.modules['h5py'] = None\n" if broken == "no h5py" else ""  # import h5py fails
    code = (
        f"{block}import matplotlib; matplotlib.use('Agg')\nimport numpy as np\n"
        "import matplotlib.pyplot as plt\n" + _raster_cell(release)
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        env={**notebooks.venv_env(), "PYTHONPATH": str(work)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    expected = {
        "no h5py": "the module `h5py` is missing. Run  %pip install h5py",
        "no data folder": "Put the folder data/ from module1.zip next to this notebook",
        "no loader": "Put shd_data.py (from module1.zip) next to this notebook",
    }[broken]
    assert expected in done.stdout, done.stdout
    assert "complete the tasks" not in done.stdout
