"""Correct submissions of module1 in the styles and cell layouts students use.

Every entry must get every autograded point from plain nbgrader; the sandboxed grader must
agree cell by cell (tests/test_grader_correct.py grades them both ways). An entry is applied
to the released notebook filled with the reference solutions (see :func:`apply`):

* ``cells``: {solution grade_id: new source} (a solution cell the student rewrote),
* ``insert``: [(grade_id, source), ...]: an ordinary code cell (no nbgrader metadata) the
  student added right after the cell with that grade_id.

Styles: plain loops, preallocated arrays, while loops, lists, generators, closures, a class
with a step method, ``functools.partial``, torch (``@torch.no_grad()``, tensors returned),
``scipy.signal.lfilter``, convolution, ``np.apply_along_axis``, surfaces vectorised over
channels, plus every entry of :data:`corpus.module1.CORRECT`. Layouts: everything in one
cell, helpers in an earlier task's cell, a helper cell the student added, constants computed
by calls, extra cells that plot or print, ``from x import *``, globals set in a loop.

(Over 300 lines: a corpus, data written as code; one entry per style, read as a whole.)
"""
from __future__ import annotations

import copy

from corpus.module1 import CORRECT as VARIANTS
from corpus.module1 import LI, LI_S, LIF, LIF_S

T0 = "task0_input_data_solution"
COS = "task3_cosine_signal_solution"
SPIKING = "task3_max_x_spiking_solution"
SILENT = "task3_max_x_silent_solution"
BAND = "task31_band_pass_solution"
#: the solution cells one "everything in one cell" student empties (their code is in Task 0)
ALL_CODE = [LI, LIF, COS, SPIKING, SILENT, BAND, LI_S, LIF_S]

# ------------------------------------------------------------------------- building blocks
LI_WHILE = """
def leaky_integrator(input_data, tau):
    x = np.asarray(input_data, dtype=float)
    out = np.zeros(len(x))
    v, k = 0.0, 0
    while k < len(x):
        v += (x[k] - v) / tau
        out[k] = v
        k += 1
    return out
"""
LIF_WHILE = """
def leaky_integrate_and_fire(input_data, tau, threshold):
    x = list(input_data)
    spikes, membrane = [], []
    v = 0.0
    k = 0
    while k < len(x):
        v = v + (x[k] - v) / tau
        fired = v > threshold
        if fired:
            v = 0.0
        spikes.append(float(fired))
        membrane.append(v)
        k += 1
    return np.array(spikes), np.array(membrane)
"""
LI_GENERATOR = """
def _li_steps(xs, tau):
    v = 0.0
    for x in xs:
        v += (x - v) / tau
        yield v


def leaky_integrator(input_data, tau):
    return np.fromiter(_li_steps(np.asarray(input_data, dtype=float), tau), dtype=float)
"""
LIF_GENERATOR = """
def _lif_steps(xs, tau, threshold):
    v = 0.0
    for x in xs:
        v += (x - v) / tau
        z = 1.0 if v > threshold else 0.0
        v *= 1.0 - z
        yield z, v


def leaky_integrate_and_fire(input_data, tau, threshold):
    pairs = list(_lif_steps(np.asarray(input_data, dtype=float), tau, threshold))
    spikes = np.array([p[0] for p in pairs])
    membrane = np.array([p[1] for p in pairs])
    return spikes, membrane
"""
LI_CLOSURE = """
def make_leaky_step(tau):
    state = {"v": 0.0}

    def step(x):
        state["v"] = state["v"] + (x - state["v"]) / tau
        return state["v"]
    return step


def leaky_integrator(input_data, tau):
    step = make_leaky_step(tau)
    return np.array([step(x) for x in np.asarray(input_data, dtype=float)])
"""
LIF_CLOSURE = """
def make_lif(tau, threshold):
    v = 0.0

    def step(x):
        nonlocal v
        v = v + (x - v) / tau
        z = float(v > threshold)
        v = v * (1 - z)
        return z, v
    return step


def leaky_integrate_and_fire(input_data, tau, threshold):
    step = make_lif(tau, threshold)
    out = [step(x) for x in np.asarray(input_data, dtype=float)]
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])
"""
#: a helper class in the Task 1 cell, reused by the Task 2 cell
NEURON_CLASS_LI = """
class Neuron:
    \"\"\"A leaky neuron with one state variable; fires (and resets) above a threshold.\"\"\"

    def __init__(self, tau, threshold=None):
        self.tau, self.threshold, self.v = tau, threshold, 0.0

    def step(self, x):
        self.v = self.v + (x - self.v) / self.tau
        spike = self.threshold is not None and self.v > self.threshold
        if spike:
            self.v = 0.0
        return float(spike), self.v


def leaky_integrator(input_data, tau):
    neuron = Neuron(tau)
    return np.array([neuron.step(x)[1] for x in input_data])
"""
NEURON_CLASS_LIF = """
def leaky_integrate_and_fire(input_data, tau, threshold):
    neuron = Neuron(tau, threshold)
    steps = [neuron.step(x) for x in input_data]
    return np.array([s[0] for s in steps]), np.array([s[1] for s in steps])
"""
LI_CONVOLUTION = """
def leaky_integrator(input_data, tau):
    x = np.asarray(input_data, dtype=float)
    kernel = (1 / tau) * (1 - 1 / tau) ** np.arange(len(x))
    return np.convolve(x, kernel)[:len(x)]
"""
LI_S_APPLY = """
def li_time_surface(raster, tau):
    return np.apply_along_axis(leaky_integrator, 1, np.asarray(raster, dtype=float), tau)
"""
LIF_S_APPLY = """
def lif_time_surface(raster, tau, threshold):
    raster = np.asarray(raster, dtype=float)
    spikes = np.apply_along_axis(lambda r: leaky_integrate_and_fire(r, tau, threshold)[0], 1, raster)
    membrane = np.apply_along_axis(lambda r: leaky_integrate_and_fire(r, tau, threshold)[1], 1, raster)
    return spikes, membrane
"""
LI_S_VECTOR = """
def li_time_surface(raster, tau):
    x = np.asarray(raster, dtype=float)
    surface = np.zeros_like(x)
    v = np.zeros(x.shape[0])
    for k in range(x.shape[1]):
        v = v + (x[:, k] - v) / tau
        surface[:, k] = v
    return surface
"""
PARTIAL = """
import functools


def _lif_core(input_data, tau, threshold, reset):
    v, spikes, membrane = 0.0, [], []
    for x in np.asarray(input_data, dtype=float):
        v = v + (x - v) / tau
        z = 1.0 if v > threshold else 0.0
        v = reset if z else v
        spikes.append(z)
        membrane.append(v)
    return np.array(spikes), np.array(membrane)


leaky_integrate_and_fire = functools.partial(_lif_core, reset=0.0)
"""
TORCH_NO_GRAD_LI = """
import torch


@torch.no_grad()
def leaky_integrator(input_data, tau):
    x = torch.as_tensor(np.asarray(input_data, dtype=float))
    out = torch.empty_like(x)
    v = torch.zeros((), dtype=x.dtype)
    for k in range(x.shape[0]):
        v = v + (x[k] - v) / tau
        out[k] = v
    return out
"""
TORCH_NO_GRAD_LIF = """
@torch.no_grad()
def leaky_integrate_and_fire(input_data, tau, threshold):
    x = torch.as_tensor(np.asarray(input_data, dtype=float))
    spikes, membrane = torch.zeros_like(x), torch.zeros_like(x)
    v = torch.zeros((), dtype=x.dtype)
    for k in range(x.shape[0]):
        v = v + (x[k] - v) / tau
        z = (v > threshold).to(x.dtype)
        v = v * (1 - z)
        spikes[k], membrane[k] = z, v
    return spikes, membrane
"""
TORCH_LIF_S = """
@torch.no_grad()
def lif_time_surface(raster, tau, threshold):
    x = torch.as_tensor(np.asarray(raster, dtype=float))
    v = torch.zeros(x.shape[0], dtype=x.dtype)
    spikes, membrane = torch.zeros_like(x), torch.zeros_like(x)
    for k in range(x.shape[1]):
        v = v + (x[:, k] - v) / tau
        z = (v > threshold).to(x.dtype)
        v = v * (1 - z)
        spikes[:, k], membrane[:, k] = z, v
    return spikes, membrane
"""
CONSTANTS_BY_CALLS = """
FLOAT = np.dtype("float64")
V_RESET = float("0")
V_START = np.zeros(1, dtype=FLOAT)[0]


def leaky_integrator(input_data, tau):
    x = np.asarray(input_data, dtype=FLOAT)
    out = np.empty(len(x), dtype=FLOAT)
    v = V_START
    for k in range(len(x)):
        v = v + (x[k] - v) / tau
        out[k] = v
    return out
"""
LIF_USES_CONSTANTS = """
def leaky_integrate_and_fire(input_data, tau, threshold):
    x = np.asarray(input_data, dtype=FLOAT)
    spikes, membrane = np.zeros(len(x), dtype=FLOAT), np.zeros(len(x), dtype=FLOAT)
    v = V_START
    for k in range(len(x)):
        v = v + (x[k] - v) / tau
        if v > threshold:
            spikes[k], v = 1.0, V_RESET
        membrane[k] = v
    return spikes, membrane
"""
HELPER_CELL = """
from math import *            # a star import (gives isclose, exp, ...)

DECAY_FOR = {}
for _tau in (2.0, 5.0, 10.0, 20.0):   # globals set in a loop
    DECAY_FOR[_tau] = 1 - 1 / _tau
LAST_TAU = _tau


def decay(tau):
    return DECAY_FOR.get(tau, 1 - 1 / tau)
"""
LI_USES_HELPER = """
def leaky_integrator(input_data, tau):
    a = decay(tau)
    v, out = 0.0, []
    for x in np.asarray(input_data, dtype=float):
        v = a * v + (1 - a) * x
        out.append(v)
    return np.array(out)
"""
PLOT_CELL = """
fig, ax = plt.subplots()
ax.plot(leaky_integrator(np.ones(50), 10.0), label="LI, tau 10")
ax.legend()
plt.show()
"""
PRINT_CELL = """
print("spikes for a constant input:", int(np.sum(leaky_integrate_and_fire(np.ones(100), 10.0, 0.5)[0])))
for tau in (2, 5):
    print(tau, leaky_integrator([1, 1, 1], tau))
"""
ONE_CELL = "input_data = np.ones(1000)\n" + LI_WHILE + LIF_WHILE + """

def cosine_signal(max_x, samples=100):
    return (np.cos(np.linspace(0, max_x, samples)) + 1) / 2


max_x_spiking = np.pi * 5
max_x_silent = np.pi * 30


def band_pass(input_data):
    input_data = np.asarray(input_data, dtype=float)
    fast, _ = leaky_integrate_and_fire(input_data, 4.0, 0.35)
    spikes, _ = leaky_integrate_and_fire(input_data - 5.0 * np.asarray(fast), 20.0, 0.1)
    return spikes


def li_time_surface(raster, tau):
    return np.stack([leaky_integrator(row, tau) for row in np.asarray(raster, dtype=float)])


def lif_time_surface(raster, tau, threshold):
    pairs = [leaky_integrate_and_fire(row, tau, threshold) for row in np.asarray(raster, dtype=float)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
"""

LAYOUTS = {
    "plain_loops_preallocated_and_while": dict(cells={LI: LI_WHILE, LIF: LIF_WHILE}),
    "generators": dict(cells={LI: LI_GENERATOR, LIF: LIF_GENERATOR}),
    "closures": dict(cells={LI: LI_CLOSURE, LIF: LIF_CLOSURE}),
    "class_with_step_in_task1_cell_reused_in_task2": dict(
        cells={LI: NEURON_CLASS_LI, LIF: NEURON_CLASS_LIF}),
    "functools_partial": dict(cells={LIF: PARTIAL}),
    "torch_no_grad_tensors_returned": dict(
        cells={LI: TORCH_NO_GRAD_LI, LIF: TORCH_NO_GRAD_LIF, LIF_S: TORCH_LIF_S}),
    "convolution_and_apply_along_axis": dict(
        cells={LI: LI_CONVOLUTION, LI_S: LI_S_APPLY, LIF_S: LIF_S_APPLY}),
    "surfaces_vectorised_over_channels": dict(cells={LI_S: LI_S_VECTOR}),
    "constants_computed_by_calls_in_another_cell": dict(
        cells={LI: CONSTANTS_BY_CALLS, LIF: LIF_USES_CONSTANTS}),
    "helper_cell_added_with_star_import_and_loop_globals": dict(
        cells={LI: LI_USES_HELPER}, insert=[(T0, HELPER_CELL)]),
    "extra_cells_that_plot_and_print": dict(
        insert=[(LI, PLOT_CELL), (LIF, PRINT_CELL)]),
    "everything_in_one_cell": dict(
        cells={T0: ONE_CELL, **{gid: "# my code for this task is in the first cell" for gid in ALL_CODE}}),
}

#: every correct submission: the layouts above and the correct variants of corpus.module1
CORRECT = {**LAYOUTS, **{f"variant_{name}": dict(cells=cells) for name, cells in VARIANTS.items()}}


def _gid(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def apply(nb, entry: dict):
    """A copy of ``nb`` (the released notebook filled with reference answers) with the
    entry's cells rewritten and its added cells inserted."""
    import nbformat
    nb = copy.deepcopy(nb)
    for gid, source in entry.get("cells", {}).items():
        found = [c for c in nb.cells if _gid(c) == gid]
        if not found:
            raise KeyError(gid)
        found[0].source = source.strip("\n")
    for after, source in entry.get("insert", []):
        at = next(k for k, c in enumerate(nb.cells) if _gid(c) == after)
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(source.strip("\n")))
    return nb
