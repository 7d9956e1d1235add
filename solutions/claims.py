"""Every quantitative or directional statement the chapter and the model answers make about the
models, computed from the models.

A claim is registered here next to the computation that demonstrates it: a name, the
statement in words, a ``compute`` function (numbers from :mod:`solutions.neurons`,
:mod:`solutions.filters` and the shipped sample), a ``holds`` predicate that says whether the
statement is true of those numbers, and a ``text`` that quotes the numbers.

The chapter (``book/module1/neurons.md``) and ``solutions/answers.md`` quote a claim as
``{glue:text}`name```. On the book page a hidden cell glues :func:`quote` of every claim
(MyST-NB's ``glue``); in the notebooks ``course.notebooks`` substitutes the same text. A claim
that stops being true raises :class:`ClaimError` wherever it is quoted, so the page fails to
build and ``tests/test_claims.py`` fails.

(A little over 300 lines: one registry, read top to bottom, of the chapter's claims next to
the computations that prove them; the figure captions' claims are in
:mod:`solutions.figure_claims`.)
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from solutions import filters
from solutions.neurons import li, lif

ROOT = Path(__file__).resolve().parents[1]
SHD_LOADER = ROOT / "book" / "module1" / "shd_data.py"  # the loader the chapter uses
#: How a text quotes a claim (MyST-NB's glue role: the page resolves it, the notebooks substitute it).
REFERENCE = re.compile(r"\{glue:text\}`([A-Za-z0-9_]+)`")
#: Time constants (ms) of the tau claims about the time surfaces (the sliders' range ends and middle).
SURFACE_TAUS = (1.0, 20.0, 256.0)
LIF_SURFACE_TAUS = (1.0, 2.0, 3.0, 5.0, 8.0, 16.0, 32.0)
#: A spike's trace counts as still there while the LI surface is above this percentage of its maximum.
TRAIL_PERCENT = 1.0
#: Threshold of the LIF time surface in the chapter's figure and the model answer.
LIF_SURFACE_THRESHOLD = 0.3
#: Signal samples: x runs over linspace(0, max_x, TASK3_SAMPLES); cosines alias above this max_x.
NYQUIST_MAX_X = math.pi * (filters.TASK3_SAMPLES - 1)


class ClaimError(AssertionError):
    """A claim of the text is not true of the models (or names no registered claim)."""


@dataclass(frozen=True)
class Claim:
    name: str
    statement: str  # the claim in words, for error messages
    compute: Callable[[], Any] = field(repr=False)
    holds: Callable[[Any], bool] = field(repr=False)
    text: Callable[[Any], str] = field(repr=False)


CLAIMS: dict[str, Claim] = {}


def claim(name: str, statement: str, *, holds: Callable[[Any], bool], text: Callable[[Any], str]):
    """Register the decorated function as the computation of claim ``name``."""

    def register(compute):
        if name in CLAIMS:
            raise ValueError(f"claim {name!r} is registered twice")
        CLAIMS[name] = Claim(name, statement, functools.cache(compute), holds, text)
        return compute

    return register


def check(c: Claim) -> Any:
    """The claim's value; raise ClaimError if the statement is not true of it."""
    value = c.compute()
    if not c.holds(value):
        raise ClaimError(f"claim {c.name!r} is false: {c.statement} (computed: {value!r})")
    return value


def quote(name: str, registry: dict[str, Claim] | None = None) -> str:
    """The text that quotes claim ``name``, after checking that the claim holds."""
    registry = CLAIMS if registry is None else registry
    if name not in registry:
        raise ClaimError(f"no claim {name!r} is registered in solutions/claims.py")
    c = registry[name]
    return c.text(check(c))


def substitute(text: str, registry: dict[str, Claim] | None = None) -> str:
    """``text`` with every ``{glue:text}`name``` replaced by the claim's quoted text."""
    return REFERENCE.sub(lambda m: quote(m.group(1), registry), text)


def referenced(text: str) -> list[str]:
    return REFERENCE.findall(text)


class Quoted(str):
    """A string whose plain-text form has no quotes (what glue's text role shows)."""

    def __repr__(self) -> str:
        return str(self)


def glue_all() -> None:
    """Book page: glue every claim's text under its name (checked, so a false claim fails the build)."""
    from myst_nb import glue

    for name in CLAIMS:
        glue(name, Quoted(quote(name)), display=False)


# ---------------------------------------------------------------- helpers
def _sample():
    """The shipped spike raster (700, T) at 1 ms per bin, as the chapter loads it."""
    spec = importlib.util.spec_from_file_location("shd_data", SHD_LOADER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return np.asarray(module.load_raster(module.DEFAULT_SAMPLE, index=0, bin_width=1e-3), dtype=float)


@functools.cache
def sample_raster():
    return _sample()


def _strictly_falling(values) -> bool:
    values = list(values)
    return all(a > b for a, b in zip(values, values[1:]))


def _non_increasing(values) -> bool:
    values = list(values)
    return all(a >= b for a, b in zip(values, values[1:]))


# ---------------------------------------------------------------- leaky integrator
@claim(
    "li_memory_steps",
    "after a single input the LI voltage falls to 1/e of its first value after about tau steps",
    holds=lambda v: abs(v["steps"] - v["tau"]) <= 1,
    text=lambda v: f"{v['steps']}",
)
def _li_memory():
    tau = 20.0
    out = li(np.r_[1.0, np.zeros(200)], tau)
    steps = int(np.argmax(out < out[0] / math.e))
    return {"tau": tau, "steps": steps}


@claim(
    "li_gain_slow_fast",
    "the LI passes a slow oscillation almost fully and damps a fast one (tau 20)",
    holds=lambda v: v["slow"] > 0.9 and v["fast"] < 0.2 and v["slow"] > v["fast"],
    text=lambda v: (
        f"{v['slow']:.2f} of a slow oscillation (period 500 steps) but only {v['fast']:.2f} "
        f"of a fast one (period 10 steps)"
    ),
)
def _li_gain():
    return {
        "slow": float(filters.li_gain(2 * math.pi / 500, 20.0)),
        "fast": float(filters.li_gain(2 * math.pi / 10, 20.0)),
    }


# ---------------------------------------------------------------- Task 3
@claim(
    "task3_threshold_band",
    "with a threshold just above the LI membrane's peak for the fastest signal "
    "(max_x = 99 pi), the slow signal (5 pi) makes the neuron spike and the fastest does not; "
    "just below that peak the fastest spikes too",
    holds=lambda v: (
        v["slow_spikes_above"] and v["fast_silent_above"] and v["fast_spikes_below"] and 0.5 < v["fastest_peak"] < 1
    ),
    text=lambda v: f"{v['fastest_peak']:.3f}",
)
def _threshold_band():
    tau, samples = filters.TASK3_TAU, filters.TASK3_SAMPLES
    peak = float(li(filters.cosine_batch([NYQUIST_MAX_X], samples), tau).max())
    slow, fast = 5 * math.pi, NYQUIST_MAX_X
    count = lambda max_x, th: int(filters.spike_count_sweep([max_x], tau, th, samples)[0])  # noqa: E731
    return {
        "fastest_peak": peak,
        "slow_spikes_above": count(slow, peak + 0.005) > 0,
        "fast_silent_above": count(fast, peak + 0.005) == 0,
        "fast_spikes_below": count(fast, peak - 0.005) > 0,
    }


@claim(
    "task3_slow_peak",
    "the slow signal (5 pi) makes the Task 3 neuron spike for a threshold just below its "
    "LI membrane's peak and not just above it, and that peak is above the fastest signal's",
    holds=lambda v: (
        v["spikes_below"]
        and not v["spikes_above"]
        and v["peak"] > CLAIMS["task3_threshold_band"].compute()["fastest_peak"]
    ),
    text=lambda v: f"{v['peak']:.3f}",
)
def _slow_peak():
    tau, slow = filters.TASK3_TAU, 5 * math.pi
    peak = float(li(filters.cosine_batch([slow]), tau).max())
    count = lambda th: int(filters.spike_count_sweep([slow], tau, th)[0])  # noqa: E731
    return {"peak": peak, "spikes_below": count(peak - 0.005) > 0, "spikes_above": count(peak + 0.005) > 0}


@claim("task3_spikes_at_5pi", "the Task 3 neuron spikes for max_x = 5 pi", holds=lambda n: n > 0, text=lambda n: f"{n}")
def _spikes_5pi():
    return int(filters.spike_count_sweep([5 * math.pi])[0])


@claim(
    "aliasing_max_x",
    "max_x above 99 pi aliases: 99 pi + d looks like 99 pi - d, and 198 pi is constant",
    holds=lambda v: v["mirror"] and v["constant_at_double"],
    text=lambda v: f"{v['nyquist_pi']:g}",
)
def _aliasing():
    d = 7 * math.pi
    up, down = filters.cosine_batch([NYQUIST_MAX_X + d, NYQUIST_MAX_X - d])
    double = filters.cosine_batch([2 * NYQUIST_MAX_X])[0]
    return {
        "nyquist_pi": NYQUIST_MAX_X / math.pi,
        "mirror": bool(np.allclose(up, down)),
        "constant_at_double": bool(np.ptp(double) < 1e-9),
    }


# ---------------------------------------------------------------- Task 4
@claim(
    "raster_fine_columns",
    "at 0.1 ms per bin the raster has thousands of columns, almost all empty",
    holds=lambda v: v["columns"] > 1000 and v["filled_percent"] < 5,
    text=lambda v: f"{v['columns']}",
)
def _fine():
    spec = importlib.util.spec_from_file_location("shd_data", SHD_LOADER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fine = np.asarray(module.load_raster(module.DEFAULT_SAMPLE, index=0, bin_width=1e-4))
    return {"columns": int(fine.shape[1]), "filled_percent": float(100 * np.mean(fine > 0))}


@claim(
    "raster_fine_filled",
    "at 0.1 ms per bin only a few percent of the bins hold a spike",
    holds=lambda v: v < 5,
    text=lambda v: f"{v:.2f}",
)
def _fine_filled():
    return CLAIMS["raster_fine_columns"].compute()["filled_percent"]


@claim(
    "li_surface_max_falls",
    "a larger tau lowers the LI time surface's maximum (each spike adds 1/tau)",
    holds=lambda v: _strictly_falling(v.values()),
    text=lambda v: ", ".join(f"{m:.3g} at tau = {t:g}" for t, m in v.items()),
)
def _li_surface_max():
    raster = sample_raster()
    return {tau: float(li(raster, tau).max()) for tau in SURFACE_TAUS}


@claim(
    "li_surface_longer_trails",
    "a larger tau makes each spike's trace last longer: more of the LI surface "
    f"is above {TRAIL_PERCENT:g} % of its maximum",
    holds=lambda v: _strictly_falling(list(v.values())[::-1]),
    text=lambda v: (
        f"the share of the surface above {TRAIL_PERCENT:g} % of its maximum is "
        + ", ".join(f"{p:.0f} % at tau = {t:g}" for t, p in v.items())
    ),
)
def _li_surface_spread():
    raster = sample_raster()
    out = {}
    for tau in SURFACE_TAUS:
        surface = li(raster, tau)
        out[tau] = float(100 * np.mean(surface > TRAIL_PERCENT / 100 * surface.max()))
    return out


@claim(
    "lif_surface_spikes_fall",
    "on the sample at threshold 0.3, a larger tau gives fewer LIF output spikes, down to none",
    holds=lambda v: _non_increasing(v.values()) and list(v.values())[0] > 0 and list(v.values())[-1] == 0,
    text=lambda v: ", ".join(f"{n} at tau = {t:g}" for t, n in v.items()),
)
def _lif_surface_spikes():
    raster = sample_raster()
    return {tau: int(lif(raster, tau, LIF_SURFACE_THRESHOLD)[0].sum()) for tau in LIF_SURFACE_TAUS}


@claim("lif_surface_input_spikes", "the sample's raster has input spikes", holds=lambda n: n > 0, text=lambda n: f"{n}")
def _input_spikes():
    return int(sample_raster().sum())


@claim(
    "li_sum_exceeds_last_event",
    "the LI surface sums all past spikes, so where spikes come close together "
    "it exceeds a surface that decays from the last spike only",
    holds=lambda v: v["never_below"] and v["max_ratio"] > 1.5,
    text=lambda v: f"{v['max_ratio']:.1f}",
)
def _li_vs_last_event():
    raster, tau = sample_raster(), 20.0
    leaky = li(raster, tau)
    last = np.zeros_like(raster)  # (1/tau) (1 - 1/tau)^(steps since the last spike), 0 before any
    value = np.zeros(raster.shape[0])
    for k in range(raster.shape[1]):
        value = np.where(raster[:, k] > 0, 1.0 / tau, value * (1 - 1.0 / tau))
        last[:, k] = value
    seen = last > 0
    return {
        "never_below": bool(np.all(leaky[seen] >= last[seen] - 1e-12)),
        "max_ratio": float((leaky[seen] / last[seen]).max()),
    }


@claim(
    "lif_copy_max_tau",
    "at threshold 0.3 a single input spike crosses the threshold for every tau up to 3, "
    "so the LIF surface is the raster itself, and not for tau 4",
    holds=lambda v: v["copies"] and not v["copies_next"],
    text=lambda v: f"{v['tau']:g}",
)
def _lif_copy():
    raster, tau = sample_raster(), 3.0
    copies = all(np.array_equal(lif(raster, t, LIF_SURFACE_THRESHOLD)[0], raster) for t in (1.0, 2.0, tau))
    return {
        "tau": tau,
        "copies": copies,
        "copies_next": bool(np.array_equal(lif(raster, tau + 1, LIF_SURFACE_THRESHOLD)[0], raster)),
    }


# The figures' claims (captions) live next to the figures' parameters; importing registers them.
from solutions import figure_claims  # noqa: E402,F401
