"""Do the Task 3 experiments show what the book says, with the parameters it uses?
(solutions/filters.py, reference.band_pass, solutions/values.py)

Claims: a LIF neuron driven by (cos(x)+1)/2 spikes at low and is silent at high
frequencies (low-pass); driven by unit pulses it spikes above and is silent below an
event rate (high-pass); two of them make a band-pass. Closed forms are checked
against scipy.signal.lfilter; every decision is checked to be far from the
threshold, so float32 or >= vs > cannot flip it.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.signal import lfilter

from solutions import filters as F
from solutions import reference, values

# Few, small examples and no per-example deadline keep the file to seconds; no example
# database (nothing written into the work tree); fixed examples under CI, so a CI run
# is reproducible (locally the examples vary and keep searching; SOLUTIONS_EXAMPLES=2000
# searches harder).
FEW = settings(
    max_examples=int(os.environ.get("SOLUTIONS_EXAMPLES", 30)),
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow],
)  # the machine is shared: slow != wrong
MARGIN = 1e-6  # distance of the pre-reset membrane from the threshold on every grid


def lfilter_li(x, tau):
    return lfilter([1 / tau], [1, -(1 - 1 / tau)], x, axis=-1)


# ---------------------------------------------------------------- Task 3: cosine, low-pass
def test_task3_sweep_spikes_at_low_and_not_at_high_frequencies():
    """On the book's grid, does the Task 3 neuron spike for every max_x up to a cutoff and
    never above it, with both sides present (spikes for pi..16 pi, silent for 17 pi..40 pi)?"""
    counts = F.spike_count_sweep(F.TASK3_MAX_XS, F.TASK3_TAU, F.TASK3_THRESHOLD)
    spiking = counts > 0
    assert spiking.any() and not spiking.all()
    first_silent = np.argmin(spiking)
    assert spiking[:first_silent].all() and not spiking[first_silent:].any()
    assert F.TASK3_MAX_XS[first_silent] == pytest.approx(17 * math.pi)


def test_task3_named_examples_and_graded_values():
    """Does the seed's 5 pi (and values.max_x_spiking) spike, and TASK3_SILENT_MAX_X
    (and values.max_x_silent) stay silent, with the reference loop?"""

    def count(max_x):
        spikes, _ = reference.leaky_integrate_and_fire(
            reference.cosine_signal(max_x, F.TASK3_SAMPLES), F.TASK3_TAU, F.TASK3_THRESHOLD
        )
        return spikes.sum()

    assert count(F.TASK3_SPIKING_MAX_X) == 5
    assert count(values.max_x_spiking) > 0
    assert count(F.TASK3_SILENT_MAX_X) == 0
    assert count(values.max_x_silent) == 0


def test_task3_decisions_are_far_from_the_threshold():
    """Is the pre-reset membrane never within 1e-6 of the threshold on the book's grid
    (for the Task 3 threshold, each sweep threshold, and the graded values)?"""
    grid = F.cosine_batch(np.concatenate([F.TASK3_MAX_XS, [values.max_x_spiking, values.max_x_silent]]))
    for threshold in (F.TASK3_THRESHOLD, *F.TASK3_SWEEP_THRESHOLDS):
        assert F.threshold_margin(grid, F.TASK3_TAU, threshold).min() > MARGIN


def test_seed_threshold_of_one_never_spikes():
    """Is the seed's threshold 1 unreachable for input in [0, 1], at every frequency?"""
    assert F.spike_count_sweep(np.linspace(0.1, 300, 400), F.TASK3_TAU, 1.0).sum() == 0


def test_higher_threshold_has_lower_frequency_cutoff():
    """In the figure's data, does each higher threshold stop spiking at a lower max_x,
    and does each curve spike exactly where the LI peak exceeds its threshold?"""
    resp = F.frequency_response()
    last_spiking = []
    for threshold in F.TASK3_SWEEP_THRESHOLDS:
        counts = resp["counts"][threshold]
        np.testing.assert_array_equal(counts > 0, resp["li_peak"] > threshold)
        last_spiking.append(resp["max_x"][counts > 0].max())
    assert last_spiking == sorted(last_spiking, reverse=True) and len(set(last_spiking)) == 3


def test_li_gain_closed_form_matches_lfilter_steady_state():
    """Is the ripple of the filtered cosine, after the start-up, |H(omega)| / 2 with
    |H| = (1/tau) / |1 - (1 - 1/tau) e^{-i omega}|? (Why fast oscillations are averaged.)"""
    for tau in (F.TASK3_TAU, 20.0):
        for omega in (0.05, 0.5, 1.5):
            y = lfilter_li((np.cos(omega * np.arange(20000)) + 1) / 2, tau)[-2000:]
            assert (y.max() - y.min()) / 2 == pytest.approx(F.li_gain(omega, tau) / 2, rel=2e-3)
            assert y.mean() == pytest.approx(0.5, abs=2e-3)


def test_fast_oscillation_is_averaged_below_threshold():
    """Does the membrane for the silent example stay, after start-up, within |H|/2 (+0.01)
    of the mean 1/2, and everywhere well below the threshold?"""
    v = reference.leaky_integrator(reference.cosine_signal(F.TASK3_SILENT_MAX_X), F.TASK3_TAU)
    ripple = F.li_gain(F.TASK3_SILENT_MAX_X / (F.TASK3_SAMPLES - 1), F.TASK3_TAU) / 2
    assert ripple < 0.13
    assert np.abs(v[30:] - 0.5).max() < ripple + 0.01
    assert v.max() < F.TASK3_THRESHOLD - 0.05


# ---------------------------------------------------------------- events, high-pass
@pytest.mark.parametrize("neuron, cutoff", [(F.LOW_CUTOFF, 13), (F.HIGH_CUTOFF, 4)])
def test_event_rate_sweep_has_a_cutoff(neuron, cutoff):
    """Does each neuron spike for every pulse period up to its cutoff and for none above
    (hand-computed: 0.95**13 = 0.513 > 1/2 > 0.95**14; 0.75**4 = 0.316 > 2/7 > 0.75**5)?"""
    counts = F.event_rate_sweep(F.EVENT_PERIODS, neuron.tau, neuron.threshold)
    np.testing.assert_array_equal(counts > 0, F.EVENT_PERIODS <= cutoff)
    assert F.cutoff_period(neuron.tau, neuron.threshold) == cutoff
    margin = F.threshold_margin(F.pulse_trains(F.EVENT_PERIODS, F.EVENT_STEPS), neuron.tau, neuron.threshold)
    assert margin.min() > MARGIN


def test_a_lone_pulse_does_not_spike_but_leaks_away():
    """Is one unit pulse below both thresholds, decaying by (1 - 1/tau) per step?"""
    for neuron in (F.LOW_CUTOFF, F.HIGH_CUTOFF):
        spikes, membrane = reference.leaky_integrate_and_fire(F.pulse_train(1000, 50), neuron.tau, neuron.threshold)
        assert spikes.sum() == 0
        np.testing.assert_allclose(membrane, (1 / neuron.tau) * (1 - 1 / neuron.tau) ** np.arange(50))


@given(period=st.integers(1, 40), tau=st.floats(1.5, 50.0))
@FEW
def test_steady_state_peak_matches_lfilter(period, tau):
    """Do the peaks of a long filtered pulse train approach (1/tau) / (1 - (1 - 1/tau)**period)?"""
    steps = period * int(60 * tau / period + 20)
    y = lfilter_li(F.pulse_train(period, steps), tau)
    assert y[-period:].max() == pytest.approx(F.steady_state_peak(period, tau), rel=1e-9)


@given(tau=st.floats(2.0, 40.0), level=st.floats(0.05, 0.95))
@FEW
def test_cutoff_period_matches_simulation(tau, level):
    """Does cutoff_period predict the longest spiking period of a simulated sweep?"""
    threshold = 1 / tau + level * (1 - 1 / tau)  # a lone pulse < threshold < 1
    periods = np.arange(1, 200)
    peaks = F.steady_state_peak(periods, tau)
    assume(np.abs(peaks - threshold).min() > 1e-4)  # a near-tie needs endless pulses
    counts = F.event_rate_sweep(periods, tau, threshold, steps=200 * 40)
    expected = F.cutoff_period(tau, threshold)
    assert (periods[counts > 0].max() if counts.any() else 0) == expected


def test_cutoff_period_edge_cases():
    """No cutoff when a lone pulse fires; none passes when threshold >= amplitude."""
    assert F.cutoff_period(2.0, 0.4) == math.inf
    assert F.cutoff_period(5.0, 1.0) == 0
    assert F.cutoff_period(20.0, 0.1) == 13


# ---------------------------------------------------------------- band-pass
def test_band_pass_passes_middle_and_rejects_both_ends():
    """Does reference.band_pass spike for the middle train and stay silent for slow and fast?"""
    counts = {name: int(np.count_nonzero(reference.band_pass(x.copy()))) for name, x in F.band_pass_cases().items()}
    assert counts["slow"] == 0 and counts["middle"] > 0 and counts["fast"] == 0


@pytest.mark.parametrize("steps, phase", [(500, 0), (120, 0), (1000, 7), (3000, 3)])
def test_band_pass_band_is_robust(steps, phase):
    """For trains of several lengths and start offsets, does the band-pass spike exactly for
    periods 5..13 (the two cutoffs) and never for 1..4 or 14..60?"""
    periods = np.arange(1, 61)
    x = F.pulse_trains(periods, steps, phase=phase)
    out, _ = F.band_pass_circuit(x)
    np.testing.assert_array_equal(out.sum(axis=1) > 0, (periods >= 5) & (periods <= 13))


def test_reference_band_pass_uses_the_filters_constants():
    """Is reference.band_pass (its own constants, for the notebook) the same circuit as
    filters.band_pass_circuit (LOW_CUTOFF, HIGH_CUTOFF, BAND_PASS_INHIBITION)?"""
    rng = np.random.default_rng(5)
    trains = np.concatenate([F.pulse_trains(np.arange(1, 41), 300), (rng.random((20, 300)) < 0.3) * 1.0])
    out, _ = F.band_pass_circuit(trains)
    for row, x in enumerate(trains):
        np.testing.assert_array_equal(reference.band_pass(x), out[row])


def test_band_pass_decisions_are_far_from_the_thresholds():
    """Are both neurons' pre-reset membranes >= 1e-6 away from their thresholds on the sweep?"""
    x = F.pulse_trains(F.EVENT_PERIODS, F.EVENT_STEPS)
    _, high_spikes = F.band_pass_circuit(x)
    low_input = x - F.BAND_PASS_INHIBITION * high_spikes
    assert F.threshold_margin(low_input, F.LOW_CUTOFF.tau, F.LOW_CUTOFF.threshold).min() > MARGIN
    assert F.threshold_margin(x, F.HIGH_CUTOFF.tau, F.HIGH_CUTOFF.threshold).min() > MARGIN


def test_band_pass_sweep_for_the_book():
    """Does the figure's data show low passing <= 13, high passing <= 4, band = 5..13?"""
    sweep = F.band_pass_sweep()
    p = sweep["periods"]
    np.testing.assert_array_equal(sweep["low"] > 0, p <= 13)
    np.testing.assert_array_equal(sweep["high"] > 0, p <= 4)
    np.testing.assert_array_equal(sweep["band"] > 0, (p >= F.BAND_PASS_BAND[0]) & (p <= F.BAND_PASS_BAND[1]))


def _judge_band_pass_on_the_task_trains(band_pass):
    """The grader's band-pass judge (module 1's checks) on the three trains the task names."""
    from course.manifest import module
    from neurograder.checks import judge

    CHECKS = module("module1").checks()
    from neurograder.wire import prepare_args, to_plain

    cases = [(x.tolist(),) for x in F.band_pass_cases().values()]
    judge(CHECKS["task31_band_pass"], [to_plain(band_pass(*prepare_args(c))) for c in cases], cases)


def test_check_band_pass_rejects_wrong_candidates():
    """Can the grader's band-pass judge fail: a single high-pass neuron, silence, and a wrong
    shape? And does it pass the reference?"""
    _judge_band_pass_on_the_task_trains(reference.band_pass)
    with pytest.raises(AssertionError, match="fast"):
        _judge_band_pass_on_the_task_trains(lambda x: reference.leaky_integrate_and_fire(x, 20, 0.1)[0])
    with pytest.raises(AssertionError, match="no spike came out"):
        _judge_band_pass_on_the_task_trains(lambda x: np.zeros_like(x))
    with pytest.raises(AssertionError, match="as long as its input"):
        _judge_band_pass_on_the_task_trains(lambda x: np.zeros(3))


def test_pulse_train_layout_and_bad_input():
    """Are pulses at phase, phase + period, ...; does a period < 1 raise ValueError?"""
    np.testing.assert_array_equal(F.pulse_train(3, 8), [1, 0, 0, 1, 0, 0, 1, 0])
    np.testing.assert_array_equal(F.pulse_train(3, 6, amplitude=2, phase=1), [0, 2, 0, 0, 2, 0])
    with pytest.raises(ValueError, match="period"):
        F.pulse_train(0, 10)


def test_cosine_batch_rows_equal_reference_signal():
    """Is each row of cosine_batch the reference cosine_signal of its max_x?"""
    batch = F.cosine_batch(F.TASK3_MAX_XS)
    for row, max_x in zip(batch, F.TASK3_MAX_XS):
        np.testing.assert_allclose(row, reference.cosine_signal(max_x), atol=1e-15)


def test_band_pass_docstring_states_the_checked_trains():
    """Does the task text students see name the periods and length that the check uses?"""
    doc = " ".join(reference.band_pass.__doc__.split())
    for period in F.BAND_PASS_PERIODS.values():
        assert f"P = {period} " in doc
    assert f"{F.BAND_PASS_STEPS} steps" in doc


def test_pulse_train_source_runs_alone_in_a_notebook():
    """The notebook gets pulse_train's source verbatim: does it work with only numpy imported?"""
    import inspect

    namespace = {"np": np}
    exec(inspect.getsource(F.pulse_train), namespace)
    np.testing.assert_array_equal(namespace["pulse_train"](4, 10, 2.0, 1), F.pulse_train(4, 10, 2.0, 1))
