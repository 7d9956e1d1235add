"""What graders see after grading: does the render pass (neurograder.render) show each
student's current plots and Task 4.3 widget, bounded, cached, and in the real formgrader?

A small course (the real ``nbgrader generate_assignment`` release) with students whose saved
outputs say nothing about their code: an honest student saved with a stale 1 x 1 picture
and no other output, and a student whose ``li_time_surface`` is wrong, both graded by the
real batch command; and two hostile students (a function that never returns, one that ends
the process; a widget that raises and a huge figure) put straight into ``autograded/``.
Pictures are checked by decoding them with PIL (an independent PNG decoder); the formgrader
page is served by a real ``jupyter server`` with nbgrader's extension (the fixture of
tests/test_grader_html_safety.py) and opened in chromium.

(A little over 300 lines: every test reads the one graded and rendered course of the module
fixture, which costs minutes to make; a second file would make it a second time.)
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attacks import corpus  # noqa: E402
from browser import assert_local_only  # noqa: E402
from test_grader_html_safety import formgrader  # noqa: E402,F401,F811  (fixture, reused)

from neurograder import render  # noqa: E402

WIDGET = "task43_slider_answer"
LI_PLOT = "code-011"  # the Task 4.1 figure: li_time_surface(data, 20)
T1_PLOT = "code-002"  # the Task 1 figure: leaky_integrator
T2_PLOT = "code-003"  # the Task 2 figure: leaky_integrate_and_fire
T3_PLOT = "code-005"  # the Task 3 figure, after both
LIF_PLOT = "code-012"  # the Task 4.2 figure: lif_time_surface
FOLLOWS_TAU = """import ipywidgets as widgets
from IPython.display import display
def show(tau):
    plt.figure(figsize=(5, 2))
    plt.imshow(li_time_surface(data, tau), aspect="auto")
    plt.show()
w = widgets.interactive(show, tau=widgets.IntSlider(value=8, min=1, max=64, description="tau"))
display(w)
"""
STATIC = """import ipywidgets as widgets
def show(tau):
    plt.imshow(data[:, :50], aspect="auto")
    plt.show()
widgets.interact(show, tau=widgets.IntSlider(value=8, min=1, max=64))
"""
RAISES_AND_HUGE = """import ipywidgets as widgets
plt.figure(figsize=(2000, 2000))
plt.plot([1, 2])
plt.show()
def show(tau):
    if tau > 20:
        raise ValueError("tau too large for me")
    plt.imshow(li_time_surface(data, tau), aspect="auto")
    plt.show()
widgets.interact(show, tau=widgets.IntSlider(value=8, min=1, max=64))
"""
WRONG_SURFACE = """def li_time_surface(raster, tau):
    return np.asarray(raster, dtype=float)
"""
# hostile only in the call of one plotting cell (Task 1's figure draws tau = 50; Task 2's
# uses tau 10, threshold 0.8), honest otherwise: the later cells need these functions
RAISES = """def lif_time_surface(raster, tau, threshold):
    return 1 / 0
"""
FORGES = """import os
for fd in range(3, 64):     # a frame announcing 0 bytes, then junk, into every open pipe
    try:
        os.write(fd, bytes(8) + b"not the protocol")
    except OSError:
        pass
"""
HANGS = """
_honest_leaky_integrator = leaky_integrator
def leaky_integrator(input_data, tau):
    while tau == 50:
        pass
    return _honest_leaky_integrator(input_data, tau)
"""
EXITS = """
_honest_lif = leaky_integrate_and_fire
def leaky_integrate_and_fire(input_data, tau, threshold):
    if (tau, threshold) == (10, 0.8):
        import os
        os._exit(3)
    return _honest_lif(input_data, tau, threshold)
"""


def _student(course, widget: str, **extra) -> nbformat.NotebookNode:
    """The honest notebook, saved without outputs except a stale 1 x 1 picture; ``extra``:
    code appended to solution cells (by grade_id)."""
    nb = corpus.honest_notebook(course)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell is not corpus.plot_cell(nb):
            cell.outputs = []
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in extra:
            cell.source += "\n" + extra[gid]
    corpus.set_cell(nb, WIDGET, widget)
    return nb


def _autograded(course, student) -> Path:
    return course / "autograded" / student / corpus.ASSIGNMENT / corpus.NOTEBOOK


@pytest.fixture(scope="module")
def course(tmp_path_factory, new_course):
    """The course, graded by the batch command, then rendered once (``summary``)."""
    course = new_course(tmp_path_factory.mktemp("render") / "course", "c.SandboxExecute.timeout = 15.0")
    corpus.write_submission(course, "honest", _student(course, FOLLOWS_TAU), timestamp=corpus.ON_TIME)
    corpus.write_submission(
        course,
        "wrong",
        _student(course, STATIC, task41_li_surface_solution=WRONG_SURFACE, task42_lif_surface_solution=RAISES),
        timestamp=corpus.ON_TIME,
    )
    run = corpus.run_batch(course, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    for student, nb in (
        ("hostile", _student(course, FOLLOWS_TAU, task1_leaky_integrator_solution=HANGS, task2_lif_solution=EXITS)),
        ("broken_widget", _student(course, RAISES_AND_HUGE)),
        ("forger", _student(course, FORGES)),
    ):
        _autograded(course, student).parent.mkdir(parents=True)
        nbformat.write(nb, str(_autograded(course, student)))
    summary = render.render_course(course)
    return {"path": course, "summary": summary}


def _cell(course, student, gid):
    nb = nbformat.read(str(_autograded(course["path"], student)), as_version=4)
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def _images(cell) -> list[np.ndarray]:
    import base64

    return [
        np.asarray(Image.open(io.BytesIO(base64.b64decode(o["data"]["image/png"]))))
        for o in cell.outputs
        if "image/png" in o.get("data", {})
    ]


def _text(cell, name=None) -> str:
    return "".join(
        o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream" and name in (None, o.get("name"))
    )


@pytest.mark.timeout(900)
def test_every_student_is_rendered(course):
    """Question: did the pass render each of the four notebooks in its own sandbox run?"""
    s = course["summary"]
    assert not s.failed, s.failed
    assert sorted(st for st, _ in s.rendered) == ["broken_widget", "forger", "honest", "hostile", "wrong"]
    assert s.sandbox_runs == 5


@pytest.mark.timeout(60)
def test_plotting_cells_show_fresh_pictures_of_the_students_own_functions(course):
    """Question: does a student saved without outputs (or with a stale 1 x 1 picture) get
    real pictures under a dated caption, drawn from that student's own functions?"""
    for gid in (T1_PLOT, T2_PLOT, LI_PLOT):
        cell = _cell(course, "honest", gid)
        assert _text(cell, "stdout").startswith("re-run by the grader on 20")
        images = _images(cell)
        assert images and all(min(im.shape[:2]) > 100 for im in images), gid
    honest, wrong = _images(_cell(course, "honest", LI_PLOT)), _images(_cell(course, "wrong", LI_PLOT))
    assert honest[0].shape != wrong[0].shape or np.any(honest[0] != wrong[0]), (
        "a different li_time_surface must give a different Task 4.1 picture"
    )
    assert np.array_equal(_images(_cell(course, "honest", T1_PLOT))[0], _images(_cell(course, "wrong", T1_PLOT))[0]), (
        "the same leaky_integrator must give the same Task 1 picture"
    )


@pytest.mark.timeout(60)
def test_a_plotting_cell_whose_function_raises_says_which_function(course):
    """Question: when the student's function raises inside a plotting cell, does the cell
    say which function raised what (and show no stale picture)?"""
    cell = _cell(course, "wrong", LIF_PLOT)
    assert "your function lif_time_surface raised ZeroDivisionError: division by zero" in _text(cell, "stderr")
    assert not _images(cell)


@pytest.mark.timeout(60)
def test_a_widget_that_follows_tau_shows_one_different_frame_per_tau(course):
    """Question: is the Task 4.3 widget driven at several tau values, and do its frames
    differ from each other?"""
    cell = _cell(course, "honest", WIDGET)
    text = _text(cell)
    assert text.count("widget driven by the grader: tau = ") == len(render.WIDGET_POSITIONS)
    assert "Task 4.3 widget:" not in text
    frames = _images(cell)[-len(render.WIDGET_POSITIONS) :]
    digests = {im.tobytes() for im in frames}
    assert len(digests) == len(render.WIDGET_POSITIONS), "each tau must show its own picture"


@pytest.mark.timeout(60)
def test_a_static_widget_gets_a_clear_message(course):
    """Question: does a widget whose picture ignores tau get a message saying so?"""
    text = _text(_cell(course, "wrong", WIDGET), "stderr")
    assert "Task 4.3 widget: the widget shows the same picture/data for different tau" in text
    assert "does not redraw when tau changes" in text


@pytest.mark.timeout(60)
def test_a_raising_widget_and_a_huge_figure_are_reported(course):
    """Question: is a widget whose update raises reported at the tau where it failed, and
    a figure too large to draw refused with its size, not drawn?"""
    cell = _cell(course, "broken_widget", WIDGET)
    text = _text(cell, "stderr")
    assert "Task 4.3 widget: at tau = 32 the widget's update failed" in text
    assert "is larger than the grader draws" in text
    assert all(im.shape[0] * im.shape[1] <= 6_000_000 for im in _images(cell))


@pytest.mark.timeout(60)
def test_a_hanging_or_exiting_function_is_bounded_and_reported(course):
    """Question: does a plotting cell that calls a never-ending function stop at the time
    limit with that said, one that ends the process say so, and the cells after them still
    get their pictures?"""
    hang = _text(_cell(course, "hostile", T1_PLOT), "stderr")
    assert "did not finish within 15 s and was stopped by the grader" in hang
    ended = _text(_cell(course, "hostile", T2_PLOT), "stderr")
    assert "stopped the Python process (it exited with status 3)" in ended
    assert _images(_cell(course, "hostile", T3_PLOT)), "the Task 3 figure after them is missing"


@pytest.mark.timeout(60)
def test_a_cell_that_forges_the_renderers_messages_is_reported(course):
    """Question: does a cell writing junk into the renderer's pipes get reported as such,
    and the pictures of the cells before it kept?"""
    text = _text(_cell(course, "forger", WIDGET), "stderr")
    assert "this cell sent more, or other, output than the grader accepts" in text
    assert "Task 4.3 widget: not driven" in text
    assert _images(_cell(course, "forger", LIF_PLOT))


@pytest.mark.timeout(300)
def test_an_unchanged_student_is_not_rendered_again(course):
    """Question: does a second pass skip every unchanged notebook without a sandbox run, and
    render again exactly those whose submission changed or whose autograded notebook was
    rewritten (the command, two at a time)?"""
    path = course["path"]
    before = {st: _autograded(path, st).read_bytes() for st in ("honest", "wrong")}
    again = render.render_course(path)
    assert again.sandbox_runs == 0 and not again.rendered
    assert len(again.cached) == 5
    assert {st: _autograded(path, st).read_bytes() for st in before} == before
    submitted = path / "submitted" / "wrong" / corpus.ASSIGNMENT / corpus.NOTEBOOK
    nb = nbformat.read(str(submitted), as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("one more note"))
    nbformat.write(nb, str(submitted))
    regraded = nbformat.read(str(_autograded(path, "hostile")), as_version=4)
    for cell in regraded.cells:  # as a regrade leaves it: the render's outputs gone
        if cell.cell_type == "code":
            cell.outputs = []
    nbformat.write(regraded, str(_autograded(path, "hostile")))
    run = subprocess.run(
        [sys.executable, "-m", "neurograder.render", "--course", str(path), "--jobs", "2"],
        capture_output=True,
        text=True,
        timeout=240,
        env=corpus.venv_env(),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "render: 2 rendered, 3 unchanged, 0 failed (2 sandbox runs)" in run.stdout
    assert _images(_cell(course, "hostile", T3_PLOT))


@pytest.mark.timeout(300)
def test_a_warm_render_draws_what_a_cold_one_draws(course, tmp_path):
    """Question: does a sandbox forked from a fork server that has matplotlib, IPython and
    ipywidgets loaded (``render.PRELOAD``, the command's way) give the honest student's
    notebook exactly the outputs (every picture, every widget frame) of a sandbox that
    bubblewrap starts cold?"""
    import datetime

    from neurograder import launch, sandbox

    task = next(t for t in render.course_tasks(course["path"], None, True, None) if t[0].parent.parent.name == "honest")
    notebook, source, release, submitted, limits, mode, _ = task
    now = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
    outputs = {}
    for how in ("cold", "warm"):
        copy = tmp_path / how / notebook.name
        copy.parent.mkdir()
        copy.write_bytes(notebook.read_bytes())
        sandbox.keep_warm(how == "warm")
        try:
            done = render.render_notebook(
                copy, source, release, limits, submitted=submitted, mode=mode, force=True, now=now
            )
            assert done == "rendered"
            assert bool(launch.Servers.running) == (how == "warm")
        finally:
            sandbox.keep_warm(False)
        nb = nbformat.read(str(copy), as_version=4)
        outputs[how] = [cell.outputs for cell in nb.cells if cell.cell_type == "code"]
    assert sum(1 for outs in outputs["warm"] for o in outs if "image/png" in o.get("data", {})) >= 5
    assert outputs["warm"] == outputs["cold"]


@pytest.mark.timeout(300)
def test_formgrader_shows_the_rerun_pictures(course, formgrader, page):  # noqa: F811
    """Question: does formgrader's page of the honest submission show the re-run pictures
    and the widget's frames (decoded by the browser), with no request off 127.0.0.1?"""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course['path'] / 'gradebook.db'}") as gb:
        sid = gb.find_submission_notebook("neurons", corpus.ASSIGNMENT, "honest").id
    rec = page()
    rec.goto(f"{formgrader['url']}/formgrader/submissions/{sid}/?token={formgrader['token']}", wait_until="load")
    rec.page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=60_000)
    shown = rec.page.evaluate(
        "() => [...document.images].filter(i => i.src.startsWith('data:image/png') && i.naturalWidth > 100).length"
    )
    expected = sum(
        len(_images(c))
        for c in nbformat.read(str(_autograded(course["path"], "honest")), as_version=4).cells
        if c.cell_type == "code" and "re-run by the grader" in _text(c)
    )
    assert expected >= 10 and shown >= expected, (shown, expected)
    assert rec.page.get_by_text("widget driven by the grader: tau = 32").count() == 1
    assert rec.page.get_by_text("re-run by the grader on").count() >= 10
    assert_local_only(rec, "formgrader")


@pytest.mark.timeout(300)
def test_feedback_shows_the_rerun_pictures(course):
    """Question: does the real ``nbgrader generate_feedback`` page of a student carry the
    re-run pictures and the widget's frames?"""
    run = corpus.nbgrader(
        course["path"], "generate_feedback", corpus.ASSIGNMENT, "--student", "honest", "--force", timeout=240
    )
    assert run.returncode == 0, run.stderr[-2000:]
    page = (course["path"] / "feedback" / "honest" / corpus.ASSIGNMENT / "neurons.html").read_text()
    nb = nbformat.read(str(_autograded(course["path"], "honest")), as_version=4)
    pictures = sum(len(_images(c)) for c in nb.cells if c.cell_type == "code")
    assert page.count("re-run by the grader on") >= 10
    assert "widget driven by the grader: tau = 58" in page
    assert page.count("data:image/png;base64,") >= pictures >= 10
