"""The hidden checks of module 1 (assignment ``module1``): one :class:`Check` per hidden test cell.

The module manifest (``module.toml``, ``[python] checks``) names this file; the grader, the
notebook builder and the page's points table reach it only through the manifest. The engine
that runs and judges these checks is :mod:`neurograder.checks`.

Expected values come from the references (``solutions/``) and exist only where a judge runs.
Messages tell a student *what* is wrong (length, first value, reset, threshold, axis, ...)
without printing expected numbers.

Cases are drawn from the course secret (:func:`neurograder.checks.rng`), so nothing public
(this file, the page, a docstring, the visible self-checks) predicts them: the band-pass gets
random periods from inside each band, the cosine random lengths and frequencies; a value task
is judged by a property of the value (any max_x that makes the neuron spike), not by a
published answer. LIF cases never put the membrane within ``MARGIN`` of the threshold,
band-pass periods keep a step away from each cutoff, and a max_x must keep its verdict under a
``VALUE_MARGIN`` change, so float32 and ``>=`` never decide a grade.

(Over 300 lines: one table of nine checks, each with the case maker and the judge that name
its mistakes; splitting it would separate a check from its diagnoses.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from course.manifest import load
from neurograder.checks import ATOL, RTOL, Check, CheckFailed, as_array, close, table
from neurograder.checks import rng as course_rng
from solutions import filters
from solutions.neurons import li, lif

#: LIF cases keep every pre-jump membrane value at least this far from the threshold.
MARGIN = 1e-4
#: relative change of max_x under which a Task 3 value must keep its verdict
VALUE_MARGIN = 0.01
#: random hidden cases per band of the band-pass check (slow, middle, fast)
BAND_PASS_PER_BAND = 2


# ---------------------------------------------------------------- references
def _li(x, tau):
    return np.asarray(li(np.asarray(x, float), tau), dtype=float)


def _lif(x, tau, threshold):
    spikes, membrane = lif(np.asarray(x, float), tau, threshold)
    return np.asarray(spikes, dtype=float), np.asarray(membrane, dtype=float)


def _clear_of_threshold(x, tau, threshold):
    """No step of the reference LIF decides within MARGIN of the threshold."""
    return float(np.min(filters.threshold_margin(x, tau, threshold))) > MARGIN


# ---------------------------------------------------------------- case makers
def _li_cases():
    rng = course_rng(1)
    cases = [
        ([1.0] * 30, 1.0),  # tau = 1 returns the input
        ([1.0] * 40, 5.0),  # constant input: closed form
        ([0.0, 0.0, 1.0, 0.0, 0.0, 0.0], 2.0),  # an impulse
        ([0.7], 3.0),  # a single step
    ]
    for _ in range(24):
        n = int(rng.integers(2, 120))
        x = rng.uniform(-1.0, 2.0, n).round(6)
        tau = float(rng.choice([1.0, 2.0, 3.5, 10.0, 37.0, round(float(rng.uniform(1.0, 60.0)), 3)]))
        cases.append((x.tolist(), tau))
    return cases


def _lif_cases():
    rng = course_rng(2)
    wanted = [
        ([1.0] * 60, 5.0, 0.5),  # seed-like constant input that spikes regularly
        ([0.3] * 60, 4.0, 0.5),  # sub-threshold constant input: never spikes
        ([2.0, 0.0, 0.0, 2.0, 2.0, 0.0, 2.0], 1.0, 1.0),  # tau = 1: membrane is the input
    ]
    cases = [c for c in wanted if _clear_of_threshold(*c)]
    while len(cases) < 30:
        n = int(rng.integers(5, 150))
        x = rng.uniform(0.0, 2.0, n).round(6)
        tau = round(float(rng.uniform(1.0, 25.0)), 3)
        threshold = round(float(rng.uniform(0.2, 1.4)), 3)
        if _clear_of_threshold(x, tau, threshold) and (len(cases) % 3 or _lif(x, tau, threshold)[0].sum() > 0):
            cases.append((x.tolist(), tau, threshold))
    return cases


def _raster(rng, channels, steps, density=0.15):
    return (rng.random((channels, steps)) < density).astype(float)


def _telling(r, tau, threshold=None):
    """Does the surface of raster ``r`` tell a neuron apart from the mistakes a surface can
    hide? Its state must outlast an input (some channel still holds v > 0 at a step with no
    input spike: a neuron that forgets, or one that spikes at every input and resets, gives
    the input back), and, for more than one channel, running the neuron along the channel
    axis must give another surface. (A low threshold with a short tau makes the LIF neuron
    spike at every input spike and reset: the surface is then the raster, whatever the code.)"""
    if threshold is None:
        run = lambda x: _li(x, tau)  # noqa: E731
    else:
        run = lambda x: _lif(x, tau, threshold)[1]  # noqa: E731
    membrane = run(r)
    remembers = bool(np.any((r == 0) & (membrane > ATOL)))
    # (compared element by element, not with np.allclose: under plain nbgrader the cases are
    # drawn in the student's kernel, where a submission may have replaced np.allclose)
    return remembers and (r.shape[0] == 1 or float(np.max(np.abs(run(r.T).T - membrane))) > ATOL)


#: draws a time-surface case may take to tell the mistakes apart: needing more is a bug
MAX_DRAWS = 1000


def _surface_cases(with_threshold):
    rng = course_rng(3 if with_threshold else 4)
    cases = []
    shapes = [(6, 40), (12, 12), (3, 90), (20, 25), (1, 50), (9, 60)]
    for c, t in shapes:
        for _ in range(MAX_DRAWS):
            r = _raster(rng, c, t, density=float(rng.uniform(0.05, 0.4)))
            tau = float(rng.choice([1.0, 2.0, 4.0, 7.5, 15.0]))
            if not with_threshold:
                if _telling(r, tau):
                    cases.append((r.tolist(), tau))
                    break
                continue
            threshold = round(float(rng.uniform(0.1, 0.6)), 3)
            if _clear_of_threshold(r, tau, threshold) and _telling(r, tau, threshold):
                cases.append((r.tolist(), tau, threshold))
                break
        else:
            raise RuntimeError(f"no time-surface case of shape {(c, t)} told the mistakes apart in {MAX_DRAWS} draws")
    return cases


# ---------------------------------------------------------------- judging helpers
def _describe(case_no, case):
    x = np.asarray(case[0], float)
    parts = [f"case {case_no}: input of shape {x.shape}", f"tau={case[1]:g}"]
    if len(case) > 2:
        parts.append(f"threshold={case[2]:g}")
    return ", ".join(parts)


def _diagnose_li(x, tau, got, ref):
    """Name the most likely mistake of a wrong leaky integrator (no expected numbers)."""
    n = x.shape[-1]
    if got.shape[-1] == n + 1:
        return "the output is one step too long: it should not include the initial v = 0."
    if got.shape[-1] == n - 1:
        return "the output is one step too short: record v after every input step."
    if got.shape != ref.shape:
        return f"the output has shape {got.shape}; it must have the input's shape {x.shape}."
    if np.allclose(got[..., 1:], ref[..., :-1], rtol=RTOL, atol=ATOL) and not close(got, ref):
        return "the output lags one step behind: update v with input[k] before recording out[k]."
    if close(got, _li_variant(x, lambda v, i: v + (i - v) * tau)):
        return "tau is used as a multiplier; the step is (input - v) / tau."
    if tau != 1 and close(got, _li_variant(x, lambda v, i: v + (i - v) / tau**2)):
        return "the step divides by tau squared; it is (input - v) / tau."
    if close(got, _li_variant(x, lambda v, i: v + i / tau)):
        return "the leak is missing: the step is (input - v) / tau, not input / tau."
    if close(got, x / tau):
        return "v is not carried from one step to the next: each step must start from the previous v."
    if abs(got[..., 0] - ref[..., 0]).max() > ATOL + RTOL:
        return "the very first value is wrong: v starts at 0, so out[0] = input[0] / tau."
    return "the output differs from the leaky-integrator equation v = v + (input - v) / tau."


def _li_variant(x, step):
    v, out = 0.0, []
    for i in x:
        v = step(v, i)
        out.append(v)
    return np.asarray(out)


def _judge_li(cases, outputs):
    for no, (case, out) in enumerate(zip(cases, outputs), 1):
        x, tau = np.asarray(case[0], float), case[1]
        got, ref = as_array(out, "The output of leaky_integrator"), _li(x, tau)
        if not close(got, ref):
            raise CheckFailed(f"leaky_integrator, {_describe(no, case)}: {_diagnose_li(x, tau, got, ref)}")


def _diagnose_lif(x, tau, threshold, spikes, membrane):
    ref_s, ref_m = _lif(x, tau, threshold)
    if spikes.shape != ref_s.shape or membrane.shape != ref_m.shape:
        return (
            f"spikes and membrane must both have the input's shape {x.shape}; got {spikes.shape} and {membrane.shape}."
        )
    if not np.all((spikes == 0) | (spikes == 1)):
        return "spikes must be 0 or 1 at every step."
    if close(membrane, _li(x, tau)) and ref_s.sum() > 0:
        return "the membrane is never reset: after a spike v jumps to v_reset = 0."
    if np.any(membrane > threshold + ATOL):
        return "the membrane is above the threshold after a step: did you reset v after a spike?"
    if ref_s.sum() > 0 and np.allclose(membrane[spikes == 1], 1.0) and threshold < 1:
        return "after a spike v is set to 1; the reset is v = (1 - z) v + z * v_reset with v_reset = 0."
    if ref_s.sum() > 0 and np.allclose(membrane[spikes == 1], threshold):
        return "after a spike v is set to the threshold; it must be reset to v_reset = 0."
    if close(spikes, ref_s) and not close(membrane, ref_m):
        return "the spikes are right but the membrane is not: record v after the reset jump."
    if not close(spikes, ref_s):
        return "the spike times differ: spike when v > threshold (after the update), then reset."
    return "the output differs from the LIF equations."


def _judge_lif(cases, outputs):
    for no, (case, out) in enumerate(zip(cases, outputs), 1):
        x, tau, threshold = np.asarray(case[0], float), case[1], case[2]
        if not isinstance(out, (list, tuple)) or len(out) != 2:
            raise CheckFailed("leaky_integrate_and_fire must return two things: (spikes, membrane).")
        spikes = as_array(out[0], "spikes")
        membrane = as_array(out[1], "membrane")
        ref_s, ref_m = _lif(x, tau, threshold)
        if not (close(spikes, ref_s) and close(membrane, ref_m)):
            raise CheckFailed(
                f"leaky_integrate_and_fire, {_describe(no, case)}: {_diagnose_lif(x, tau, threshold, spikes, membrane)}"
            )


def _surface_hint(x, got, ref, name):
    if got.shape == ref.shape[::-1] and got.shape != ref.shape:
        return f"{name} has shape {got.shape}, the transpose of the raster's {ref.shape}: keep (channels, time)."
    if got.shape != ref.shape:
        return f"{name} has shape {got.shape}; it must have the raster's shape (channels, time) = {ref.shape}."
    return None


def _judge_li_surface(cases, outputs):
    for no, (case, out) in enumerate(zip(cases, outputs), 1):
        x, tau = np.asarray(case[0], float), case[1]
        got, ref = as_array(out, "The time surface"), _li(x, tau)
        if close(got, ref):
            continue
        hint = _surface_hint(x, got, ref, "The time surface")
        if hint is None and close(got, _li(x.T, tau).T):
            hint = "the neuron ran along the channel axis; run it along time (the last axis) of each channel."
        if hint is None and x.shape[0] > 1 and close(got, _li(x.reshape(1, -1), tau).reshape(x.shape)):
            hint = "the state leaks from one channel into the next: start every channel at v = 0."
        raise CheckFailed(
            f"li_time_surface, {_describe(no, case)}: "
            f"{hint or 'each channel must be the leaky integrator of that channel.'}"
        )


def _judge_lif_surface(cases, outputs):
    for no, (case, out) in enumerate(zip(cases, outputs), 1):
        x, tau, threshold = np.asarray(case[0], float), case[1], case[2]
        if not isinstance(out, (list, tuple)) or len(out) != 2:
            raise CheckFailed("lif_time_surface must return two surfaces: (spikes, membrane).")
        spikes, membrane = as_array(out[0], "The spike surface"), as_array(out[1], "The membrane surface")
        ref_s, ref_m = _lif(x, tau, threshold)
        if close(spikes, ref_s) and close(membrane, ref_m):
            continue
        hint = _surface_hint(x, spikes, ref_s, "The spike surface") or _surface_hint(
            x, membrane, ref_m, "The membrane surface"
        )
        if hint is None and close(spikes, _lif(x.T, tau, threshold)[0].T):
            hint = "the neuron ran along the channel axis; run it along time (the last axis) of each channel."
        raise CheckFailed(
            f"lif_time_surface, {_describe(no, case)}: "
            f"{hint or 'each channel must be the LIF neuron of that channel (spikes, membrane).'}"
        )


def _judge_input_data(cases, outputs):
    (value,) = outputs
    x = as_array(value, "input_data")
    if x.ndim != 1:
        raise CheckFailed(f"input_data must be 1-D; it has shape {x.shape}.")
    if x.size < 1000:
        raise CheckFailed(f"input_data has {x.size} values; it needs at least 1000.")
    if not np.all(x == 1):
        raise CheckFailed("input_data must be all ones.")


# ---------------------------------------------------------------- Task 3
def _cosine_cases():
    rng = course_rng(5)
    cases = [(np.pi * 5, 100), (np.pi * 0.5, 10)]  # the page's signal, a short one
    for _ in range(6):
        cases.append((round(float(rng.uniform(0.5, 60.0)), 4), int(rng.integers(2, 200))))
    return cases


def _judge_cosine(cases, outputs):
    for case, out in zip(cases, outputs):
        max_x, samples = case
        got = as_array(out, "cosine_signal")
        ref = filters.cosine_batch([max_x], samples)[0]
        if got.shape != ref.shape:
            raise CheckFailed(
                f"cosine_signal({max_x:g}, {samples}) has shape {got.shape}; it must have {samples} samples."
            )
        if not close(got, ref):
            hint = (
                "values must lie in [0, 1]: (cos(x) + 1) / 2"
                if got.min() < -ATOL or got.max() > 1 + ATOL
                else "sample x = linspace(0, max_x, samples), endpoints included"
            )
            raise CheckFailed(f"cosine_signal({max_x:g}, {samples}) is wrong: {hint}.")


def _spike_count_for(max_x):
    """Spikes of the Task 3 neuron driven by cosine_signal(max_x)."""
    return int(filters.spike_count_sweep([max_x])[0])


def _judge_frequency(should_spike):
    name = "max_x_spiking" if should_spike else "max_x_silent"

    def judge(cases, outputs):
        (value,) = outputs
        max_x = as_array(value, name)
        if max_x.shape != () or not 0 < float(max_x) <= 1e4:
            raise CheckFailed(f"{name} must be one positive number (the max_x of the signal).")
        count = _spike_count_for(float(max_x))
        if any((_spike_count_for(float(max_x) * f) > 0) != (count > 0) for f in (1 - VALUE_MARGIN, 1 + VALUE_MARGIN)):
            raise CheckFailed(
                f"max_x = {float(max_x):g} is right at the edge: a 1% change flips "
                "the neuron between spiking and silent; pick a value clearly inside."
            )
        if should_spike and count == 0:
            raise CheckFailed(f"with max_x = {float(max_x):g} the Task 3 neuron does not spike; try another max_x.")
        if not should_spike and count > 0:
            raise CheckFailed(
                f"with max_x = {float(max_x):g} the Task 3 neuron spikes {count} times; "
                "look for a max_x where it stays silent."
            )

    return judge


# ---------------------------------------------------------------- Task 3.1
def _band_of(period: int) -> str:
    low, high = filters.BAND_PASS_BAND
    return "fast" if period < low else "slow" if period > high else "middle"


def _band_pass_plan() -> list[tuple[str, int, int, int]]:
    """(band, period, phase, steps) of each hidden train: BAND_PASS_PER_BAND random periods
    per band, at least one step inside the band's edges, random phase and length, in a
    random order; each verified on the reference circuit (spikes exactly in the middle)."""
    low, high = filters.BAND_PASS_BAND
    ranges = {"slow": (high + 2, 40), "middle": (low + 1, high - 1), "fast": (1, low - 2)}
    rng = course_rng(6)
    plan = []
    for band, (lo, hi) in ranges.items():
        periods = rng.choice(np.arange(lo, hi + 1), size=BAND_PASS_PER_BAND, replace=hi - lo + 1 < BAND_PASS_PER_BAND)
        for period in periods:
            while True:
                phase, steps = int(rng.integers(0, period)), int(rng.integers(300, 601))
                out, _ = filters.band_pass_circuit(filters.pulse_train(int(period), steps, phase=phase))
                if (out.sum() > 0) == (band == "middle"):
                    plan.append((band, int(period), phase, steps))
                    break
    return [plan[k] for k in rng.permutation(len(plan))]


def _band_pass_cases():
    return [(filters.pulse_train(p, steps, phase=phase).tolist(),) for _, p, phase, steps in _band_pass_plan()]


def _pulse_period(train) -> int:
    """The period of a pulse train (steps between its first two pulses)."""
    on = np.flatnonzero(np.asarray(train, float))
    return int(on[1] - on[0]) if len(on) > 1 else len(train)


def _judge_band_pass(cases, outputs):
    for case, out in zip(cases, outputs):
        period = _pulse_period(case[0])
        band = _band_of(period)
        spikes = as_array(out, "band_pass output")
        n = len(case[0])
        if spikes.shape != (n,):
            raise CheckFailed(
                f"band_pass must return one spike train as long as its input ({n}); got shape {spikes.shape}."
            )
        if not np.all((spikes == 0) | (spikes == 1)):
            raise CheckFailed("band_pass must return spikes: 0 or 1 at every step.")
        count = int(spikes.sum())
        if band == "middle" and count == 0:
            raise CheckFailed(f"a pulse every {period} steps (the middle band) must pass, but no spike came out.")
        if band != "middle" and count > 0:
            raise CheckFailed(
                f"a pulse every {period} steps ({band} events) must be rejected, but {count} spikes came out."
            )


# ---------------------------------------------------------------- the table
def _one_value():
    return [()]


CHECKS: dict[str, Check] = table(
    [
        Check("task0_input_data", "input_data", "value", 1, _one_value, _judge_input_data),
        Check(
            "task1_leaky_integrator_hidden",
            "leaky_integrator",
            "call",
            3,
            _li_cases,
            _judge_li,
            smoke="leaky_integrator(np.ones(3), 2.0)",
        ),
        Check(
            "task2_lif_hidden",
            "leaky_integrate_and_fire",
            "call",
            4,
            _lif_cases,
            _judge_lif,
            smoke="leaky_integrate_and_fire(np.ones(3), 2.0, 0.7)",
        ),
        Check(
            "task3_cosine_signal",
            "cosine_signal",
            "call",
            1,
            _cosine_cases,
            _judge_cosine,
            smoke="cosine_signal(np.pi)",
        ),
        Check("task3_max_x_spiking", "max_x_spiking", "value", 1, _one_value, _judge_frequency(True)),
        Check("task3_max_x_silent", "max_x_silent", "value", 1, _one_value, _judge_frequency(False)),
        Check(
            "task31_band_pass",
            "band_pass",
            "call",
            2,
            _band_pass_cases,
            _judge_band_pass,
            smoke="band_pass(np.ones(3))",
            uses=("task2_lif_hidden",),
        ),
        Check(
            "task41_li_surface_hidden",
            "li_time_surface",
            "call",
            2,
            lambda: _surface_cases(False),
            _judge_li_surface,
            smoke="li_time_surface(np.ones((2, 3)), 2.0)",
            uses=("task1_leaky_integrator_hidden",),
        ),
        Check(
            "task42_lif_surface_hidden",
            "lif_time_surface",
            "call",
            2,
            lambda: _surface_cases(True),
            _judge_lif_surface,
            smoke="lif_time_surface(np.ones((2, 3)), 2.0, 0.7)",
            uses=("task2_lif_hidden",),
        ),
    ],
    load(Path(__file__).resolve().parent),
)  # task numbers and extra credit: from module.toml
