"""Benchmark: how long does the book take to build, cold and unchanged?

    .venv/bin/python bench/bench_build.py [--runs 3] [--cold-runs 3] [--with-notebooks]

Measures, in one run of this script (the machine is shared and noisy, so every figure is a
median over runs and is also given as a ratio to a baseline measured in the same run):

* baseline: ``jupyter-book build`` of a trivial one-page book (no code) into a fresh folder:
  the fixed cost of starting Sphinx/Jupyter Book and writing the theme on this machine now;
* cold build: the repository's book, with the Makefile's flags, into a fresh ``--path-output``
  (no HTML, no doctrees, no jupyter cache: every notebook is executed). Install excluded;
  assets must be staged already (``make assets``);
* unchanged rebuild: the same command again on that output, nothing changed;
* optionally (``--with-notebooks``) the Makefile's notebook step, ``python -m course.notebooks
  build`` (nbgrader source + release), which ``make book`` also runs. Off by default because it
  rewrites grader/source and grader/release in the working tree.

Goals (2-core machine): cold build < 90 s, unchanged rebuild < 10 s.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JB = Path(sys.executable).with_name("jupyter-book")
GOALS = {"cold build": 90.0, "unchanged rebuild": 10.0}

TRIVIAL_CONFIG = """title: baseline
author: bench
execute:
  execute_notebooks: "off"
"""
TRIVIAL_TOC = "format: jb-book\nroot: intro\n"
TRIVIAL_PAGE = "# Baseline\n\nOne page, no code.\n"


def makefile_flags() -> list:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^JB_FLAGS\s*:?=\s*(.+)$", text, flags=re.M)
    return match.group(1).split("#")[0].split() if match else ["-W", "--keep-going"]


def run(cmd: list, cwd: Path) -> float:
    """Run ``cmd``, fail loudly on a non-zero exit, return wall-clock seconds."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        sys.exit(f"bench_build: {' '.join(map(str, cmd))} failed ({proc.returncode}):\n{tail}")
    return elapsed


def trivial_book(root: Path) -> Path:
    book = root / "trivial"
    book.mkdir()
    (book / "_config.yml").write_text(TRIVIAL_CONFIG)
    (book / "_toc.yml").write_text(TRIVIAL_TOC)
    (book / "intro.md").write_text(TRIVIAL_PAGE)
    return book


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of baseline and rebuild (median)")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold builds (median)")
    parser.add_argument(
        "--with-notebooks", action="store_true", help="also time `python -m course.notebooks build` (rewrites grader/)"
    )
    args = parser.parse_args(argv)
    if not JB.exists():
        sys.exit(f"bench_build: {JB} missing; run `make venv`")
    if not (REPO / "_build" / "site_assets" / "vendor").is_dir():
        sys.exit("bench_build: _build/site_assets/vendor missing; run `make assets` first")
    flags = makefile_flags()
    results: dict = {}

    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        tmp = Path(tmp)
        book = trivial_book(tmp)
        results["baseline (trivial book)"] = times = []
        for k in range(args.runs):
            out = tmp / f"trivial-out-{k}"
            times.append(run([str(JB), "build", str(book), "--path-output", str(out)], tmp))
            print(f"  baseline run {k + 1}/{args.runs}: {times[-1]:.1f} s", flush=True)

        if args.with_notebooks:
            results["notebooks step"] = times = []
            for k in range(args.runs):
                times.append(run([sys.executable, "-m", "course.notebooks", "build"], REPO))
                print(f"  notebooks step run {k + 1}/{args.runs}: {times[-1]:.1f} s", flush=True)

        results["cold build"] = cold = []
        results["unchanged rebuild"] = warm = []
        last_out = None
        for k in range(args.cold_runs):
            out = tmp / f"book-out-{k}"
            cold.append(run([str(JB), "build", ".", *flags, "--path-output", str(out)], REPO))
            print(f"  cold build run {k + 1}/{args.cold_runs}: {cold[-1]:.1f} s", flush=True)
            if last_out is not None:
                shutil.rmtree(last_out, ignore_errors=True)
            last_out = out
        for k in range(args.runs):
            warm.append(run([str(JB), "build", ".", *flags, "--path-output", str(last_out)], REPO))
            print(f"  unchanged rebuild run {k + 1}/{args.runs}: {warm[-1]:.1f} s", flush=True)

    base = statistics.median(results["baseline (trivial book)"])
    print()
    print(f"jupyter-book build {' '.join(flags)}; medians of the runs, seconds; ratio = median / baseline")
    print(f"{'measure':28s} {'median':>7s} {'min':>7s} {'max':>7s} {'runs':>5s} {'ratio':>6s}  goal")
    ok = True
    for name, times in results.items():
        med = statistics.median(times)
        goal = GOALS.get(name)
        verdict = ""
        if goal is not None:
            verdict = f"< {goal:.0f} s: {'met' if med < goal else 'MISSED'}"
            ok &= med < goal
        print(f"{name:28s} {med:7.1f} {min(times):7.1f} {max(times):7.1f} {len(times):5d} {med / base:6.2f}  {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
