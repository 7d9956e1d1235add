"""Does what a grading worker keeps from one student to the next change anything it writes?

Each question is answered against an independent reference: nbgrader's own SaveAutoGrades on a
copy of the same gradebook, SQLite read directly, and the checks' own (uncached) case makers.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attacks import corpus  # noqa: E402

from neurograder import grading, records, warm  # noqa: E402
from neurograder.preprocessors import SaveAutoGradesOnce  # noqa: E402

STUDENT = "s1"


def _graded_notebook(course: Path) -> nbformat.NotebookNode:
    """The released notebook with every other graded cell failed (an error output), the
    Task 1 answer filled in and every other answer left as released ("No response.")."""
    nb = corpus.honest_notebook(course)
    release = nbformat.read(str(course / "release" / corpus.ASSIGNMENT / corpus.NOTEBOOK), 4)
    stubs = {corpus._nbg(c).get("grade_id"): c.source for c in release.cells}
    graded = 0
    for cell in nb.cells:
        md = corpus._nbg(cell)
        if md.get("solution") and md.get("grade_id") != "task1_leaky_integrator_solution":
            cell.source = stubs[md["grade_id"]]
        if cell.cell_type == "code" and md.get("grade") and not md.get("solution"):
            graded += 1
            cell.outputs = (
                [nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[])] if graded % 2 else []
            )
    return nb


def _save(saver, course: Path, db: Path, nb) -> dict:
    """``saver`` run on ``nb`` as the student's submission in gradebook ``db`` (with a hand
    score already given to the first graded cell); the submission's record afterwards."""
    from nbgrader.api import Gradebook

    url = f"sqlite:///{db}"
    with Gradebook(url) as gb:
        gb.update_or_create_student(STUDENT)
        sub = gb.update_or_create_submission(corpus.ASSIGNMENT, STUDENT)
        sub.notebooks[0].grades[0].manual_score = 1.0
        gb.db.commit()
    resources = {
        "nbgrader": {
            "notebook": Path(corpus.NOTEBOOK).stem,
            "assignment": corpus.ASSIGNMENT,
            "student": STUDENT,
            "db_url": url,
        }
    }
    saver().preprocess(nbformat.from_dict(nb), resources)
    return records.submission_record(url, corpus.ASSIGNMENT, STUDENT)


@pytest.mark.timeout(300)
def test_saving_once_writes_what_nbgraders_saving_writes(tmp_path, new_course):
    """SaveAutoGradesOnce (rows loaded at once, one commit) against nbgrader's own
    SaveAutoGrades on a copy of the same gradebook: every score, review flag and comment."""
    from nbgrader.preprocessors import SaveAutoGrades

    course = new_course(tmp_path / "course")
    nb = _graded_notebook(course)
    theirs, ours = tmp_path / "theirs.db", tmp_path / "ours.db"
    shutil.copyfile(course / "gradebook.db", theirs)
    shutil.copyfile(course / "gradebook.db", ours)
    expected = _save(SaveAutoGrades, course, theirs, nb)
    got = _save(SaveAutoGradesOnce, course, ours, nb)
    assert got == expected
    grades = [g for n in expected["notebooks"].values() for g in n["grades"].values()]
    comments = [c for n in expected["notebooks"].values() for c in n["comments"].values()]
    # the comparison covers passed, failed, flagged and "No response." cells
    assert {g["auto_score"] for g in grades if g["auto_score"] is not None} >= {0.0} and any(
        (g["auto_score"] or 0) > 0 for g in grades
    )
    assert any(g["needs_manual_grade"] for g in grades)
    assert any(c["auto_comment"] == "No response." for c in comments)
    assert any(c["auto_comment"] is None for c in comments)


@pytest.fixture
def shared_engines(monkeypatch):
    """warm.share_gradebook_engines() for this test only (nbgrader's Gradebook restored)."""
    from nbgrader.api import Gradebook

    # nbgrader runs `alembic` from PATH when it makes a new gradebook: the venv's
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    monkeypatch.setattr(Gradebook, "__init__", Gradebook.__init__)
    monkeypatch.setattr(Gradebook, "close", Gradebook.close)
    monkeypatch.setattr(warm, "_ENGINES", {})
    monkeypatch.setattr(warm, "_COURSES", set())
    monkeypatch.setattr(warm, "_FILES", {})
    monkeypatch.setattr(warm, "_SESSIONS", {})
    monkeypatch.setattr(warm, "_SPANS", {})
    warm.share_gradebook_engines()
    yield Gradebook
    for engine in warm._ENGINES.values():
        engine.dispose()


def _rows(db: Path, sql: str) -> list:
    with sqlite3.connect(db) as con:
        return con.execute(sql).fetchall()


@pytest.mark.timeout(120)
def test_a_shared_engine_writes_to_disk_and_new_gradebooks_are_made(tmp_path, shared_engines):
    """Reopening a gradebook reuses its engine, yet what one open commits is on disk for any
    other reader; a new gradebook file still gets nbgrader's tables and a new course its row."""
    Gradebook = shared_engines
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    with Gradebook(f"sqlite:///{first}", "course-a") as gb:
        engine = gb.engine
        gb.update_or_create_student("ada")
    with Gradebook(f"sqlite:///{first}", "course-a") as gb:
        assert gb.engine is engine
        gb.update_or_create_student("bob")
    assert sorted(r[0] for r in _rows(first, "select id from student")) == ["ada", "bob"]
    with Gradebook(f"sqlite:///{first}", "course-b"):
        pass
    assert sorted(r[0] for r in _rows(first, "select id from course")) == ["course-a", "course-b"]
    with Gradebook(f"sqlite:///{second}") as gb:
        assert gb.engine is not engine
    tables = {r[0] for r in _rows(second, "select name from sqlite_master where type='table'")}
    assert {"student", "grade", "comment", "alembic_version"} <= tables


def _student_ids(db: Path) -> list:
    return sorted(r[0] for r in _rows(db, "select id from student"))


@pytest.mark.timeout(120)
def test_gradebooks_opened_in_one_transaction_write_together_at_its_end(tmp_path, shared_engines):
    """Inside ``warm.one_transaction``, do gradebooks opened one after the other (each
    committing and closing, as nbgrader's steps do) write nothing another reader sees until
    the block ends, and then all of it?"""
    Gradebook = shared_engines
    db = tmp_path / "a.db"
    url = f"sqlite:///{db}"
    with Gradebook(url) as gb:  # the process's first open (nbgrader's own)
        gb.update_or_create_student("ada")
    with warm.one_transaction(url):
        with Gradebook(url) as gb:
            gb.update_or_create_student("bob")
        assert _student_ids(db) == ["ada"]  # another connection: not yet
        with Gradebook(url) as gb:
            assert sorted(s.id for s in gb.students) == ["ada", "bob"]  # the block's own writes
            gb.update_or_create_student("cy")
        assert _student_ids(db) == ["ada"]
    assert _student_ids(db) == ["ada", "bob", "cy"]


@pytest.mark.timeout(120)
def test_a_transaction_that_fails_keeps_nothing(tmp_path, shared_engines):
    """A block that raises, or in which a write was rolled back (nbgrader rolls back a
    duplicate row and raises InvalidEntry, which a caller might catch), leaves the gradebook
    as it was before the block: nothing of what was written in it is kept."""
    from nbgrader.api import InvalidEntry

    Gradebook = shared_engines
    db = tmp_path / "a.db"
    url = f"sqlite:///{db}"
    with Gradebook(url) as gb:
        gb.add_student("ada")
    with pytest.raises(KeyError):
        with warm.one_transaction(url):
            with Gradebook(url) as gb:
                gb.add_student("bob")
            raise KeyError("a later step failed")
    assert _student_ids(db) == ["ada"]
    with pytest.raises(RuntimeError, match="rolled back"):
        with warm.one_transaction(url):
            with Gradebook(url) as gb:
                gb.add_student("cy")
            with Gradebook(url) as gb:
                with pytest.raises(InvalidEntry):
                    gb.add_student("ada")  # a duplicate: nbgrader rolls back
                gb.add_student("dee")
    assert _student_ids(db) == ["ada"]
    with Gradebook(url) as gb:  # the gradebook works as before afterwards
        gb.add_student("eve")
    assert _student_ids(db) == ["ada", "eve"]


@pytest.mark.timeout(120)
def test_a_score_read_after_a_commit_in_the_transaction_is_the_new_one(tmp_path, shared_engines, new_course):
    """nbgrader's scores are SQL aggregates loaded with their rows: after a step changes a
    grade and commits inside the block, does the next step read the notebook's new score
    (as after a real commit), not the one loaded before?"""
    Gradebook = shared_engines
    course = new_course(tmp_path / "course")
    url = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.update_or_create_student(STUDENT)
        gb.update_or_create_submission(corpus.ASSIGNMENT, STUDENT)
    with warm.one_transaction(url):
        with Gradebook(url) as gb:
            sub = gb.find_submission_notebook(Path(corpus.NOTEBOOK).stem, corpus.ASSIGNMENT, STUDENT)
            before = sub.score
            grade = next(g for g in sub.grades if g.max_score > 0)
            points = grade.auto_score = grade.max_score
            gb.db.commit()
            assert sub.score == before + points
    with Gradebook(url) as gb:
        sub = gb.find_submission_notebook(Path(corpus.NOTEBOOK).stem, corpus.ASSIGNMENT, STUDENT)
        assert sub.score == before + points


#: a grading worker (``neurograder.worker``, as the batch runs it) grading the course in its
#: working folder: ``ada`` as usual, then ``bob`` with the results step that follows the
#: scores failing; prints each one's outcome and how many transactions that wrote to the
#: gradebook it committed (seen at SQLAlchemy's engine: a commit after an INSERT, UPDATE or
#: DELETE on the same connection)
WORKER_SCRIPT = """
import json, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
from neurograder.late import ApplyExtensions
from neurograder import worker

wrote, written = set(), []
@event.listens_for(Engine, "before_cursor_execute")
def _statement(conn, cursor, statement, *args):
    if statement.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE"):
        wrote.add(id(conn.connection.dbapi_connection))
@event.listens_for(Engine, "commit")
def _commit(conn):
    key = id(conn.connection.dbapi_connection)
    if key in wrote:
        wrote.discard(key)
        written.append(1)

def failing(self, nb, resources):
    raise RuntimeError("extensions unreadable")

worker.warm_up(".", "module1")
out = {}
for student in ("ada", "bob"):
    if student == "bob":
        ApplyExtensions.preprocess = failing
    written.clear()
    result = worker.grade_one(".", "module1", student, True)
    out[student] = {"status": result["status"], "transactions": len(written)}
print(json.dumps(out))
"""


@pytest.mark.timeout(300)
def test_a_worker_writes_a_student_in_two_transactions_and_keeps_no_half_results(tmp_path, new_course):
    """A grading worker writes each new student in two gradebook transactions: the student's
    and submission's rows before the sandbox runs, and every result (scores, extra credit,
    hand grades, extensions, late penalty) after it. When a results step fails, none of that
    student's results are kept (the rows made before stay; the student is graded again on the
    next run), instead of the scores without the rest."""
    import subprocess

    course = new_course(tmp_path / "course")
    for student in ("ada", "bob"):
        corpus.write_submission(course, student, corpus.honest_notebook(course), timestamp=corpus.ON_TIME)
    run = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT],
        cwd=course,
        env=corpus.venv_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out == {"ada": {"status": "graded", "transactions": 2}, "bob": {"status": "error", "transactions": 1}}
    scores = dict(
        _rows(
            course / "gradebook.db",
            "select submitted_assignment.student_id, count(grade.auto_score) from grade"
            " join submitted_notebook on grade.notebook_id = submitted_notebook.id"
            " join submitted_assignment on submitted_notebook.assignment_id = submitted_assignment.id"
            " group by submitted_assignment.student_id",
        )
    )
    assert scores["ada"] > 0 and scores["bob"] == 0, scores


@pytest.mark.timeout(120)
def test_a_new_gradebook_gets_the_schema_version_alembic_heads_prints(tmp_path, monkeypatch):
    """Is a gradebook created with the schema version read in the process stamped with what
    nbgrader's own way (the ``alembic heads`` command) gives, and made with no ``alembic`` on
    PATH at all?"""
    import nbgrader.api
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    by_the_command = nbgrader.api.get_alembic_version()  # (nbgrader's: starts `alembic heads`)
    assert len(by_the_command) == 12 and int(by_the_command, 16) >= 0
    monkeypatch.setattr(nbgrader.api, "get_alembic_version", nbgrader.api.get_alembic_version)
    warm.schema_version_in_process()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no alembic to start
    db = tmp_path / "new.db"
    with Gradebook(f"sqlite:///{db}"):
        pass
    assert _rows(db, "select version_num from alembic_version") == [(by_the_command,)]


def _connection(gb):
    """The SQLite connection (the DB-API object) an open gradebook's session uses."""
    return gb.db.connection().connection.dbapi_connection


@pytest.mark.timeout(120)
def test_reopened_gradebooks_reuse_one_connection_and_see_other_writers(tmp_path, shared_engines):
    """Does a later open of the same gradebook reuse the pooled SQLite connection (nbgrader's
    close disposes of it), and still see what another connection committed in between?"""
    Gradebook = shared_engines
    db = tmp_path / "a.db"
    with Gradebook(f"sqlite:///{db}") as gb:
        gb.update_or_create_student("ada")
        first = _connection(gb)
    with sqlite3.connect(db) as con:  # another writer (another worker, the driver)
        con.execute("insert into student (id) values ('bob')")
    with Gradebook(f"sqlite:///{db}") as gb:
        assert _connection(gb) is first
        assert sorted(s.id for s in gb.students) == ["ada", "bob"]


@pytest.mark.timeout(120)
def test_a_gradebook_file_replaced_at_the_same_path_is_the_one_read_and_written(tmp_path, shared_engines):
    """After the gradebook file is replaced by another (removed, or a copy put at its path),
    does the next open read and write the new file, not the pooled connection's old one?"""
    Gradebook = shared_engines
    db, other = tmp_path / "a.db", tmp_path / "b.db"
    for path, student in ((db, "ada"), (other, "bob")):
        with Gradebook(f"sqlite:///{path}") as gb:
            gb.update_or_create_student(student)
    shutil.copyfile(other, tmp_path / "copy.db")
    os.replace(tmp_path / "copy.db", db)
    with Gradebook(f"sqlite:///{db}") as gb:
        assert [s.id for s in gb.students] == ["bob"]
        gb.update_or_create_student("cy")
    assert sorted(r[0] for r in _rows(db, "select id from student")) == ["bob", "cy"]
    db.unlink()
    with Gradebook(f"sqlite:///{db}") as gb:  # a new file: nbgrader's tables made again
        gb.update_or_create_student("dee")
    assert [r[0] for r in _rows(db, "select id from student")] == ["dee"]


@pytest.mark.timeout(120)
def test_a_forked_child_opens_its_own_connection_and_leaves_its_parents(tmp_path, shared_engines):
    """A worker forked while its parent holds a pooled connection: does the child write
    through a connection of its own, and does the parent's still work afterwards?"""
    Gradebook = shared_engines
    db = tmp_path / "a.db"
    with Gradebook(f"sqlite:///{db}") as gb:
        gb.update_or_create_student("ada")
        parents = _connection(gb)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whether it got a connection of its own, then exit
        try:
            with Gradebook(f"sqlite:///{db}") as gb:
                gb.update_or_create_student("kid")
                os.write(write, b"own" if _connection(gb) is not parents else b"inherited")
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        said = fh.read()
    os.waitpid(pid, 0)
    assert said == b"own"
    with Gradebook(f"sqlite:///{db}") as gb:
        assert _connection(gb) is parents
        assert sorted(s.id for s in gb.students) == ["ada", "kid"]


def _write_secret(path: Path, fill: str) -> Path:
    path.write_text(fill * 64 + "\n")
    return path


@pytest.mark.timeout(120)
def test_hidden_cases_follow_the_course_secret_within_one_process(tmp_path, monkeypatch):
    """A process draws each check's cases once, yet another course secret gets that secret's
    cases (the checks' own case maker, uncached, is the reference) and the first comes back."""
    checks, _ = grading.load_checks(assignment=corpus.ASSIGNMENT)
    check = next(c for c in checks.values() if c.kind == "call")
    monkeypatch.setenv("NEUROGRADER_SECRET_FILE", str(_write_secret(tmp_path / "a", "a")))
    first, _ = grading.check_cases(check)
    assert grading.check_cases(check)[0] is first  # drawn once
    assert first == grading._plain_cases(check.cases())
    monkeypatch.setenv("NEUROGRADER_SECRET_FILE", str(_write_secret(tmp_path / "b", "b")))
    other, _ = grading.check_cases(check)
    assert other == grading._plain_cases(check.cases()) and other != first
    monkeypatch.setenv("NEUROGRADER_SECRET_FILE", str(tmp_path / "a"))
    assert grading.check_cases(check)[0] == first


class _Breaks:
    """A preprocessor that leaves an output nbformat's schema refuses (a stream without text)."""

    def __call__(self, nb, resources):
        code = next(c for c in nb.cells if c.cell_type == "code")
        code.outputs = [nbformat.from_dict({"output_type": "stream", "name": "stdout"})]
        return nb, resources


def _export(exporter_class, path: Path, preprocessors=(), optimistic=False) -> str:
    from nbconvert.preprocessors import ClearOutputPreprocessor

    exporter = exporter_class(optimistic_validation=optimistic)
    exporter.register_preprocessor(ClearOutputPreprocessor(enabled=True))
    for pp in preprocessors:
        exporter.register_preprocessor(pp)
    output, _ = exporter.from_filename(str(path))
    return output


@pytest.mark.timeout(120)
@pytest.mark.parametrize("optimistic", [False, True])
def test_the_read_once_exporter_writes_what_nbconverts_exporter_writes(tmp_path, new_course, optimistic):
    """The workers' exporter (one validation per conversion, no copies) against nbconvert's
    NotebookExporter on the released notebook and on a student's: the same text, byte for
    byte; a notebook its preprocessors make invalid fails in both. With nbconvert's
    validation after each preprocessor, and after the last only (``optimistic``: the
    course's nbgrader_config.py sets it)."""
    from nbconvert.exporters import NotebookExporter

    course = new_course(tmp_path / "course")
    honest = tmp_path / "honest.ipynb"
    nbformat.write(corpus.honest_notebook(course), str(honest))
    for path in (course / "release" / corpus.ASSIGNMENT / corpus.NOTEBOOK, honest):
        ours = _export(warm.ReadOnceNotebookExporter, path, optimistic=optimistic)
        assert ours == _export(NotebookExporter, path, optimistic=optimistic)
    for exporter_class in (NotebookExporter, warm.ReadOnceNotebookExporter):
        with pytest.raises(nbformat.ValidationError):
            _export(exporter_class, honest, [_Breaks()], optimistic=optimistic)


def _forked_worker_state(notebook: str) -> dict:
    """(In a forked process) what a worker inherits: the sanitiser's cache on the released
    notebook's Markdown cells (how many there are, how many the cache missed)."""
    from neurograder import sanitize

    before = sanitize._sanitize_markdown_cached.cache_info()
    cells = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "markdown"]
    for cell in cells:
        sanitize.sanitize_markdown(cell.source)
    after = sanitize._sanitize_markdown_cached.cache_info()
    return {"cells": len(cells), "misses": after.misses - before.misses}


@pytest.mark.timeout(300)
def test_workers_forked_after_prepare_class_inherit_the_chapters_sanitised_markdown(tmp_path, new_course, monkeypatch):
    """The batch prepares a class once before it forks its workers (neurograder.worker's
    ``prepare_class``): does a process forked after it find the chapter's Markdown already
    sanitised (no cache miss on any released Markdown cell), where one forked before it
    renders every cell?"""
    import multiprocessing

    from neurograder import sanitize, worker

    course = new_course(tmp_path / "course")
    monkeypatch.chdir(course)
    notebook = str(course / "release" / corpus.ASSIGNMENT / corpus.NOTEBOOK)
    fork = multiprocessing.get_context("fork")
    sanitize._sanitize_markdown_cached.cache_clear()  # (whatever earlier tests in this process sanitised)
    with fork.Pool(1) as pool:
        cold = pool.apply(_forked_worker_state, (notebook,))
    worker.prepare_class(str(course), corpus.ASSIGNMENT)
    with fork.Pool(1) as pool:
        warm_state = pool.apply(_forked_worker_state, (notebook,))
    distinct = {c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "markdown"}
    assert cold["cells"] > 10 and cold["misses"] == len(distinct)  # (each text rendered once)
    assert warm_state["misses"] == 0
