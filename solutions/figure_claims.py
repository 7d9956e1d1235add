"""The claims the chapter's figure captions make, with the parameters of those figures.

Registered in :data:`solutions.claims.CLAIMS` (``solutions.claims`` imports this module), quoted
in the captions as ``{glue:text}`name```. Each figure cell of the chapter draws with the
parameters named here, so a caption's numbers and the picture come from the same values.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from solutions import filters
from solutions.claims import LIF_SURFACE_THRESHOLD, claim, sample_raster
from solutions.neurons import li, lif

# ---- settings: the parameters of the chapter's figures, in one place
#: leaky-integrator response figure: time constant (steps), length (steps), the constant
#: input, and the oscillating input's amplitude and period (steps)
LI_DEMO_TAU, LI_DEMO_STEPS = 20.0, 200
LI_DEMO_CONSTANT = 1.0
LI_DEMO_AMPLITUDE, LI_DEMO_PERIOD = 0.1, 50
#: LIF figure with constant currents: time constant, threshold, the currents, length (steps)
LIF_DEMO_TAU, LIF_DEMO_THRESHOLD = 10.0, 0.25
LIF_DEMO_CURRENTS = (0.0, 0.1, 0.3)
LIF_DEMO_STEPS = 150
#: event high-pass figure: the two pulse periods (sparse, dense) and the traces' length (steps)
EVENT_DEMO_PERIODS = (20, 6)
EVENT_DEMO_STEPS = 120
#: LIF time surface figure (the chapter's LIF_TAU, LIF_THRESHOLD cell; the threshold is the tau claims')
LIF_SURFACE_TAU = 5.0


def li_demo_inputs() -> dict[str, np.ndarray]:
    """The two inputs of the leaky-integrator figure: constant and oscillating."""
    steps = np.arange(LI_DEMO_STEPS)
    return {
        "constant": np.full(LI_DEMO_STEPS, LI_DEMO_CONSTANT),
        "oscillating": LI_DEMO_AMPLITUDE * np.sin(2 * np.pi * steps / LI_DEMO_PERIOD),
    }


# ---------------------------------------------------------------- leaky integrator figure
@claim(
    "li_demo_constant",
    "for the constant input the LI voltage rises at every step and ends within 1 % of it",
    holds=lambda v: v["rising"] and abs(v["last"] - LI_DEMO_CONSTANT) < 0.01 * LI_DEMO_CONSTANT,
    text=lambda v: f"{v['last']:.5f}",
)
def _li_demo_constant():
    out = li(li_demo_inputs()["constant"], LI_DEMO_TAU)
    return {"rising": bool(np.all(np.diff(out) > 0)), "last": float(out[-1])}


@claim(
    "li_demo_oscillation",
    "the LI follows the oscillating input with a delay and a smaller amplitude, and its voltage goes below zero",
    holds=lambda v: v["lag"] > 0 and 0 < v["ratio"] < 1 and v["minimum"] < 0,
    text=lambda v: f"{v['ratio']:.2f} of the input's amplitude, {v['lag']} steps late, down to {v['minimum']:.3f}",
)
def _li_demo_oscillation():
    x = li_demo_inputs()["oscillating"]
    out = li(x, LI_DEMO_TAU)
    last = slice(LI_DEMO_STEPS - LI_DEMO_PERIOD, LI_DEMO_STEPS)  # the last full period
    return {
        "ratio": float(out[last].max() / x[last].max()),
        "lag": int(np.argmax(out[last]) - np.argmax(x[last])),
        "minimum": float(out.min()),
    }


# ---------------------------------------------------------------- LIF with constant currents
@functools.cache
def _lif_constant() -> dict[float, dict]:
    out = {}
    for current in LIF_DEMO_CURRENTS:
        spikes, membrane = lif(np.full(LIF_DEMO_STEPS, current), LIF_DEMO_TAU, LIF_DEMO_THRESHOLD)
        out[current] = {
            "spikes": int(spikes.sum()),
            "intervals": sorted(set(np.diff(np.flatnonzero(spikes)))),
            "highest": float(membrane.max()),
        }
    return out


@claim(
    "lif_constant_spiking",
    "of the constant currents, exactly the spiking ones cross the threshold, at one fixed interval",
    holds=lambda v: len(v) > 0 and all(len(r["intervals"]) == 1 for r in v.values()),
    text=lambda v: "; ".join(
        f"the current {c:g} gives {r['spikes']} spikes, one every {r['intervals'][0]} steps" for c, r in v.items()
    ),
)
def _lif_constant_spiking():
    return {c: r for c, r in _lif_constant().items() if r["spikes"] > 0}


@claim(
    "lif_constant_silent",
    "the other constant currents keep the voltage at or below the threshold",
    holds=lambda v: len(v) > 0 and all(h <= LIF_DEMO_THRESHOLD for h in v.values()),
    text=lambda v: (
        " and ".join(f"{c:g}" for c in v) + " (highest voltage " + ", ".join(f"{h:.3f}" for h in v.values()) + ")"
    ),
)
def _lif_constant_silent():
    return {c: r["highest"] for c, r in _lif_constant().items() if r["spikes"] == 0}


# ---------------------------------------------------------------- events: high-pass
@claim(
    "event_sparse_dense",
    "the sparse pulse train leaks away (no spike), the dense one makes the neuron fire",
    holds=lambda v: v[EVENT_DEMO_PERIODS[0]] == 0 and v[EVENT_DEMO_PERIODS[1]] > 0,
    text=lambda v: " and ".join(f"{n} spikes for a pulse every {p} steps" for p, n in v.items()),
)
def _event_sparse_dense():
    low = filters.LOW_CUTOFF
    return {
        p: int(lif(filters.pulse_train(p, EVENT_DEMO_STEPS), low.tau, low.threshold)[0].sum())
        for p in EVENT_DEMO_PERIODS
    }


@claim(
    "event_cutoff_period",
    "the low-cutoff neuron spikes for every pulse period up to its cutoff (the closed "
    "form) and for none above it, in the sweep",
    holds=lambda v: v["sweep_last"] == v["closed_form"] and v["prefix"],
    text=lambda v: f"{v['closed_form']}",
)
def _event_cutoff():
    low = filters.LOW_CUTOFF
    counts = filters.event_rate_sweep()
    passing = filters.EVENT_PERIODS[counts > 0]
    return {
        "closed_form": filters.cutoff_period(low.tau, low.threshold),
        "sweep_last": int(passing.max()),
        "prefix": bool(np.array_equal(passing, filters.EVENT_PERIODS[: len(passing)])),
    }


@claim(
    "band_pass_band",
    "the band-pass passes exactly the periods between the two neurons' cutoffs",
    holds=lambda v: v["contiguous"] and v["first"] == v["high_cutoff"] + 1 and v["last"] == v["low_cutoff"],
    text=lambda v: f"{v['first']} to {v['last']}",
)
def _band():
    sweep = filters.band_pass_sweep()
    passing = sweep["periods"][sweep["band"] > 0]
    low, high = filters.LOW_CUTOFF, filters.HIGH_CUTOFF
    return {
        "first": int(passing.min()),
        "last": int(passing.max()),
        "contiguous": len(passing) == passing.max() - passing.min() + 1,
        "low_cutoff": filters.cutoff_period(low.tau, low.threshold),
        "high_cutoff": filters.cutoff_period(high.tau, high.threshold),
    }


# ---------------------------------------------------------------- oscillating current: low-pass
@claim(
    "cosine_slow_fast",
    "the Task 3 neuron follows the slow signal close to its peak and spikes; the fast "
    "one stays below the threshold and never spikes",
    holds=lambda v: (
        v["slow_spikes"] > 0 and v["fast_spikes"] == 0 and v["fast_peak"] <= filters.TASK3_THRESHOLD < v["slow_peak"]
    ),
    text=lambda v: (
        f"the slow one reaches {v['slow_peak']:.2f} and spikes {v['slow_spikes']} times, the fast "
        f"one stays at or below {v['fast_peak']:.2f} and spikes {v['fast_spikes']} times"
    ),
)
def _cosine_slow_fast():
    batch = filters.cosine_batch([filters.TASK3_SPIKING_MAX_X, filters.TASK3_SILENT_MAX_X])
    peaks = li(batch, filters.TASK3_TAU).max(axis=-1)
    counts = lif(batch, filters.TASK3_TAU, filters.TASK3_THRESHOLD)[0].sum(axis=-1)
    return {
        "slow_peak": float(peaks[0]),
        "fast_peak": float(peaks[1]),
        "slow_spikes": int(counts[0]),
        "fast_spikes": int(counts[1]),
    }


@claim(
    "cosine_peak_range",
    "over the sweep the membrane's highest voltage is lower at the fastest signal than at "
    "any signal up to a quarter of the sweep",
    holds=lambda v: v["last"] < v["slow_lowest"],
    text=lambda v: f"at most {v['highest']:.2f} (at {v['highest_at']:g}π) and {v['last']:.2f} at {v['last_at']:g}π",
)
def _cosine_peaks():
    response = filters.frequency_response()
    peaks, pis = response["li_peak"], response["max_x"] / math.pi
    quarter = len(peaks) // 4
    return {
        "highest": float(peaks.max()),
        "highest_at": float(pis[np.argmax(peaks)]),
        "last": float(peaks[-1]),
        "last_at": float(pis[-1]),
        "slow_lowest": float(peaks[:quarter].min()),
    }


@claim(
    "cosine_cutoffs",
    "each threshold makes the neuron spike exactly where the membrane's highest voltage is "
    "above it, for every frequency up to a cutoff and none above; a higher threshold has a lower cutoff",
    holds=lambda v: (
        v["exact"]
        and v["prefix"]
        and list(v["cutoffs"].values()) == sorted(v["cutoffs"].values(), reverse=True)
        and len(set(v["cutoffs"].values())) == len(v["cutoffs"])
    ),
    text=lambda v: ", ".join(f"up to {k:g}π at threshold {t:g}" for t, k in v["cutoffs"].items()),
)
def _cosine_cutoffs():
    response = filters.frequency_response()
    cutoffs, exact, prefix = {}, True, True
    for threshold, counts in response["counts"].items():
        spiking = counts > 0
        exact &= bool(np.array_equal(spiking, response["li_peak"] > threshold))
        prefix &= bool(np.all(spiking[: int(spiking.sum())]))
        cutoffs[threshold] = float(response["max_x"][spiking].max() / math.pi)
    return {"cutoffs": cutoffs, "exact": exact, "prefix": prefix}


# ---------------------------------------------------------------- LIF time surface figure
@claim(
    "lif_surface_needs_company",
    "at the figure's tau and threshold a lone input spike never makes a channel "
    "fire: every output spike has another input spike shortly before it, and there are fewer outputs than inputs",
    holds=lambda v: v["lone_silent"] and 0 < v["outputs"] < v["inputs"] and v["widest_gap"] < math.inf,
    text=lambda v: (
        f"{v['outputs']} output spikes from {v['inputs']} input spikes; each output spike has "
        f"another input spike at most {v['widest_gap']} ms before it"
    ),
)
def _lif_surface_company():
    raster = sample_raster()
    spikes, _ = lif(raster, LIF_SURFACE_TAU, LIF_SURFACE_THRESHOLD)
    gaps = []
    for channel, k in zip(*np.nonzero(spikes)):
        before = np.flatnonzero(raster[channel, :k])  # input spikes strictly before the output's step
        gaps.append(int(k - before[-1]) if len(before) else math.inf)
    lone, _ = lif(np.r_[1.0, np.zeros(50)], LIF_SURFACE_TAU, LIF_SURFACE_THRESHOLD)
    return {
        "outputs": int(spikes.sum()),
        "inputs": int(raster.sum()),
        "widest_gap": max(gaps),
        "lone_silent": lone.sum() == 0,
    }


# ---------------------------------------------------------------- the spike raster
@claim(
    "raster_lower_half_share",
    "most of the sample's spikes are in the lower half of the channels (the higher channel numbers, lower frequencies)",
    holds=lambda v: v > 50,
    text=lambda v: f"{v:.0f}",
)
def _lower_half():
    raster = sample_raster()
    return float(100 * raster[raster.shape[0] // 2 :].sum() / raster.sum())


@claim(
    "raster_duration_ms",
    "the sample's raster at 1 ms per bin spans the word",
    holds=lambda v: v > 0,
    text=lambda v: f"{v}",
)
def _duration():
    return int(sample_raster().shape[1])


# ---------------------------------------------------------------- the students' plotting cells
#: time constants of the Task 1 plotting cell (its TAUS) and the Task 2 cell's TAU, THRESHOLD
RISE_TAUS = (1, 10, 50)
TASK2_PLOT_TAU, TASK2_PLOT_THRESHOLD, TASK2_PLOT_STEPS = 10, 0.8, 100


@claim(
    "li_rise_steps",
    "for the constant input 1 the LI voltage rises towards 1, faster for a smaller tau: the "
    "steps until it passes 0.9 grow with tau",
    holds=lambda v: list(v.values()) == sorted(v.values()) and len(set(v.values())) == len(v),
    text=lambda v: ", ".join(f"{n} step{'s' if n != 1 else ''} at tau = {t}" for t, n in v.items()),
)
def _rise():
    return {tau: int(np.argmax(li(np.ones(1000), float(tau)) > 0.9)) + 1 for tau in RISE_TAUS}


@claim(
    "lif_task2_plot",
    "on the constant input the Task 2 plotting cell's neuron spikes at a fixed interval",
    holds=lambda v: v["spikes"] > 1 and len(v["intervals"]) == 1,
    text=lambda v: f"{v['spikes']} spikes in {TASK2_PLOT_STEPS} steps, one every {v['intervals'][0]} steps",
)
def _task2_plot():
    spikes, _ = lif(np.ones(TASK2_PLOT_STEPS), float(TASK2_PLOT_TAU), TASK2_PLOT_THRESHOLD)
    return {"spikes": int(spikes.sum()), "intervals": sorted(set(np.diff(np.flatnonzero(spikes)).tolist()))}
