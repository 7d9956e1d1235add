"""Can an instructor run a whole term with the commands the README gives, and does every
number they see stay right?

One small class goes, in a throw-away copy of the course (tests/term.py), through exactly
the README's "A term, step by step": roster import, an LMS (Canvas) download collected with
``make collect`` and two late students collected from the exchange, ``make grade``, one
written answer graded by hand in the real formgrader (a ``jupyter server`` in chromium), a
one-word prose edit of the chapter + ``make notebooks`` + ``make grade FORCE=1``, a
resubmission, ``make feedback``, ``nbgrader export`` and ``make report``. Each step is one
test (they share the module's course and run in order; a step whose predecessor failed is
skipped, naming it). The file is a little over 300 lines because the nine steps share one
module-scoped course and must run in order: split across files they would not.

Expected values come from the assignment as students see it (points in the released
notebook's cells, extra credit announced in its text), which cells each student's code
fails (by construction of their notebooks), the late policy's formula (10 % of the score
per started day late after the extension, README) and nbgrader's gradebook read through
nbgrader's own API; never from the grader's code (tests/term_class.py: the class).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import term  # noqa: E402
from attacks import corpus  # noqa: E402
from browser import SiteServer, assert_local_only  # noqa: E402
from term_class import (
    ANSWERS,
    EVE_FIRST,
    EVE_SECOND,
    EXTENSION_DAYS,
    FAILS,  # noqa: E402
    HAND_CELL,
    HAND_COMMENT,
    HAND_SCORE,
    HUB_STUDENTS,
    LATE_BY,
    LMS_STUDENTS,
    PROSE,
    PROSE_EDITED,
    ROSTER,
    STRAY,
    assert_graded,
    assignment_points,
    canvas_file,
    expected_auto,
    expected_late_seconds,
    hub_student,
    penalty_fraction,
    submission,
)


# ---------------------------------------------------------------------------- course state
@pytest.fixture(scope="module")
def t(tmp_path_factory):
    """The course copy (notebooks built with `make notebooks`) and what the steps record."""
    root = term.copy_course(tmp_path_factory.mktemp("term") / "repo")
    term.run(["make", "notebooks"], root, root, timeout=300)
    return SimpleNamespace(
        root=root, course=root / "grader", done=set(), seen={}, fails={sid: set(cells) for sid, cells in FAILS.items()}
    )


def needs(t, *steps):
    missing = [s for s in steps if s not in t.done]
    if missing:
        pytest.skip(f"needs step(s) {missing}, which did not complete")


# ---------------------------------------------------------------------------- the steps
@pytest.mark.timeout(300)  # includes the course copy's `make notebooks` (module fixture)
def test_1_roster_import_and_due_date(t):
    """Step 1: `nbgrader db student import roster.csv` and the due date: the gradebook holds
    the roster (names included) and the assignment's due date."""
    term.roster_csv(t.course / "roster.csv", ROSTER)
    term.run([corpus.tool("nbgrader"), "db", "student", "import", "roster.csv"], t.course, t.root, timeout=90)
    due = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - LATE_BY
    t.due = due
    term.run(
        [
            corpus.tool("nbgrader"),
            "db",
            "assignment",
            "add",
            term.ASSIGNMENT,
            f"--duedate={due.strftime('%Y-%m-%d %H:%M:%S')} UTC",
        ],
        t.course,
        t.root,
        timeout=90,
    )
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{t.course / 'gradebook.db'}") as gb:
        assert {s.id: (s.first_name, s.last_name) for s in gb.students} == ROSTER
        assert gb.find_assignment(term.ASSIGNMENT).duedate == due.replace(tzinfo=None)
    t.done.add(1)


@pytest.mark.timeout(300)
def test_2_collect_canvas_download_and_hub_submissions(t, tmp_path):
    """Step 2: `make collect ZIP=submissions.zip` files each Canvas-named notebook under its
    Canvas id (a stray non-notebook file is skipped); the two late students' hub submissions
    come in with `nbgrader collect`, with their submission times."""
    needs(t, 1)
    download = term.canvas_zip(
        tmp_path / "submissions.zip",
        {
            canvas_file(sid): nbformat.writes(
                submission(t, sid, FAILS[sid], dict(ANSWERS, **({"task41_answer": EVE_FIRST} if sid == "105" else {})))
            )
            for sid in LMS_STUDENTS
        }
        | {STRAY: "my notes"},
    )
    out = term.run(["make", "collect", f"ZIP={download}"], t.root, t.root, timeout=150)
    assert re.search(rf"Skipped .*{re.escape(STRAY)}", out), out[-3000:]  # listed, not guessed
    submitted = t.course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == sorted(LMS_STUDENTS)
    eve = nbformat.read(submitted / "105" / term.ASSIGNMENT / "neurons.ipynb", as_version=4)
    assert any(c.source == EVE_FIRST for c in eve.cells)
    for sid in LMS_STUDENTS:
        assert not (submitted / sid / term.ASSIGNMENT / "timestamp.txt").exists()

    # the hub: release, each late student submits with nbgrader's own command, then collect
    term.run([corpus.tool("nbgrader"), "release_assignment", term.ASSIGNMENT], t.course, t.root, timeout=90)
    for sid in HUB_STUDENTS:
        home = t.root / "home" / sid / term.ASSIGNMENT
        home.mkdir(parents=True)
        nbformat.write(submission(t, sid, FAILS[sid], ANSWERS), home / "neurons.ipynb")
        term.run(
            [corpus.tool("nbgrader"), "submit", term.ASSIGNMENT, *hub_student(t, sid)], home.parent, t.root, timeout=90
        )
    (t.course / "extensions.csv").write_text(
        "student_id,days\n" + "".join(f"{s},{d}  # medical note\n" for s, d in EXTENSION_DAYS.items())
    )
    term.run([corpus.tool("nbgrader"), "collect", term.ASSIGNMENT], t.course, t.root, timeout=90)
    assert sorted(p.name for p in submitted.iterdir()) == sorted(LMS_STUDENTS + HUB_STUDENTS)
    for sid in HUB_STUDENTS:
        stamp = (submitted / sid / term.ASSIGNMENT / "timestamp.txt").read_text()
        t.seen[f"late_{sid}"] = (dt.datetime.fromisoformat(stamp.replace(" UTC", "+00:00")) - t.due).total_seconds()
        assert LATE_BY.total_seconds() <= t.seen[f"late_{sid}"] < LATE_BY.total_seconds() + 600
    t.done.add(2)


@pytest.mark.timeout(300)
def test_3_make_grade(t):
    """Step 3: `make grade`: every cell's score as the class's code deserves, every written
    answer flagged for hand grading, extra credit for the optional band-pass, Cy's penalty
    (2 started days late: 20 %), Dee's after her 1-day extension (1 day: 10 %), Fay missing."""
    needs(t, 2)
    out = term.run(["make", "grade"], t.root, t.root, timeout=280)
    assert "graded 5, missing 1" in out and "106: missing" in out, out[-2000:]
    assert "late: 103, 104" in out, out[-2000:]
    state = term.gradebook_state(t.course)
    assert state["106"] is None
    for sid in LMS_STUDENTS + HUB_STUDENTS:
        assert_graded(t, state, sid)
    assert penalty_fraction(expected_late_seconds(t, "103")) == 0.2
    assert penalty_fraction(expected_late_seconds(t, "104")) == 0.1
    report = {r["student"]: r for r in term.read_csv(t.course / "module1_report.csv")}
    assert report["106"]["status"] == "missing"
    assert {report[s]["status"] for s in LMS_STUDENTS + HUB_STUDENTS} == {"graded"}
    t.done.add(3)


@pytest.mark.timeout(300)
def test_4_hand_grade_in_formgrader(t, page):
    """Step 4: in the real formgrader (chromium), the instructor opens Eve's submission from
    the assignment's list, types a score and a comment; both land in the gradebook, the answer
    is no longer flagged; nothing leaves 127.0.0.1 and the console stays clean."""
    needs(t, 3)
    sub_id = term.submission_notebook_id(t.course, "105")
    with term.formgrader(t.course, t.root / "formgrader.log", environ=term.env(t.root)) as fg:
        rec = page()
        # the assignment's list of submissions; Jupyter asks for the token first
        rec.goto(f"{fg['url']}/formgrader/gradebook/{term.ASSIGNMENT}/{term.NOTEBOOK}", wait_until="load")
        rec.page.fill("#password_input", fg["token"])
        rec.page.click("#login_submit")
        rec.page.wait_for_url(f"**/formgrader/gradebook/{term.ASSIGNMENT}/{term.NOTEBOOK}", timeout=60_000)
        link = rec.page.locator(f"a[href*='submissions/{sub_id}']").first
        link.wait_for(timeout=60_000)
        link.click()
        rec.page.wait_for_url(f"**/formgrader/submissions/{sub_id}/**", timeout=60_000)
        score = rec.page.locator(f"#{HAND_CELL}")
        score.wait_for(timeout=60_000)
        # formgrade.js binds the widgets to the gradebook once its grades and comments have
        # loaded, and moves the focus when MathJax has typeset the page: wait for all of it
        rec.page.wait_for_function(
            "() => window.formgrader && formgrader.loaded && formgrader.grades.loaded"
            " && formgrader.comments.loaded && window.MathJax && MathJax.loaded === true",
            timeout=120_000,
        )
        with rec.page.expect_response(
            lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT", timeout=60_000
        ) as saved:
            score.fill(str(HAND_SCORE))
            score.press("Tab")
        assert saved.value.ok
        comment = rec.page.locator(f"#{HAND_CELL}-comment")
        with rec.page.expect_response(
            lambda r: "/formgrader/api/comment/" in r.url and r.request.method == "PUT", timeout=60_000
        ) as saved:
            comment.fill(HAND_COMMENT)
            comment.press("Tab")
        assert saved.value.ok
        assert_local_only(rec, "formgrader")
        assert rec.console_errors == [] and rec.page_errors == [], rec.console_messages
    cell = term.gradebook_state(t.course)["105"]["cells"][HAND_CELL]
    assert (cell["manual"], cell["comment"], cell["flagged"]) == (HAND_SCORE, HAND_COMMENT, False)
    t.done.add(4)


@pytest.mark.timeout(400)
def test_5_prose_edit_then_forced_regrade_keeps_every_grade(t):
    """Step 5: one word of prose changed in the chapter, `make notebooks`, `make grade FORCE=1`:
    the instructor notebook changes in that cell only, and every score, flag, hand grade and
    comment in the gradebook is what it was."""
    needs(t, 4)
    chapter = t.root / "book" / "module1" / "neurons.md"
    text = chapter.read_text()
    assert text.count(PROSE) == 1
    source = t.course / "source" / term.ASSIGNMENT / "neurons.ipynb"
    before_nb = nbformat.read(source, as_version=4)
    before = term.gradebook_state(t.course)
    chapter.write_text(text.replace(PROSE, PROSE_EDITED))
    term.run(["make", "notebooks"], t.root, t.root, timeout=200)
    after_nb = nbformat.read(source, as_version=4)
    assert [c.id for c in after_nb.cells] == [c.id for c in before_nb.cells]
    changed = [a.source for b, a in zip(before_nb.cells, after_nb.cells) if a.source != b.source]
    assert len(changed) == 1 and PROSE_EDITED in changed[0]
    out = term.run(["make", "grade", "FORCE=1"], t.root, t.root, timeout=380)
    assert "graded 5, missing 1" in out, out[-2000:]
    changed = term.differences(before, term.gradebook_state(t.course))
    assert changed == [], changed
    t.done.add(5)


@pytest.mark.timeout(300)
def test_6_resubmission_regrades_and_drops_the_stale_hand_grade(t, tmp_path):
    """Step 6: Eve re-uploads on Canvas (fixed cosine_signal, a new Task 4.1 answer); a new
    download, `make collect`, `make grade`: her cosine point is earned, her old hand score and
    comment are gone from the gradebook and kept in grader/hand_grades/, the answer is flagged
    again; nobody else's grades move."""
    needs(t, 5)
    before = term.gradebook_state(t.course)
    resubmitted = submission(t, "105", set(), dict(ANSWERS, task41_answer=EVE_SECOND))
    download = term.canvas_zip(
        tmp_path / "submissions (1).zip", {canvas_file("105", resubmission=1): nbformat.writes(resubmitted)}
    )
    term.run(["make", "collect", f"ZIP={download}"], t.root, t.root, timeout=150)
    out = term.run(["make", "grade"], t.root, t.root, timeout=280)
    assert "graded 1, missing 1, skipped 4" in out, out[-2000:]  # only Eve changed
    state = term.gradebook_state(t.course)
    t.fails["105"] = set()
    assert_graded(t, state, "105")
    assert state["105"]["cells"][HAND_CELL]["comment"] in (None, "")
    moved = [d for d in term.differences(before, state) if d[0] != "105"]
    assert moved == [], moved
    record = json.loads((t.course / "hand_grades" / term.ASSIGNMENT / "105.json").read_text())
    (old,) = record["history"]
    assert (old["score"], old["comment"], old["answer"].strip()) == (HAND_SCORE, HAND_COMMENT, EVE_FIRST)
    t.done.add(6)


@pytest.mark.timeout(400)
def test_7_feedback_released_for_every_graded_student(t, page):
    """Step 7: `make feedback`: each graded student's page is in grader/feedback and released
    to the exchange, shows their total after the late penalty, the penalty, "To be graded by hand" for the
    answers nobody graded; opened in chromium it loads nothing from off the machine."""
    needs(t, 6)
    term.run(["make", "feedback"], t.root, t.root, timeout=380)
    state = term.gradebook_state(t.course)
    released = {p.read_bytes() for p in (t.course / "exchange" / term.COURSE_ID / "feedback").glob("*.html")}
    graded = LMS_STUDENTS + HUB_STUDENTS
    for sid in graded:
        page_path = t.course / "feedback" / sid / term.ASSIGNMENT / "neurons.html"
        html = page_path.read_text()
        assert page_path.read_bytes() in released, f"{sid}'s feedback was not released"
        # the heading gives the score after the late penalty (nbgrader's rounding to 2 places)
        total = round(state[sid]["score"] - state[sid]["penalty"], 2)
        # optional tasks' credit is named in the heading ("including 2.0 extra credit")
        extra = round(sum(c["extra"] or 0.0 for c in state[sid]["cells"].values()), 2)
        named = f", including {extra} extra credit" if extra else ""
        assert f"neurons (Score: {total} / {round(state[sid]['max'], 2)}{named})" in html, sid
        assert html.count("To be graded by hand") == len(ANSWERS), sid
        if state[sid]["penalty"]:
            assert f"Late submission penalty (Score: -{round(state[sid]['penalty'], 2)})" in html
    assert len(released) == len(graded)
    for sid in HUB_STUDENTS:  # a hub student fetches theirs with nbgrader's own command
        term.run(
            [corpus.tool("nbgrader"), "fetch_feedback", term.ASSIGNMENT, *hub_student(t, sid)],
            t.root / "home" / sid,
            t.root,
            timeout=90,
        )
        (fetched,) = (t.root / "home" / sid / term.ASSIGNMENT / "feedback").glob("*/neurons.html")
        assert fetched.read_bytes() == (t.course / "feedback" / sid / term.ASSIGNMENT / "neurons.html").read_bytes()
    for sid in graded:
        rec = page()
        rec.goto((t.course / "feedback" / sid / term.ASSIGNMENT / "neurons.html").as_uri(), wait_until="load")
        assert term.typeset_formulas(rec) > 0, sid  # MathJax came from the page's folder
        off = [u for u in rec.requests if not u.startswith(("file://", "data:", "blob:"))]
        assert off == [], (sid, off)
        assert rec.console_errors == [] and rec.page_errors == [], (sid, rec.console_messages)
    t.done.add(7)


@pytest.mark.timeout(120)
def test_8_export_has_a_column_per_task_and_the_late_penalty(t):
    """Step 8: `nbgrader export` (the course's plugin): per student, each task's points (an
    optional task's column holds its extra credit), the total, the extra credit and the late
    penalty are the gradebook's and add up."""
    needs(t, 6)
    term.run([corpus.tool("nbgrader"), "export"], t.course, t.root, timeout=110)
    rows = {r["student_id"]: r for r in term.read_csv(t.course / "grades.csv")}
    auto, hand, extra = assignment_points(t)
    maxima = {}
    for gid, pts in list(auto.items()) + list(hand.items()):
        maxima[gid.split("_")[0]] = maxima.get(gid.split("_")[0], 0.0) + pts
    # an optional task (0 points of its own) is headed by what its column holds
    columns = {task: f"{task} (of {mx:g})" if mx else f"{task} (extra credit)" for task, mx in maxima.items()}
    assert set(columns.values()) <= set(next(iter(rows.values()))), list(next(iter(rows.values())))
    state = term.gradebook_state(t.course)
    assert set(rows) == set(ROSTER)
    for sid, row in rows.items():
        if state[sid] is None:
            assert float(row["score"]) == 0 and row["timestamp"] == "", row
            continue
        earned = {task: 0.0 for task in maxima}
        for gid, (points, bonus) in expected_auto(t, sid).items():  # an optional task's
            earned[gid.split("_")[0]] += points + (bonus or 0.0)  # column: its extra credit
        for task, col in columns.items():
            assert float(row[col]) == pytest.approx(earned[task]), (sid, task)
        assert float(row["extra_credit"]) == pytest.approx(sum(extra.values())), sid
        raw = sum(earned.values())
        assert float(row["raw_score"]) == pytest.approx(raw) == pytest.approx(state[sid]["score"])
        penalty = penalty_fraction(expected_late_seconds(t, sid)) * raw
        assert float(row["late_submission_penalty"] or 0) == pytest.approx(penalty), sid
        assert float(row["score"]) == pytest.approx(raw - penalty), sid
        assert float(row["max_score"]) == pytest.approx(sum(auto.values()) + sum(hand.values()))
    t.done.add(8)


@pytest.mark.timeout(200)
def test_9_class_report_matches_the_gradebook_offline(t, page):
    """Step 9: `make report`: every student's raw score, penalty and score are the gradebook's,
    Fay is missing and at risk, the late students are shown late; the page is clean and
    offline in chromium."""
    needs(t, 6)
    term.run(["make", "report"], t.root, t.root, timeout=180)
    folder = t.course / "reports"
    rows = {r["student"]: r for r in term.read_csv(folder / "module1_class_students.csv")}
    state = term.gradebook_state(t.course)
    assert set(rows) == set(ROSTER)
    for sid, got in state.items():
        if got is None:
            assert rows[sid]["status"] == "missing" and rows[sid]["at_risk"] == "True"
            continue
        assert float(rows[sid]["raw_score"]) == pytest.approx(got["score"]), sid
        assert float(rows[sid]["late_penalty"]) == pytest.approx(got["penalty"]), sid
        assert float(rows[sid]["score"]) == pytest.approx(got["score"] - got["penalty"]), sid
        assert float(rows[sid]["late_seconds"]) == pytest.approx(got["late"] or 0, abs=0.1), sid
    assert {s for s, r in rows.items() if r["at_risk"] == "True"} == {"106"}
    html = (folder / "module1_class.html").read_text()
    for sid in ROSTER:
        assert sid in html
    with SiteServer(folder, site=False) as server:
        rec = page()
        rec.goto(server.page_url("module1_class.html"), wait_until="load")
        rec.wait_for_load_state("networkidle")
        rec.assert_clean("class report")
    t.done.add(9)
