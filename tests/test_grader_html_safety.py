"""Can anything a student wrote run in the instructor's browser, or in the feedback page?

The sanitiser alone is checked against an independent HTML5 parser in
tests/test_grader_sanitize.py; here, the whole path in a real browser: a small course (the
HTML attacks 34-39 of tests/attacks and an honest student) autograded by our batch command, feedback made by the real
``nbgrader generate_feedback``, formgrader served by a real ``jupyter server`` with nbgrader's
extension and ours (grader/jupyter_server_config.py) on 127.0.0.1, all opened in chromium.
A student's script that ran would set ``window.__pwned``, write ``pwned-NN.txt`` through the
contents API and raise its own grades; none of that may happen, no request may leave
127.0.0.1, and the pages must still work: formgrader's own scripts run, MathJax renders
offline. The payloads are shown to be live without the protection (same browser, no
sanitiser, no policy), so the checks can fail.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attacks import corpus  # noqa: E402
from browser import assert_local_only  # noqa: E402
import term  # noqa: E402

from neurograder import sanitize  # noqa: E402

HTML_ATTACKS = [a for a in corpus.load_attacks() if 34 <= int(a.name[:2]) <= 39]
HONEST = "honest_full"
GAP = "zz_gap"  # autograded notebook edited afterwards: a gap in sanitising
GAP_SCRIPT = "<script>window.__pwned = 'gap'</script>\n\n<img src=x onerror=\"window.__pwned='gap'\">"
SERVER_CONFIG = corpus.GRADER / "jupyter_server_config.py"
MATH_PROBE = "v_{k+1}"  # TeX in attack 34's answer: raw text only if MathJax failed


# ------------------------------------------------------------------------------ the course
def _grades(course: Path) -> dict:
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions("module1"):
            for nb in sub.notebooks:
                for g in nb.grades:
                    out[(sub.student_id, g.name)] = (g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade)
    return out


def _submission_ids(course: Path) -> dict[str, str]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {
            s.student_id: gb.find_submission_notebook("neurons", "module1", s.student_id).id
            for s in gb.assignment_submissions("module1")
        }


def _open_a_gap(course: Path):
    """The gap student's autograded notebook gets raw HTML after grading, as if a future
    sanitiser missed it: only the page's policy stands between it and the browser."""
    path = course / "autograded" / GAP / "module1" / "neurons.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.insert(3, nbformat.v4.new_markdown_cell(GAP_SCRIPT))
    nbformat.write(nb, str(path))


@pytest.fixture(scope="module")
def course(tmp_path_factory, new_course):
    """The HTML attacks, an honest student and the gap student, autograded and with
    feedback (the gap student's feedback page also gets a raw script, after the fact)."""
    course = new_course(tmp_path_factory.mktemp("html") / "course")
    for attack in HTML_ATTACKS:
        corpus.write_submission(course, attack.name, corpus.attack_notebook(course, attack), timestamp=corpus.ON_TIME)
    for student in (HONEST, GAP):
        corpus.write_submission(course, student, corpus.honest_notebook(course), timestamp=corpus.ON_TIME)
    run = corpus.run_batch(course, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    feedback = corpus.nbgrader(course, "generate_feedback", "module1", timeout=600)
    assert feedback.returncode == 0, feedback.stderr[-3000:]
    _open_a_gap(course)
    page = course / "feedback" / GAP / "module1" / "neurons.html"
    page.write_text(page.read_text().replace("<body>", "<body>\n" + GAP_SCRIPT, 1))
    return {"path": course, "grades": _grades(course), "ids": _submission_ids(course)}


@pytest.fixture(scope="module")
def formgrader(course):
    """A real ``jupyter server`` with nbgrader's formgrader and our extension, started from
    the course folder with grader/jupyter_server_config.py; stopped afterwards."""
    with term.formgrader(course["path"], course["path"].parent / "server.log", config=str(SERVER_CONFIG)) as server:
        yield server


def _csp_violations(rec) -> list[str]:
    return [m for m in rec.console_messages if "Content Security Policy" in m]


def _wait_for_mathjax(rec) -> int:
    """Number of typeset formulas once MathJax has finished (fails if it never loads)."""
    rec.page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=60_000)
    return rec.page.evaluate(
        "() => MathJax.startup.promise.then(() => document.querySelectorAll('mjx-container').length)"
    )


def _open_formgrader(page, formgrader, submission_id):
    rec = page()
    rec.goto(
        f"{formgrader['url']}/formgrader/submissions/{submission_id}/?token={formgrader['token']}", wait_until="load"
    )
    return rec


# ------------------------------------------------------------------------------ in the browser
@pytest.mark.timeout(120)
def test_payloads_are_live_without_protection(page):
    """Control: the attacks' Markdown, rendered by nbconvert with no sanitiser and no policy,
    does run in this browser (so the checks below can see a script that runs)."""
    live = {}
    for attack in [a for a in HTML_ATTACKS if not a.output]:
        rec = page()
        rec.page.route("**/*", lambda route: route.abort())  # nothing leaves, even here
        rec.page.set_content(sanitize.render_markdown(attack.code), wait_until="load")
        rec.page.wait_for_function("() => window.__pwned !== undefined", timeout=10_000)
        live[attack.name] = rec.evaluate("() => window.__pwned")
    assert all(live.values()), live


@pytest.mark.timeout(600)
def test_formgrader_runs_no_student_script_and_grades_stay(course, formgrader, page):
    """The instructor opens every hostile submission in formgrader: no student script runs,
    no request leaves 127.0.0.1, no file is written, every grade in the gradebook stays;
    formgrader's own scripts still run and MathJax typesets the student's math offline."""
    ran = {}
    for attack in HTML_ATTACKS:
        rec = _open_formgrader(page, formgrader, course["ids"][attack.name])
        formulas = _wait_for_mathjax(rec)
        ran[attack.name] = rec.evaluate("() => window.__pwned")
        assert_local_only(rec, attack.name)
        # formgrader's own inline and file scripts ran (allowed by hash and by path)
        assert rec.evaluate("() => window.submission_id") == course["ids"][attack.name]
        assert rec.evaluate("() => typeof toggle_name === 'function' && typeof $ === 'function'")
        # formgrade.js got through its set-up (it waits for MathJax, then binds its keys)
        rec.page.wait_for_function("() => MathJax.loaded === true", timeout=60_000)
        assert rec.evaluate("() => formgrader.keyboard_manager !== undefined")
        assert formulas > 0, attack.name
        assert MATH_PROBE not in rec.evaluate("() => document.body.innerText"), attack.name
        assert rec.page_errors == [], (attack.name, rec.page_errors)
        assert _csp_violations(rec) == [], (attack.name, _csp_violations(rec))
    assert ran == {a.name: None for a in HTML_ATTACKS}
    assert sorted(p.name for p in course["path"].rglob("pwned-*")) == []
    assert _grades(course["path"]) == course["grades"]


@pytest.mark.timeout(600)
def test_formgrader_policy_blocks_a_script_the_sanitiser_missed(course, formgrader, page):
    """A raw <script> and <img onerror> put into an autograded notebook after grading (a gap
    in sanitising) are refused by the page's Content-Security-Policy."""
    rec = _open_formgrader(page, formgrader, course["ids"][GAP])
    _wait_for_mathjax(rec)
    assert rec.evaluate("() => document.body.innerHTML.includes(\"window.__pwned = 'gap'\")")
    assert rec.evaluate("() => window.__pwned") is None
    assert len(_csp_violations(rec)) >= 2, rec.console_messages
    assert rec.evaluate("() => window.submission_id") == course["ids"][GAP]
    assert_local_only(rec)


@pytest.mark.timeout(600)
def test_student_files_are_served_under_a_policy_that_runs_nothing(course, formgrader, page):
    """An HTML file handed in next to the notebook, opened through formgrader's file route,
    runs no script (the response is sandboxed)."""
    folder = course["path"] / "autograded" / HONEST / "module1"
    (folder / "evil.html").write_text("<script>window.__pwned = 'file'</script><p>hi</p>")
    rec = page()
    rec.goto(
        f"{formgrader['url']}/formgrader/submissions/{course['ids'][HONEST]}/evil.html?token={formgrader['token']}",
        wait_until="load",
    )
    assert rec.evaluate("() => document.body.innerText").strip() == "hi"
    assert rec.evaluate("() => window.__pwned") is None
    assert_local_only(rec)


@pytest.mark.timeout(600)
def test_feedback_pages_run_no_student_script_and_render_math_offline(course, page):
    """Every feedback page opened from its folder (file://, as a student opens it): no student
    script, no request off the machine, MathJax from the page's own mathjax/ folder; the raw
    script put into the gap student's page after the fact is refused by the page's policy."""
    for student in [a.name for a in HTML_ATTACKS] + [HONEST, GAP]:
        html = course["path"] / "feedback" / student / "module1" / "neurons.html"
        rec = page()
        rec.goto(html.as_uri(), wait_until="load")
        formulas = _wait_for_mathjax(rec)
        assert formulas > 0, student
        assert rec.evaluate("() => window.__pwned") is None, student
        assert rec.page_errors == [], (student, rec.page_errors)
        assert all(u.startswith("file://") or not u.startswith(("http", "ws")) for u in rec.requests), (
            student,
            [u for u in rec.requests if not u.startswith("file://")],
        )
        if student == GAP:
            assert len(_csp_violations(rec)) >= 2, rec.console_messages
        else:
            assert _csp_violations(rec) == [], (student, _csp_violations(rec))
    assert sorted(p.name for p in course["path"].rglob("pwned-*")) == []


@pytest.mark.timeout(600)
def test_feedback_says_to_be_graded_by_hand_not_zero(course, page):
    """An answer graded by hand that nobody graded yet reads "To be graded by hand", with no
    score; an unanswered one keeps nbgrader's 0 (no response)."""
    html = course["path"] / "feedback" / "34_markdown_script" / "module1" / "neurons.html"
    rec = page()
    rec.goto(html.as_uri(), wait_until="load")
    panel = "name => document.querySelector(`a[name='comment-${name}']`).closest('.nbgrader_cell').innerText"
    answered = rec.evaluate(panel, "task32_low_pass_answer")
    assert "To be graded by hand" in answered and "Score" not in answered
    unanswered = rec.evaluate(panel, "task4_vmax_answer")
    assert "Score: 0.0 / 2.0" in unanswered and "To be graded by hand" not in unanswered
    assert course["grades"][("34_markdown_script", "task32_low_pass_answer")][3] is True


@pytest.mark.timeout(600)
def test_feedback_page_has_no_wcag_a_aa_violations(course, page):
    """Does axe-core find no WCAG 2.1 A/AA violation on a student's feedback page? (The page's
    policy refuses inline scripts, so the checker is let in by bypassing it.)"""
    from browser import axe_violations, format_violations

    html = course["path"] / "feedback" / HONEST / "module1" / "neurons.html"
    rec = page(bypass_csp=True)
    rec.goto(html.as_uri(), wait_until="load")
    _wait_for_mathjax(rec)
    violations = axe_violations(rec)
    assert not violations, format_violations("feedback page", violations)
