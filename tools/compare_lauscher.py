"""Compare the fast stand-in cochlea (tools/make_digit.py) with Lauscher on the same audio.

Lauscher (PyPI ``lauscher``, LGPL-2.1) is the model that made the Spiking Heidelberg
Digits. It is slow (minutes and GBs for one word), so it runs once, in its own
virtual environment, and its spikes are saved; the comparison then only reads files.

Steps (from the repository root)::

    python3 -m venv /tmp/lvenv && /tmp/lvenv/bin/pip install lauscher==1.0.1
    .venv/bin/python tools/make_digit.py --out /tmp/cmp/stand_in.h5 --wav-out /tmp/cmp/seven.wav
    /tmp/lvenv/bin/python tools/compare_lauscher.py lauscher /tmp/cmp/seven.wav /tmp/cmp/lauscher.npz
    .venv/bin/python tools/compare_lauscher.py compare /tmp/cmp/lauscher.npz \
        --sample book/module1/data/shd_sample.h5 --out-dir book/module1/data

The ``lauscher`` step needs only lauscher and numpy (it runs in Lauscher's venv); it
seeds numpy's global generator and uses one worker process, so it is repeatable.
The ``compare`` step stores Lauscher's spikes in the SHD layout
(``lauscher_seven.h5``, read by the same loader as the shipped sample) and writes
``lauscher_comparison.csv`` (spike counts per band of 100 channels, both models) and
``lauscher_comparison.png``. With ``--from-h5`` it redraws both from the committed
``lauscher_seven.h5`` without Lauscher.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

N_CHANNELS = 700
BAND = 100  # channels per band in the table
LAUSCHER_SEED = 0


def run_lauscher(wav: Path, out: Path, seed: int = LAUSCHER_SEED) -> None:
    """Run Lauscher's Wave2Spike (700 channels) on ``wav``; save spikes + timing to ``out`` (npz)."""
    import logging
    from importlib.metadata import version

    import numpy as np
    from lauscher.audiowaves import FileMonoAudioWave
    from lauscher.helpers import CommandLineArguments
    from lauscher.transformations import BasilarMembrane, BushyCell, HairCell, HanningWindow, RmsNormalizer

    logging.basicConfig(level=logging.INFO)
    CommandLineArguments().num_concurrent_jobs = 1  # one worker: polite and repeatable
    np.random.seed(seed)  # bushy-cell fibre sampling
    wave = FileMonoAudioWave(str(wav))
    t0 = time.time()
    # the same chain as lauscher.transformations.wave2spike.Wave2Spike, stage by stage for progress
    stages = [
        ("RMS normalise 0.3", RmsNormalizer(0.3)),
        ("Hann window", HanningWindow()),
        ("basilar membrane", BasilarMembrane(channels=N_CHANNELS)),
        ("Meddis hair cell", HairCell()),
        ("bushy cells", BushyCell()),
    ]
    data = wave
    seconds = {}
    for i, (name, trafo) in enumerate(stages, 1):
        t = time.time()
        print(f"[{i}/{len(stages)}] {name} ...", file=sys.stderr, flush=True)
        data = data.transform(trafo)
        seconds[name] = round(time.time() - t, 1)
        print(f"[{i}/{len(stages)}] {name} done in {seconds[name]} s", file=sys.stderr, flush=True)
    total = time.time() - t0
    peak_kb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    )
    info = {
        "lauscher": version("lauscher"),
        "numpy": version("numpy"),
        "scipy": version("scipy"),
        "numba": version("numba"),
        "python": sys.version.split()[0],
        "seed": seed,
        "jobs": 1,
        "seconds_total": round(total, 1),
        "seconds_per_stage": seconds,
        "peak_rss_mb": round(peak_kb / 1024),
        "wav": str(wav),
        "audio_seconds": wave.num_samples / wave.sample_rate,
        "sample_rate": wave.sample_rate,
    }
    np.savez(
        out,
        times=np.asarray(data.spike_times, dtype=np.float64),
        units=np.asarray(data.spike_labels, dtype=np.int64),
        info=json.dumps(info),
    )
    print(json.dumps(info, indent=1))


def _loader():
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "book" / "module1" / "shd_data.py"
    spec = importlib.util.spec_from_file_location("shd_data", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def band_table(units_a, units_b, band=BAND):
    """Rows ``(first, last, count_a, count_b, active_a, active_b)`` per band of ``band`` channels,
    then a total row with ``first = last = -1``."""
    import numpy as np

    ca = np.bincount(units_a, minlength=N_CHANNELS)
    cb = np.bincount(units_b, minlength=N_CHANNELS)
    rows = []
    for lo in range(0, N_CHANNELS, band):
        hi = min(lo + band, N_CHANNELS)
        rows.append(
            (
                lo,
                hi - 1,
                int(ca[lo:hi].sum()),
                int(cb[lo:hi].sum()),
                int((ca[lo:hi] > 0).sum()),
                int((cb[lo:hi] > 0).sum()),
            )
        )
    rows.append((-1, -1, int(ca.sum()), int(cb.sum()), int((ca > 0).sum()), int((cb > 0).sum())))
    return rows


def table_csv(rows) -> str:
    """The comparison table as CSV text (stand-in = tools/make_digit.py)."""
    lines = ["channels,stand_in_spikes,lauscher_spikes,stand_in_active,lauscher_active"]
    for lo, hi, a, b, aa, ab in rows:
        name = "all" if lo < 0 else f"{lo}-{hi}"
        lines.append(f"{name},{a},{b},{aa},{ab}")
    return "\n".join(lines) + "\n"


def write_lauscher_h5(npz: Path, out: Path) -> None:
    """Store Lauscher's spikes (seconds, channel) in the SHD layout, byte-reproducibly."""
    import importlib.util
    import numpy as np

    spec = importlib.util.spec_from_file_location("make_digit", Path(__file__).resolve().parent / "make_digit.py")
    md = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(md)
    d = np.load(npz)
    info = json.loads(str(d["info"]))
    times, units = d["times"], d["units"]
    order = np.lexsort((units, times))
    attrs = {
        "description": "Lauscher (Cramer et al. 2022; the model that made SHD) on the same "
        "eSpeak NG audio as shd_sample.h5. Made by tools/compare_lauscher.py.",
        "lauscher_run": json.dumps({k: info[k] for k in sorted(info) if k != "wav"}),
        "word": "seven",
    }
    md.write_shd(out, [(times[order], units[order])], [md.KEYS.index("seven")], [md.SPEAKER_ID], attrs=attrs)


def compare(sample: Path, lauscher_h5: Path, out_dir: Path) -> str:
    """Write lauscher_comparison.csv and .png into ``out_dir``; return the CSV text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    shd = _loader()
    t_a, u_a, _, _ = shd.read_sample(sample, 0)
    t_b, u_b, _, _ = shd.read_sample(lauscher_h5, 0)
    rows = band_table(u_a, u_b)
    csv = table_csv(rows)
    (out_dir / "lauscher_comparison.csv").write_text(csv)

    duration = max(t_a.max(), t_b.max()) + 1e-3
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2), gridspec_kw={"width_ratios": [3, 3, 2]}, sharey=True)
    for ax, t, u, title in (
        (axes[0], t_a, u_a, "stand-in (tools/make_digit.py)"),
        (axes[1], t_b, u_b, "Lauscher 1.0.1"),
    ):
        ax.plot(t, u, ",", color="k")
        ax.set_title(f"{title}: {t.size} spikes, {np.unique(u).size} channels", fontsize=9)
        ax.set_xlabel("time (s)")
        ax.set_xlim(0, duration)
    axes[0].set_ylabel("channel (0 = highest frequency)")
    axes[0].set_ylim(N_CHANNELS, 0)
    edges = np.arange(0, N_CHANNELS + 1, 25)
    for u, label in ((u_a, "stand-in"), (u_b, "Lauscher")):
        h, _ = np.histogram(u, bins=edges)
        axes[2].step(h, edges[:-1], where="post", label=label)
    axes[2].set_xlabel("spikes per 25 channels")
    axes[2].legend(fontsize=8)
    fig.suptitle("'seven' (eSpeak NG, same audio) through both cochlea models", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_dir / "lauscher_comparison.png", dpi=80, metadata={"Software": None})
    plt.close(fig)
    return csv


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("lauscher", help="run Lauscher on a WAV file (in Lauscher's venv)")
    a.add_argument("wav", type=Path)
    a.add_argument("out", type=Path)
    a.add_argument("--seed", type=int, default=LAUSCHER_SEED)
    here = Path(__file__).resolve().parent.parent / "book" / "module1" / "data"
    c = sub.add_parser("compare", help="store Lauscher's spikes, write the table and figure")
    c.add_argument("npz", type=Path, nargs="?", help="output of the lauscher step")
    c.add_argument("--from-h5", action="store_true", help="skip the npz: use the committed lauscher_seven.h5")
    c.add_argument("--sample", type=Path, default=here / "shd_sample.h5")
    c.add_argument("--out-dir", type=Path, default=here)
    args = p.parse_args(argv)
    if args.cmd == "lauscher":
        run_lauscher(args.wav, args.out, args.seed)
    else:
        lauscher_h5 = args.out_dir / "lauscher_seven.h5"
        if not args.from_h5:
            if args.npz is None:
                p.error("compare needs the lauscher step's npz, or --from-h5")
            write_lauscher_h5(args.npz, lauscher_h5)
        print(compare(args.sample, lauscher_h5, args.out_dir), end="")


if __name__ == "__main__":
    main()
