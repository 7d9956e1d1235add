"""Build submissions (honest and hostile) for grader tests and the grading benchmark.

Used by ``tests/test_grader_attacks.py`` and ``bench/bench_grading.py``. A submission is
the RELEASED notebook (what students download) with solution cells filled in: the honest
ones with the instructor's solutions (from the source notebook), the hostile ones with one
cell replaced by an attack file of this folder (see README.md).
"""
from __future__ import annotations

import base64
import contextlib
import copy
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GRADER = REPO / "grader"
ASSIGNMENT = "module1"
NOTEBOOK = "neurons.ipynb"
#: a 1x1 PNG: stands for the student's own plot in a plotting cell's outputs
PNG_1x1 = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201"
    "a5f6b3a50000000049454e44ae426082")).decode()


@dataclass
class Attack:
    name: str
    doc: str
    cell: str | None
    code: str
    fails: set[str]
    plain: str
    edit: str | None = None
    output: list[str] = field(default_factory=list)   # MIME types of a saved output


def load_attacks() -> list[Attack]:
    attacks = []
    for path in sorted(HERE.glob("[0-9][0-9]_*.py")):
        text = path.read_text()
        m = re.match(r'\s*"""(.*?)"""\n(.*)', text, re.S)
        if not m:
            raise ValueError(f"{path.name}: no docstring header")
        doc, code = m.groups()
        head = dict(re.findall(r"^(cell|fails|plain|edit|output):[ \t]*(.*)$", doc, re.M))
        cell = head.get("cell", "none").strip()
        attacks.append(Attack(
            name=path.stem, doc=doc.strip().splitlines()[0], code=code,
            cell=None if cell == "none" else cell,
            fails=set(head.get("fails", "").split()), plain=head.get("plain", "same").strip(),
            edit=(head.get("edit") or "").strip() or None,
            output=head.get("output", "").split()))
    return attacks


def autograded_points(course: Path) -> dict[str, float]:
    """Full marks per autograded cell of the course's source notebook: its points, or for an
    optional task's cell (0 points) the extra credit a pass earns (nbgrader adds it to the
    cell's score)."""
    from neurograder import grading
    from neurograder.extra_credit import bonus_points
    tests = grading.load_spec(course / "source" / ASSIGNMENT / NOTEBOOK).tests
    return {gid: points + (bonus_points(gid, ASSIGNMENT) or 0.0) for gid, points in tests.items()}


def _nbg(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def strip_solution_markers(src: str) -> str:
    return "\n".join(line for line in src.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def honest_notebook(course: Path) -> nbformat.NotebookNode:
    """The released notebook with every code solution cell filled in from the source."""
    release = nbformat.read(str(course / "release" / ASSIGNMENT / NOTEBOOK), as_version=4)
    source = nbformat.read(str(course / "source" / ASSIGNMENT / NOTEBOOK), as_version=4)
    answers = {_nbg(c)["grade_id"]: c.source for c in source.cells
               if _nbg(c).get("solution") and c.cell_type == "code"}
    for cell in release.cells:
        gid = _nbg(cell).get("grade_id")
        if gid in answers and gid != "task43_slider_answer":
            cell.source = strip_solution_markers(answers[gid])
    plot_cell(release).outputs = [nbformat.v4.new_output(   # the student's plot, as saved
        "display_data", data={"image/png": PNG_1x1, "text/plain": "<Figure>"})]
    return release


def plot_cell(nb):
    """The locked plotting cell right after the Task 1 solution (its id is generated)."""
    seen = False
    for cell in nb.cells:
        md = _nbg(cell)
        if md.get("grade_id") == "task1_leaky_integrator_solution":
            seen = True
        elif seen and cell.cell_type == "code" and md.get("locked") and not md.get("grade"):
            return cell
    raise LookupError("no plotting cell after the Task 1 solution")


def set_cell(nb, grade_id: str, source: str):
    for cell in nb.cells:
        if _nbg(cell).get("grade_id") == grade_id:
            cell.source = source
            return
    raise KeyError(grade_id)


def attack_notebook(course: Path, attack: Attack) -> nbformat.NotebookNode:
    from nbgrader.utils import compute_checksum
    nb = honest_notebook(course)
    if attack.cell and attack.output:   # the honest cell, with the file's text as its output
        cell = next(c for c in nb.cells if _nbg(c).get("grade_id") == attack.cell)
        cell.outputs = [nbformat.v4.new_output(
            "display_data", data={mime: attack.code for mime in attack.output})]
    elif attack.cell:
        set_cell(nb, attack.cell, attack.code)
    if attack.edit == "delete-tests":
        gone = {"task1_leaky_integrator_visible", "task1_leaky_integrator_hidden",
                "task41_li_surface_visible", "task41_li_surface_hidden"}
        nb.cells = [c for c in nb.cells if _nbg(c).get("grade_id") not in gone]
    elif attack.edit == "widget-state":
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
            "version_major": 2, "version_minor": 0, "state": {}}}
    elif attack.edit == "edit-metadata":
        for cell in nb.cells:
            md = _nbg(cell)
            if md.get("grade_id") == "task1_leaky_integrator_hidden":
                cell.source = "pass"
                md["locked"] = False
                md["points"] = 100
                md["checksum"] = compute_checksum(cell)
            elif md.get("grade_id") == "task1_leaky_integrator_visible":
                md["grade"] = False
            elif md.get("grade_id") == "task2_lif_visible":
                md["points"] = 100
    return nb


NO_RESET_LIF = '''def leaky_integrate_and_fire(input_data, tau, threshold):
    x = np.asarray(input_data, dtype=float)
    spikes, membrane, v = np.zeros(len(x)), np.zeros(len(x)), 0.0
    for k in range(len(x)):
        v = v + (x[k] - v) / tau
        spikes[k] = 1.0 if v > threshold else 0.0
        membrane[k] = v          # forgot the reset
    return spikes, membrane
'''

TORCH_LI = '''import torch

def leaky_integrator(input_data, tau):
    x = torch.as_tensor(input_data, dtype=torch.float64)
    out = torch.zeros_like(x)
    v = torch.tensor(0.0, dtype=torch.float64)
    for k in range(len(x)):
        v = v + (x[k] - v) / tau
        out[k] = v
    return out
'''

WRONG_COSINE = '''def cosine_signal(max_x, samples=100):
    return np.cos(np.linspace(0, max_x, samples))      # forgot (... + 1) / 2
'''


def honest_variants(course: Path) -> dict[str, nbformat.NotebookNode]:
    """Honest submissions with known marks (plain nbgrader grades them correctly)."""
    full = honest_notebook(course)
    partial = honest_notebook(course)
    set_cell(partial, "task2_lif_solution", NO_RESET_LIF)
    set_cell(partial, "task3_cosine_signal_solution", WRONG_COSINE)
    torch_nb = honest_notebook(course)
    set_cell(torch_nb, "task1_leaky_integrator_solution", TORCH_LI)
    stub = nbformat.read(str(course / "release" / ASSIGNMENT / NOTEBOOK), as_version=4)
    lost = honest_notebook(course)     # the Task 1 answer pasted into a fresh cell
    for cell in lost.cells:
        if _nbg(cell).get("grade_id") == "task1_leaky_integrator_solution":
            del cell.metadata["nbgrader"]
            cell.metadata.pop("deletable", None)
            cell.metadata.pop("editable", None)
    return {"honest_full": full, "honest_partial": partial, "honest_torch": torch_nb,
            "honest_stub": stub, "honest_late": copy.deepcopy(full), "honest_lost_metadata": lost}


def write_submission(course: Path, student: str, nb=None, raw: bytes | None = None,
                     timestamp: str | None = None):
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / NOTEBOOK
    if raw is not None:
        path.write_bytes(raw)
    else:
        nbformat.write(nb, str(path))
    if timestamp:
        (folder / "timestamp.txt").write_text(timestamp)


FOREIGN = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('my holiday pictures')")])

#: due date of the test course, and timestamps on either side of it
DUEDATE = "2026-11-20 12:00:00 UTC"
ON_TIME = "2026-11-19 10:00:00 UTC"
LATE = "2026-11-22 09:30:00 UTC"


def tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def nbgrader(course: Path, *args: str, timeout: float, **extra_env) -> subprocess.CompletedProcess:
    """The real ``nbgrader <args>`` run in the course folder ``course`` with the venv's tools
    (``extra_env`` added to its environment); its output captured as text."""
    return subprocess.run(
        [tool("nbgrader"), *args],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=venv_env(**extra_env),
    )


def venv_env(**extra) -> dict:
    """Environment for the venv's CLIs (nbgrader runs `alembic` from PATH)."""
    import os
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def honest_class(course: Path, count: int) -> list[str]:
    """``count`` students (student00, ...) who each submit the honest notebook on time."""
    honest = honest_notebook(course)
    names = [f"student{k:02d}" for k in range(count)]
    for name in names:
        write_submission(course, name, honest, timestamp=ON_TIME)
    return names


#: CPU priority (nice value) of a batch whose per-student outcomes a test judges under the
#: sandbox's wall-clock limits: ahead of the other tests' work on a shared machine (chromium
#: page loads, plain nbgrader kernels), so those limits meet the student's code, not the load
AHEAD_OF_OTHER_TESTS = -10


def run_batch(course: Path, *args: str, jobs: int = 2, timeout: float,
              priority: int | None = None) -> subprocess.CompletedProcess:
    """``python -m neurograder.batch`` (``make grade``) on ``course`` with ``jobs`` workers and
    ``args``, to its end (no progress bar; output captured as text); ``priority``: the nice
    value it and everything it starts (workers, sandboxes) run at (root may raise it)."""
    return subprocess.run(
        [sys.executable, "-m", "neurograder.batch", "--course", str(course), "--jobs", str(jobs), "--no-progress", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=venv_env(),
        preexec_fn=None if priority is None else lambda: os.setpriority(os.PRIO_PROCESS, 0, priority),
    )


def start_batch(course: Path, jobs: int) -> subprocess.Popen:
    """``python -m neurograder.batch`` on ``course`` with ``jobs`` workers, in the background
    (no progress bar; output captured as text), with Ctrl-C (SIGINT) at its default as from a
    terminal: an ignored SIGINT is inherited, and a test worker may have it ignored (an earlier
    test's library), which would make the batch ignore a test's Ctrl-C."""
    return subprocess.Popen([sys.executable, "-m", "neurograder.batch", "--course", str(course),
                             "--jobs", str(jobs), "--no-progress"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=venv_env(),
                            preexec_fn=_default_sigint)


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def ahead_of_the_batch(priority: int = -15):
    """Run this thread at a high CPU priority (root may), back to its own on leaving.

    For a test that waits for an event in a running batch and then acts on it (Ctrl-C after
    the first graded student, SIGKILL of a busy worker): on a loaded machine the batch, at
    its normal priority, could otherwise grade the whole class before the test gets the CPU
    to act. Enter it after starting the batch (children inherit a thread's priority), so the
    batch and its sandboxes keep theirs and no time limit gets tighter."""
    before = os.getpriority(os.PRIO_PROCESS, 0)
    os.setpriority(os.PRIO_PROCESS, 0, priority)  # needs root, as the suite runs
    try:
        yield
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, before)


def make_course(dest: Path, overrides: str = "") -> Path:
    """A fresh nbgrader course: our config (+ overrides), the source notebook, and the real
    ``nbgrader generate_assignment`` for the release and gradebook."""
    src = GRADER / "source" / ASSIGNMENT / NOTEBOOK
    if not src.exists():
        subprocess.run([sys.executable, "-m", "course.notebooks", "build"], cwd=REPO, check=True)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(GRADER / "source", dest / "source")
    cfg = (GRADER / "nbgrader_config.py").read_text() + "\n" + overrides + "\n"
    (dest / "nbgrader_config.py").write_text(cfg)
    subprocess.run([tool("nbgrader"), "generate_assignment", ASSIGNMENT, "--force",
                    "--log-level=ERROR"], cwd=dest, check=True, capture_output=True, env=venv_env())
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{dest / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=DUEDATE)
        gb.update_or_create_student("zz_missing", first_name="Never", last_name="Submitted")
    return dest


def populate(course: Path, attacks: list[Attack], plain: bool = False,
             honest: tuple[str, ...] | None = None) -> dict[str, str]:
    """Write the corpus into ``course/submitted``; return student -> kind.

    ``plain=True`` writes only what plain nbgrader can safely run in one batch: the attacks
    marked ``fooled`` or ``robbed`` (``stopped`` ones must run alone, ``skip`` ones would harm
    the machine, ``same`` ones add only time), and the honest ones named in ``honest``.
    """
    kinds = {}
    for name, nb in honest_variants(course).items():
        if honest is not None and name not in honest:
            continue
        write_submission(course, name, nb, timestamp=LATE if name == "honest_late" else ON_TIME)
        kinds[name] = "honest"
    for attack in attacks:
        if plain and attack.plain not in ("fooled", "robbed", "outlives"):
            continue
        write_submission(course, attack.name, attack_notebook(course, attack), timestamp=ON_TIME)
        kinds[attack.name] = "attack"
    if not plain:
        write_submission(course, "bad_corrupted", raw=b'{"cells": [ not json', timestamp=ON_TIME)
        write_submission(course, "bad_foreign", FOREIGN, timestamp=ON_TIME)
        kinds["bad_corrupted"] = kinds["bad_foreign"] = "bad"
    return kinds
