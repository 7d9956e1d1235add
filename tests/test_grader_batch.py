"""Can one odd submission folder or one killed worker stop the class, or leak a file?

Each question is answered on a fresh course (the real ``nbgrader generate_assignment``) by
the instructor's two commands: ``python -m neurograder.batch`` (``make grade``) and the real
``nbgrader autograde`` CLI with the course's nbgrader_config.py. The honest classmate in the
same class must get plain full marks (the total of the source notebook's test points).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attacks import corpus  # noqa: E402
from test_grader_attacks import OURS_CFG, _batch, _copy, _scores  # noqa: E402

from neurograder.intake import printable, refused_entries  # noqa: E402

HONEST = "honest_a"
#: control characters in a student's folder name: clear screen, bell, carriage return
CONTROL = "\x1b[2J\x07\r"
CONTROL_STUDENT = "ctl" + CONTROL
SECRET_FILE = "/etc/shadow"


def _odd_class(course: Path) -> dict[str, str]:
    """Write the hostile class into ``course``; return student -> what it does."""
    honest = corpus.honest_notebook(course)
    corpus.write_submission(course, HONEST, honest, timestamp=corpus.ON_TIME)

    listed = corpus.honest_notebook(course)  # nbformat accepts a list as grade_id
    cell = nbformat.v4.new_markdown_cell("my notes")
    cell.metadata["nbgrader"] = {
        "grade_id": ["task1", "x"],
        "grade": False,
        "solution": False,
        "locked": False,
        "schema_version": 3,
    }
    listed.cells.insert(3, cell)
    corpus.write_submission(course, "list_grade_id", listed, timestamp=corpus.ON_TIME)

    control = corpus.honest_notebook(course)  # a schema error, under a name with controls
    control.metadata["kernelspec"] = {"name": 7, "display_name": "owned"}
    corpus.write_submission(course, CONTROL_STUDENT, control, timestamp=corpus.ON_TIME)

    folder = course / "submitted" / "link_classmate" / corpus.ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / corpus.NOTEBOOK).symlink_to(Path("..") / ".." / HONEST / corpus.ASSIGNMENT / corpus.NOTEBOOK)

    corpus.write_submission(course, "link_shadow", honest, timestamp=corpus.ON_TIME)
    (course / "submitted" / "link_shadow" / corpus.ASSIGNMENT / "notes.txt").symlink_to(SECRET_FILE)
    return {
        HONEST: "honest",
        "list_grade_id": "corrupted",
        CONTROL_STUDENT: "corrupted",
        "link_classmate": "corrupted",
        "link_shadow": "corrupted",
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory, new_course):
    return new_course(tmp_path_factory.mktemp("course") / "template", OURS_CFG)


@pytest.fixture(scope="module")
def batch(template, tmp_path_factory):
    course = _copy(template, tmp_path_factory.mktemp("batch") / "course")
    kinds = _odd_class(course)
    run = _batch(course, timeout=600)
    with open(course / "module1_report.csv", newline="") as fh:
        report = {r["student"]: r for r in csv.DictReader(fh)}
    return {
        "course": course,
        "kinds": kinds,
        "run": run,
        "scores": _scores(course),
        "report": report,
        "report_text": (course / "module1_report.csv").read_text(),
    }


@pytest.fixture(scope="module")
def cli(template, tmp_path_factory):
    course = _copy(template, tmp_path_factory.mktemp("cli") / "course")
    kinds = _odd_class(course)
    run = corpus.nbgrader(course, "autograde", "module1", timeout=600)
    return {"course": course, "kinds": kinds, "run": run, "scores": _scores(course)}


def _full(course: Path) -> float:
    return sum(corpus.autograded_points(course).values())


def _copied_links(course: Path) -> list[str]:
    """Files in autograded/ that are links or hold the secret file's first bytes."""
    found = []
    for path in (course / "autograded").rglob("*"):
        if path.is_symlink() or path.name == "notes.txt":
            found.append(str(path))
    return found


# ------------------------------------------------------------------------------ make grade
@pytest.mark.timeout(900)
def test_batch_grades_the_class_around_odd_notebooks(batch):
    """A list as grade_id, a schema error, two symlinks: the batch ends (exit 0), writes
    grades.csv and the report, and the honest classmate gets full marks."""
    run, course = batch["run"], batch["course"]
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert (course / "grades.csv").exists()
    assert batch["scores"][HONEST]["score"] == _full(course)
    assert batch["report"][HONEST]["status"] == "graded"


@pytest.mark.timeout(900)
def test_each_odd_submission_is_corrupted_with_its_reason_and_zero(batch):
    """Which reason does the report give each odd submission, and what do they score?"""
    report = batch["report"]
    reasons = {
        "list_grade_id": "grade_id is list",
        printable(CONTROL_STUDENT): "not a valid notebook",
        "link_classmate": "neurons.ipynb is a symbolic link",
        "link_shadow": "notes.txt is a symbolic link",
    }
    for student, reason in reasons.items():
        assert report[student]["status"] == "corrupted", (student, report[student])
        assert reason in report[student]["message"], (student, report[student]["message"])
        assert float(report[student]["score"]) == 0, student


@pytest.mark.timeout(900)
def test_no_link_is_followed_or_copied_by_the_batch(batch):
    """The classmate's notebook is not graded for the linker, /etc/shadow is not copied."""
    course = batch["course"]
    assert not (course / "autograded" / "link_classmate").exists()
    assert not (course / "autograded" / "link_shadow").exists()
    assert _copied_links(course) == []


@pytest.mark.timeout(900)
def test_control_characters_never_reach_terminal_or_report(batch):
    """Student-controlled text is printable-only in stdout and in the report CSV."""
    out = batch["run"].stdout
    for text in (out, batch["report_text"].replace("\r\n", "\n")):
        bad = sorted({hex(ord(ch)) for ch in text if not ch.isprintable() and ch != "\n"})
        assert bad == [], bad
    assert f"{printable(CONTROL_STUDENT)}: corrupted" in out


# ------------------------------------------------------------------------------ nbgrader CLI
@pytest.mark.timeout(900)
def test_nbgrader_autograde_refuses_links_and_grades_the_rest(cli):
    """`nbgrader autograde`: the links are refused before anything is copied, the honest
    student gets full marks, nothing of /etc/shadow lands in autograded/."""
    course, run = cli["course"], cli["run"]
    assert "refused" in run.stdout + run.stderr
    assert cli["scores"][HONEST]["score"] == _full(course)
    for student in ("link_classmate", "link_shadow"):
        assert cli["scores"].get(student, {}).get("score", 0) == 0, student
        assert not (course / "autograded" / student).exists(), student
    assert _copied_links(course) == []


# ------------------------------------------------------------------------------ units
@pytest.mark.timeout(60)
def test_refused_entries_names_links_pipes_and_linked_folders(tmp_path):
    """lstat semantics: a link to a file, a linked student folder and a FIFO are each named;
    a folder of plain files and subfolders is accepted."""
    root = tmp_path / "submitted"
    good = root / "alice" / "module1"
    (good / "data").mkdir(parents=True)
    (good / "neurons.ipynb").write_text("{}")
    (good / "data" / "x.npz").write_bytes(b"x")
    assert refused_entries(good, root) == []
    (root / "mallory").symlink_to(root / "alice")
    assert "mallory is a symbolic link" in refused_entries(root / "mallory" / "module1", root)[0]
    os.mkfifo(good / "pipe")
    assert any("pipe is a named pipe" in r for r in refused_entries(good, root))


@pytest.mark.timeout(60)
def test_printable_replaces_every_control_character():
    assert printable("a\x1b[2Jb\x07\r\n\x00\u202ec") == "a?[2Jb?????c"
    assert printable("x" * 50, 10) == "x" * 10 + "..."


# ------------------------------------------------------------------------------ workers
def _children(pid: int) -> list[int]:
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
    return kids


@pytest.mark.timeout(900)
def test_a_killed_worker_costs_at_most_its_student(template, tmp_path):
    """SIGKILL one batch worker while it grades: the batch finishes (exit 0), every student
    is graded with full marks (the killed worker's student is started again), and a rerun
    skips them all."""
    course = _copy(template, tmp_path / "kill")
    names = corpus.honest_class(course, 6)
    proc = corpus.start_batch(course, jobs=2)
    deadline = time.monotonic() + 300
    victim = None
    with corpus.ahead_of_the_batch():  # the batch cannot finish before the test acts
        while victim is None and time.monotonic() < deadline and proc.poll() is None:
            # a worker is busy once it has started a sandbox (a child of its own)
            busy = [w for w in _children(proc.pid) if _children(w)]
            victim = busy[0] if busy else None
            if victim is None:
                time.sleep(0.05)
        assert victim is not None, "no worker was ever seen grading"
        os.kill(victim, signal.SIGKILL)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err[-3000:]
    scores = _scores(course)
    assert {n: scores[n]["score"] for n in names} == {n: _full(course) for n in names}
    again = _batch(course, timeout=600)
    assert f"skipped {len(names)}" in again.stdout.split("\n")[0], again.stdout


# ------------------------------------------------------------------------------ timings
@pytest.mark.timeout(900)
def test_each_marker_says_where_the_students_time_went(batch):
    """The honest student's marker records seconds per grading phase: every phase the
    worker went through is there, none is negative, and together they account for the
    worker's own clock for that student (measured around the whole student)."""
    marker = json.loads((batch["course"] / "autograded" / HONEST / corpus.ASSIGNMENT / ".neurograder.json").read_text())
    timings = marker["timings"]
    for phase in (
        "fingerprint",
        "nbgrader set-up, reading and writing",
        "normalize submission",
        "sandbox set-up and teardown",
        "sandbox start-up",
        "student cells and checks",
        "judging and outputs",
        "gradebook writes",
    ):
        assert phase in timings, (phase, timings)
    assert min(timings.values()) >= 0, timings
    assert timings["sandbox start-up"] > 0 and timings["student cells and checks"] > 0, timings
    total = sum(timings.values())
    assert abs(total - marker["seconds"]) <= 0.05 + 0.02 * marker["seconds"], (total, marker)
    assert marker["cpu_seconds"] > 0


class _RecordingExecutor:
    """Stands in for the batch's workers: records who would have been sent to them, and how
    many workers would have been started before."""

    def __init__(self, sent: list, started: list | None = None):
        self.sent, self.started = sent, started if started is not None else []

    def start(self, assignment, workers):
        self.started.append(workers)

    def run(self, students, assignment, force, heavy=None, workers=None):
        students = list(students)  # (read once: the class is screened as it is read)
        self.sent.append(students)
        for sid in students:
            yield sid, {"student": sid, "status": "graded", "seconds": 0.0}

    def close(self):
        pass

    def kill(self):
        pass


@pytest.mark.timeout(300)
def test_a_rerun_sends_only_changed_submissions_to_the_workers(batch, tmp_path, monkeypatch):
    """With nothing new, does ``make grade`` start no worker (the graded student skipped, the
    gradebook as it was), and after a resubmission hand exactly that student to a worker?"""
    import shutil

    from neurograder import batch as batch_command

    course = tmp_path / "course"
    shutil.copytree(batch["course"], course, symlinks=True)
    sent: list = []
    started: list = []
    monkeypatch.setattr(batch_command, "make_executor", lambda args: _RecordingExecutor(sent, started))
    monkeypatch.chdir(course)  # (the command changes the working folder and PATH: restored after)
    monkeypatch.setenv("PATH", os.environ["PATH"])
    before = _scores(course)

    assert batch_command.main(["--course", str(course), "--no-progress"]) == 0
    assert sent == [[]]
    assert started == []  # (no worker started for nothing)
    assert _scores(course) == before
    with open(course / "module1_report.csv", newline="") as fh:
        assert {r["student"]: r["status"] for r in csv.DictReader(fh)}[HONEST] == "skipped"

    resubmitted = corpus.honest_notebook(course)
    resubmitted.cells.append(nbformat.v4.new_markdown_cell("one more note"))
    corpus.write_submission(course, HONEST, resubmitted, timestamp=corpus.ON_TIME)
    assert batch_command.main(["--course", str(course), "--no-progress"]) == 0
    assert sent[-1] == [HONEST]
    assert started == [1]  # (one worker for the one student, started while the rest was screened)


@pytest.mark.timeout(300)
def test_the_torch_server_started_ahead_ends_with_the_command_when_no_worker_takes_it(batch, tmp_path, monkeypatch):
    """``make grade`` starts the fork server its torch students need before anything else (for
    its first worker to take over): when no worker is ever forked (stand-in workers here),
    is that server still ended and reaped by the time the command returns?"""
    import shutil

    from neurograder import batch as batch_command
    from neurograder import bounds, launch

    if shutil.which("bwrap") is None or os.geteuid() != 0:
        pytest.skip("no bubblewrap sandbox here: no fork servers")
    course = tmp_path / "course"
    shutil.copytree(batch["course"], course, symlinks=True)
    uses_torch = corpus.honest_notebook(course)
    uses_torch.cells.append(nbformat.v4.new_code_cell("import torch\nzeros = torch.zeros(3)"))
    corpus.write_submission(course, HONEST, uses_torch, timestamp=corpus.ON_TIME)
    parked = []
    park = launch.Servers.park.__func__
    monkeypatch.setattr(launch.Servers, "park", classmethod(lambda cls, *a: parked.append(park(cls, *a)) or parked[-1]))
    monkeypatch.setattr(batch_command, "make_executor", lambda args: _RecordingExecutor([]))
    monkeypatch.chdir(course)  # (the command changes the working folder and PATH: restored after)
    monkeypatch.setenv("PATH", os.environ["PATH"])

    assert batch_command.main(["--course", str(course), "--no-progress", "--force"]) == 0
    (server,) = parked
    assert server is not None and server.loaded == {"torch"}
    assert launch.Servers.parked is None
    assert not bounds._alive(server.proc.pid) and server.proc.returncode is not None  # (reaped)


@pytest.mark.timeout(60)
def test_a_dead_sandbox_process_left_as_a_zombie_does_not_hold_up_the_next_student():
    """A killed process whose zombie nobody reaps (an orphan under a container's init) is
    dead: waiting for it returns at once, while a live process is waited for up to the
    timeout."""
    from neurograder import bounds

    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, dead.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped: a zombie
        assert Path(f"/proc/{dead.pid}").exists()
        started = time.monotonic()
        bounds._wait_gone({dead.pid}, timeout=5.0)
        assert time.monotonic() - started < 1.0
        started = time.monotonic()
        bounds._wait_gone({live.pid}, timeout=0.3)
        assert time.monotonic() - started >= 0.3
    finally:
        live.kill()
        live.wait()
        dead.wait()
