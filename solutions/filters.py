r"""Task 3 science: in which sense a LIF neuron is a low-pass, a high-pass and
(two of them) a band-pass filter, with the parameters the book and the grader use.

Three experiments, each with its parameters named once here:

1. **Oscillating current, LIF = low-pass** (Task 3, 3.2). The input is the
   seed's ``(cos(x) + 1) / 2`` on ``x = linspace(0, max_x, 100)``; the phase
   advances ``omega = max_x / 99`` radians per step, so a larger ``max_x`` is
   a higher frequency. The membrane is a leaky integrator, whose gain at
   frequency ``omega`` is

       |H(omega)| = (1/tau) / |1 - (1 - 1/tau) e^{-i omega}|   (1 at omega = 0)

   so (after the start-up) it oscillates around the input's mean 1/2 with
   amplitude about ``|H| / 2``: slow oscillations are followed up to ~1 and
   cross a threshold below 1; fast ones are averaged to ~1/2 and never reach a
   threshold above ``1/2 + |H|/2``. With ``TASK3_TAU = 5`` and
   ``TASK3_THRESHOLD = 0.7`` the neuron spikes for ``max_x <= 16 pi`` (the seed's
   ``5 pi`` gives 5 spikes) and is silent for ``max_x >= 17 pi`` (steady-state
   cutoff ``|H| = 0.4`` at ``omega = 0.518``, ``max_x = 51.3 = 16.3 pi``).
   (The seed's threshold 1 can never be crossed: the membrane is a weighted
   average of inputs in [0, 1].)

2. **Input events, LIF = high-pass in event rate.** Unit pulses every
   ``period`` steps (``pulse_train``). Between pulses the membrane decays by
   ``d = 1 - 1/tau`` per step; a pulse adds ``a/tau``. Without spikes the
   peaks (right after each pulse) grow towards

       v_peak = (a/tau) / (1 - d^period)

   so the neuron spikes for a period iff ``v_peak > threshold`` (and one lone
   pulse does not make it spike iff ``a/tau <= threshold``): sparse events leak
   away, dense ones pass. ``cutoff_period`` solves this for the longest period
   that still passes. Two such neurons are used: ``LOW_CUTOFF`` (tau 20,
   threshold 0.1: passes periods <= 13) and ``HIGH_CUTOFF`` (tau 4,
   threshold 0.35: passes periods <= 4).

3. **Band-pass from two high-pass neurons** (Task 3.1). The HIGH_CUTOFF
   neuron B sees the pulses; each of its spikes enters the LOW_CUTOFF neuron A
   as an inhibitory current ``-BAND_PASS_INHIBITION`` in the same step (A's
   input is ``x - w z_B``). For slow trains A is silent; in the middle band B
   is silent and A spikes; for fast trains (period <= 4) B fires after 2 or 3
   pulses, A would need at least 3 (from rest; more from below 0), so B
   always comes first or in the same step, and each of its spikes pushes A's
   membrane below 0: A never fires. Output: periods 5..13 pass, <= 4 and >= 14 are
   rejected. ``solutions.reference.band_pass`` is this circuit written with
   two calls of ``leaky_integrate_and_fire`` (a test checks both agree).

All simulations use ``solutions.neurons.lif`` (batched over the sweep).
"""

from __future__ import annotations

import math

import numpy as np

from solutions.neurons import LIFParameters, as_float_array, li, lif

# ---------------------------------------------------------------- Task 3: cosine
#: membrane time constant (steps) of the Task 3 neuron
TASK3_TAU = 5.0
#: threshold of the Task 3 neuron (< 1, since the input is in [0, 1])
TASK3_THRESHOLD = 0.7
#: samples of the seed's signal (x = linspace(0, max_x, TASK3_SAMPLES))
TASK3_SAMPLES = 100
#: the seed's max_x: a slow oscillation that makes the Task 3 neuron spike (5 spikes)
TASK3_SPIKING_MAX_X = 5 * math.pi
#: a fast oscillation that the Task 3 neuron averages away (silent, peak ~0.62)
TASK3_SILENT_MAX_X = 30 * math.pi
#: the grid of max_x the book sweeps: pi, 2 pi, ..., 40 pi (well below aliasing at 99 pi)
TASK3_MAX_XS = math.pi * np.arange(1, 41)
#: thresholds for the "spike count vs frequency" figure (cutoffs near 35 pi, 16 pi, 9 pi)
TASK3_SWEEP_THRESHOLDS = (0.6, 0.7, 0.8)

# ------------------------------------------------- events: high-pass and band-pass
#: neuron with the low cutoff: a lone unit pulse gives 0.05; passes periods <= 13
LOW_CUTOFF = LIFParameters(tau=20.0, threshold=0.1)
#: neuron with the high cutoff: a lone unit pulse gives 0.25; passes periods <= 4
HIGH_CUTOFF = LIFParameters(tau=4.0, threshold=0.35)
#: inhibitory current into LOW_CUTOFF per spike of HIGH_CUTOFF (must exceed 1 + 0.1 * 19 = 2.9)
BAND_PASS_INHIBITION = 5.0
#: pulse periods (steps) on which the band-pass is checked: silent, spiking, silent
BAND_PASS_PERIODS = {"slow": 30, "middle": 8, "fast": 2}
#: length of the check trains (steps)
BAND_PASS_STEPS = 500
#: the periods the band-pass passes (inclusive), from the two cutoffs
BAND_PASS_BAND = (5, 13)
#: the grid of periods the book sweeps
EVENT_PERIODS = np.arange(1, 41)
#: length of the event-sweep trains (steps)
EVENT_STEPS = 1000


# ---------------------------------------------------------------- signals
def cosine_batch(max_xs, samples=TASK3_SAMPLES):
    """``(cos(x) + 1) / 2`` for each ``max_x``: shape ``(len(max_xs), samples)``
    (row ``n`` equals ``reference.cosine_signal(max_xs[n], samples)``)."""
    max_xs = np.atleast_1d(np.asarray(max_xs, dtype=float))
    x = np.linspace(0.0, max_xs, samples, axis=-1)
    return (np.cos(x) + 1.0) / 2.0


def cycles_per_step(max_x, samples=TASK3_SAMPLES):
    """Frequency of ``cosine_signal(max_x, samples)`` in cycles per step:
    ``max_x / (2 pi (samples - 1))``."""
    return np.asarray(max_x, dtype=float) / (2 * math.pi * (samples - 1))


def pulse_train(period, steps, amplitude=1.0, phase=0):
    """Input events: ``amplitude`` at steps ``phase, phase + period, ...``, else 0.

    Returns a float64 array of shape ``(steps,)``."""
    period, steps, phase = int(period), int(steps), int(phase)
    if period < 1:
        raise ValueError(f"period must be >= 1 step, got {period}")
    if steps < 0 or phase < 0:
        raise ValueError(f"steps and phase must be >= 0, got steps={steps}, phase={phase}")
    x = np.zeros(steps)
    x[phase::period] = amplitude
    return x


def pulse_trains(periods, steps, amplitude=1.0, phase=0):
    """``pulse_train`` for each period, stacked: shape ``(len(periods), steps)``."""
    return np.stack([pulse_train(p, steps, amplitude, phase) for p in np.atleast_1d(periods)])


# ---------------------------------------------------------------- closed forms
def li_gain(omega, tau):
    r"""Gain of the leaky integrator at ``omega`` radians per step:
    ``|H| = (1/tau) / |1 - (1 - 1/tau) e^{-i omega}|``."""
    d = 1.0 - 1.0 / tau
    return (1.0 / tau) / np.abs(1.0 - d * np.exp(-1j * np.asarray(omega, dtype=float)))


def steady_state_peak(period, tau, amplitude=1.0):
    r"""Limit of the membrane right after each pulse of ``pulse_train(period)``
    when no spike resets it: ``(a/tau) / (1 - (1 - 1/tau)^period)``."""
    d = 1.0 - 1.0 / tau
    return (amplitude / tau) / (1.0 - d ** np.asarray(period, dtype=float))


def cutoff_period(tau, threshold, amplitude=1.0):
    r"""Longest pulse period (integer steps) at which a LIF neuron still spikes.

    It spikes iff ``steady_state_peak(period) > threshold``, i.e.
    ``(1 - 1/tau)^period > 1 - a / (tau * threshold)``. Returns ``math.inf`` if
    a lone pulse already crosses (``a/tau > threshold``: no cutoff) and 0 if
    no period does (``threshold >= a``: even a constant input cannot cross).
    """
    if amplitude / tau > threshold:
        return math.inf
    if threshold >= amplitude or tau == 1.0:
        return 0
    d = 1.0 - 1.0 / tau
    bound = math.log(1.0 - amplitude / (tau * threshold)) / math.log(d)
    period = math.ceil(bound) - 1  # strict: d**period > ... <=> period < bound
    return max(period, 0)


# ---------------------------------------------------------------- sweeps
def spike_count_sweep(max_xs, tau=TASK3_TAU, threshold=TASK3_THRESHOLD, samples=TASK3_SAMPLES):
    """Number of spikes of a LIF neuron driven by ``cosine_signal(max_x, samples)``,
    for each ``max_x``: int array of ``len(max_xs)``."""
    spikes, _ = lif(cosine_batch(max_xs, samples), tau, threshold)
    return spikes.sum(axis=-1).astype(int)


def frequency_response(max_xs=TASK3_MAX_XS, thresholds=TASK3_SWEEP_THRESHOLDS, tau=TASK3_TAU, samples=TASK3_SAMPLES):
    """What the book plots for Task 3: spike count vs frequency for a few thresholds.

    Returns a dict with ``max_x``, ``cycles_per_step`` (x axis), ``counts``
    (``{threshold: int array}``), and ``li_peak``: the highest value the
    membrane reaches without threshold (the LI's max over the signal), which
    decides the curves (a threshold spikes iff it is below that peak)."""
    max_xs = np.asarray(max_xs, dtype=float)
    batch = cosine_batch(max_xs, samples)
    return {
        "max_x": max_xs,
        "cycles_per_step": cycles_per_step(max_xs, samples),
        "counts": {th: lif(batch, tau, th)[0].sum(axis=-1).astype(int) for th in thresholds},
        "li_peak": li(batch, tau).max(axis=-1),
    }


def event_rate_sweep(
    periods=EVENT_PERIODS, tau=LOW_CUTOFF.tau, threshold=LOW_CUTOFF.threshold, steps=EVENT_STEPS, amplitude=1.0
):
    """Number of spikes of a LIF neuron driven by ``pulse_train(period, steps)``
    for each period: int array of ``len(periods)``."""
    spikes, _ = lif(pulse_trains(periods, steps, amplitude), tau, threshold)
    return spikes.sum(axis=-1).astype(int)


def band_pass_circuit(x, low=LOW_CUTOFF, high=HIGH_CUTOFF, inhibition=BAND_PASS_INHIBITION):
    """The band-pass of ``reference.band_pass``, batched: ``x`` is ``(time,)`` or
    ``(channels, time)``. Returns ``(out_spikes, high_spikes)``."""
    x = as_float_array(x)
    high_spikes, _ = lif(x, high.tau, high.threshold)
    out, _ = lif(x - inhibition * high_spikes, low.tau, low.threshold)
    return out, high_spikes


def band_pass_sweep(periods=EVENT_PERIODS, steps=EVENT_STEPS):
    """What the book plots for Task 3.1: spike counts vs pulse period of the
    low-cutoff neuron alone, the high-cutoff neuron alone and the band-pass.
    Returns a dict of int arrays ``low``, ``high``, ``band`` plus ``periods``
    and ``rate`` (events per step = 1/period)."""
    periods = np.asarray(periods)
    x = pulse_trains(periods, steps)
    out, high_spikes = band_pass_circuit(x)
    return {
        "periods": periods,
        "rate": 1.0 / periods,
        "low": lif(x, LOW_CUTOFF.tau, LOW_CUTOFF.threshold)[0].sum(axis=-1).astype(int),
        "high": high_spikes.sum(axis=-1).astype(int),
        "band": out.sum(axis=-1).astype(int),
    }


def band_pass_cases(steps=BAND_PASS_STEPS):
    """The three trains the task text names: ``{"slow"|"middle"|"fast": pulse_train(P, steps)}``
    (the grader judges band_pass on random periods of each band instead)."""
    return {name: pulse_train(p, steps) for name, p in BAND_PASS_PERIODS.items()}


# ---------------------------------------------------------------- margins
def pre_reset_membrane(x, tau, membrane):
    """The LIF's voltage right before each threshold comparison (after the update, before
    the reset), from its input ``x`` and recorded ``membrane`` (after the reset)."""
    x = as_float_array(x)
    before = np.concatenate([np.zeros(x.shape[:-1] + (1,)), membrane[..., :-1]], axis=-1)
    return before + (x - before) / tau


def threshold_margin(x, tau, threshold):
    """Smallest distance between the LIF's pre-reset voltage and the threshold
    over all steps (per channel for a batch): how far the run is from a
    decision that rounding (float32, ``>`` vs ``>=``) could flip."""
    _, membrane = lif(as_float_array(x), tau, threshold)
    return np.abs(pre_reset_membrane(x, tau, membrane) - threshold).min(axis=-1)
