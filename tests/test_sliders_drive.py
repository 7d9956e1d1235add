"""Task 4.3 grading stand-in: can ``neurograder.widgets.drive_widget`` tell, inside a real
Jupyter kernel (nbclient), a student's tau slider that redraws from one that does not?

Each case is a small notebook: a student-style cell (interact / observe + Image / observe +
Output), then a grading cell that calls drive_widget and prints PASS or FAIL:<reason>.
The widgets run in a real ipykernel started by nbclient, the way nbgrader runs them.
"""

from __future__ import annotations

import textwrap

import nbformat
import pytest

from kernels import execute

SETUP = """
import numpy as np, matplotlib
import matplotlib.pyplot as plt
import ipywidgets as widgets
from IPython.display import display
from solutions.reference import li_time_surface, lif_time_surface
rng = np.random.default_rng(0)
raster = (rng.random((40, 120)) < 0.05).astype(float)
"""

GRADE = """
from neurograder.widgets import drive_widget, WidgetDriveError
try:
    digests = drive_widget(w{args})
    print("PASS", len(digests))
except WidgetDriveError as err:
    print("FAIL:", err)
"""

STUDENTS = {
    # the seed's suggestion: interact with a plotting function that recomputes the surfaces
    "interact_plot": (
        """
def show(tau):
    fig, (a, b) = plt.subplots(1, 2, figsize=(6, 2))
    a.imshow(li_time_surface(raster, tau), aspect="auto")
    b.imshow(lif_time_surface(raster, tau, 0.3)[1], aspect="auto")
    plt.show()
w = widgets.interactive(show, tau=widgets.IntSlider(value=8, min=1, max=64, description="tau"))
display(w)
""",
        "",
        "PASS",
    ),
    # interact returning the data; the grader also compares it with the reference surface
    "interact_result_expected": (
        """
w = widgets.interactive(lambda tau: li_time_surface(raster, tau),
                        tau=widgets.FloatLogSlider(value=8, base=2, min=0, max=6))
display(w)
""",
        ", expected=lambda tau: li_time_surface(raster, tau)",
        "PASS",
    ),
    # observe callback updating an Image widget; a box with an extra unrelated slider
    "observe_image": (
        """
import io
tau = widgets.SelectionSlider(options=[1, 2, 4, 8, 16], value=4, description="tau")
other = widgets.IntSlider(description="channel")
img = widgets.Image(format="png")
def redraw(change=None):
    fig = matplotlib.figure.Figure(figsize=(3, 2))
    fig.add_subplot().imshow(li_time_surface(raster, tau.value), aspect="auto")
    buf = io.BytesIO(); fig.savefig(buf, format="png"); img.value = buf.getvalue()
tau.observe(redraw, "value"); redraw()
w = widgets.VBox([tau, other, img])
display(w)
""",
        "",
        "PASS",
    ),
    # observe callback drawing into an Output widget
    "observe_output": (
        """
out = widgets.Output()
tau = widgets.IntSlider(value=4, min=1, max=32)
def redraw(change=None):
    with out:
        out.clear_output(wait=True)
        plt.imshow(li_time_surface(raster, tau.value), aspect="auto"); plt.show()
tau.observe(redraw, "value"); redraw()
w = widgets.VBox([tau, out])
display(w)
""",
        "",
        "PASS",
    ),
    # wrong: the picture ignores tau
    "ignores_tau": (
        """
def show(tau):
    plt.imshow(raster, aspect="auto"); plt.show()
w = widgets.interactive(show, tau=widgets.IntSlider(value=8, min=1, max=64))
display(w)
""",
        "",
        "FAIL: the widget shows the same picture/data for different tau",
    ),
    # wrong: nothing is redrawn (slider not connected)
    "not_connected": (
        """
tau = widgets.IntSlider(value=8, min=1, max=64)
img = widgets.Image(value=b"\\x89PNG fake", format="png")
w = widgets.VBox([tau, img])
display(w)
""",
        "",
        "FAIL: the widget shows the same picture/data",
    ),
    # wrong: the update raises for some tau (interact shows a traceback, no exception)
    "raises": (
        """
def show(tau):
    if tau > 20:
        raise ValueError("boom")
    plt.imshow(li_time_surface(raster, tau)); plt.show()
w = widgets.interactive(show, tau=widgets.IntSlider(value=8, min=1, max=64))
display(w)
""",
        "",
        "FAIL: at tau = 48 the widget's update failed",
    ),
    # wrong: data returned but it is not the leaky-integrator surface
    "wrong_result": (
        """
w = widgets.interactive(lambda tau: raster * tau, tau=widgets.IntSlider(value=8, min=1, max=64))
display(w)
""",
        ", expected=lambda tau: li_time_surface(raster, tau)",
        "FAIL: at tau = 17 the widget's result differs from the expected surface",
    ),
}


#: nbclient's limit (s) for one cell: the slowest case takes ~1 s of a quiet core
CELL_LIMIT = 60
#: limit (s) for the whole notebook, kernel start and shutdown included
RUN_LIMIT = 240


def run_notebook(cells: list) -> list:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells]
    # one kernel drives every case: ~6 s on a quiet machine (kernel start, imports, 8 cases).
    # A cell stuck for CELL_LIMIT fails with nbclient's error naming that cell; the whole run
    # is bounded by RUN_LIMIT, room for four times the work while the cores are shared.
    execute(nb, timeout=CELL_LIMIT, overall=RUN_LIMIT, kernel_name="python3", allow_errors=False)
    return nb.cells


@pytest.fixture(scope="module")
def graded():
    """Run every case in one kernel (one notebook) and collect each grading cell's output."""
    cells = [SETUP]
    for student, args, _ in STUDENTS.values():
        cells += [student, GRADE.format(args=args)]
    executed = run_notebook(cells)
    out = {}
    for i, name in enumerate(STUDENTS):
        grade_cell = executed[2 + 2 * i]
        out[name] = "".join(o.get("text", "") for o in grade_cell.outputs if o.output_type == "stream").strip()
    return out


@pytest.mark.timeout(RUN_LIMIT + 60)
@pytest.mark.parametrize("name", list(STUDENTS))
def test_drive_widget_grades_student_widget(graded, name):
    """Question: does drive_widget pass the working student widgets and fail the broken
    ones with a reason a student can act on?"""
    expected = STUDENTS[name][2]
    assert graded[name].startswith(expected), f"{name}: got {graded[name]!r}"
