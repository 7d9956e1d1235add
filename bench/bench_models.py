"""Benchmark: time surfaces of the neuron models on a spiking-digit-sized raster.

Run:  .venv/bin/python bench/bench_models.py [--repeats N] [--random]

Prints medians over repeats, for the same work on the same raster:
  * the readable per-step reference (solutions.reference.li_time_surface, a Python
    loop over channels and steps),
  * the vectorised path (solutions.neurons.li: loop over time, vector over channels),
  * the baseline scipy.signal.lfilter([1/tau], [1, -(1 - 1/tau)], raster, axis=-1),
and their ratios; the same for the LIF (no lfilter equivalent, so reference vs
vectorised only); then one LI plus one LIF surface for 16 log-spaced taus, in total.

Goals: vectorised LI surface within 2x of lfilter; 16 taus (LI + LIF) < 1 s.
The raster is the shipped digit (book/module1/shd_data.py, load_raster()) when it is
present and loads; otherwise a seeded random 700 x 1000 0/1 raster of ~1.5% density.
The machine is shared: compare ratios measured in the same run, not absolute times.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from solutions import neurons, reference

ROOT = Path(__file__).resolve().parents[1]
LOADER = ROOT / "book" / "module1" / "shd_data.py"
TAU = 20.0  # time constant (steps = 1 ms bins) for the single-surface timings
THRESHOLD = 0.1  # LIF threshold for the timings (2+ input spikes within ~tau fire)
TAUS = np.geomspace(1.0, 300.0, 16)  # the 16 taus of the "slider" workload


def load_raster(force_random=False):
    """(raster, description): the shipped digit if its loader works, else a random one."""
    if LOADER.exists() and not force_random:
        try:
            spec = importlib.util.spec_from_file_location("shd_data", LOADER)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            raster = np.asarray(module.load_raster(), dtype=np.float64)
            return raster, f"shipped digit via {LOADER.relative_to(ROOT)} load_raster()"
        except Exception as err:  # noqa: BLE001 - fall back, but say why
            print(
                f"note: {LOADER.relative_to(ROOT)} did not load ({type(err).__name__}: {err}); using a random raster",
                file=sys.stderr,
            )
    rng = np.random.default_rng(0)
    raster = (rng.random((700, 1000)) < 0.015).astype(np.float64)
    return raster, "random 0/1 raster, seed 0, density 1.5% (--random, or the digit did not load)"


def median_time(fn, repeats):
    """Median wall time of fn() over `repeats` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="repeats of the fast timings")
    parser.add_argument("--slow-repeats", type=int, default=3, help="repeats of the Python loops")
    parser.add_argument(
        "--random", action="store_true", help="use the seeded random 700 x 1000 raster even if the digit loads"
    )
    args = parser.parse_args(argv)

    raster, what = load_raster(force_random=args.random)
    channels, steps = raster.shape
    print(f"raster: {channels} x {steps} ({what}), {int(raster.sum())} spikes")
    print(
        f"tau = {TAU:g}, threshold = {THRESHOLD:g}; medians of {args.repeats} runs "
        f"({args.slow_repeats} for the per-step reference)\n"
    )

    # the three do the same work: check before timing
    expected = lfilter([1 / TAU], [1, -(1 - 1 / TAU)], raster, axis=-1)
    assert np.abs(neurons.li(raster, TAU) - expected).max() < 1e-12
    assert np.abs(reference.li_time_surface(raster, TAU) - expected).max() < 1e-12

    print("leaky-integrator surface", flush=True)
    t_lfilter = median_time(lambda: lfilter([1 / TAU], [1, -(1 - 1 / TAU)], raster, axis=-1), args.repeats)
    print(f"  scipy.signal.lfilter (baseline)   {t_lfilter * 1e3:9.2f} ms", flush=True)
    t_fast = median_time(lambda: neurons.li(raster, TAU), args.repeats)
    print(
        f"  neurons.li (vectorised)           {t_fast * 1e3:9.2f} ms   {t_fast / t_lfilter:6.2f} x lfilter"
        f"   (goal <= 2x: {'met' if t_fast <= 2 * t_lfilter else 'NOT met'})",
        flush=True,
    )
    t_ref = median_time(lambda: reference.li_time_surface(raster, TAU), args.slow_repeats)
    print(
        f"  reference.li_time_surface (loop)  {t_ref * 1e3:9.2f} ms   {t_ref / t_lfilter:6.1f} x lfilter, "
        f"{t_ref / t_fast:6.1f} x vectorised",
        flush=True,
    )

    print("LIF surface", flush=True)
    t_lif_fast = median_time(lambda: neurons.lif(raster, TAU, THRESHOLD), args.repeats)
    print(
        f"  neurons.lif (vectorised)          {t_lif_fast * 1e3:9.2f} ms   {t_lif_fast / t_lfilter:6.2f} x LI lfilter",
        flush=True,
    )
    t_lif_ref = median_time(lambda: reference.lif_time_surface(raster, TAU, THRESHOLD), args.slow_repeats)
    print(
        f"  reference.lif_time_surface (loop) {t_lif_ref * 1e3:9.2f} ms   {t_lif_ref / t_lif_fast:6.1f} x vectorised",
        flush=True,
    )

    print(f"16 taus ({TAUS[0]:g} .. {TAUS[-1]:g}, log-spaced): one LI + one LIF surface each", flush=True)

    def sixteen():
        for tau in TAUS:
            neurons.li(raster, tau)
            neurons.lif(raster, tau, THRESHOLD)

    def sixteen_lfilter():
        for tau in TAUS:
            lfilter([1 / tau], [1, -(1 - 1 / tau)], raster, axis=-1)

    t16 = median_time(sixteen, 3)
    t16_lfilter = median_time(sixteen_lfilter, 3)
    print(
        f"  neurons.li + neurons.lif          {t16 * 1e3:9.1f} ms total   (goal < 1000 ms: "
        f"{'met' if t16 < 1.0 else 'NOT met'})"
    )
    print(f"  baseline: 16 x lfilter (LI only)  {t16_lfilter * 1e3:9.1f} ms total")


if __name__ == "__main__":
    main()
