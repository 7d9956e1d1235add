"""Benchmark: plain ``nbgrader autograde`` vs our sandboxed batch on the same 30 submissions.

    .venv/bin/python bench/bench_grading.py [--repeat N] [--jobs J] [--keep DIR]

Makes a fresh course with the real ``nbgrader generate_assignment`` (from grader/source, built
by ``make notebooks``), writes 30 submissions (honest, partly wrong, empty stubs and hostile
ones that plain nbgrader can run without harming the machine), then times, in the same run:

* baseline: ``NEUROGRADER_PLAIN=1 nbgrader autograde module1`` (plain nbgrader, kernel per
  student, one student after another);
* ours: ``python -m neurograder.batch --force`` (sandbox on, ``--jobs`` students at once).

Both are the instructor's whole command (start-up included), each on its own copy of the
course. Prints each time, the median over ``--repeat`` runs, the ratio, and ours per
submission. Also checks that both graders agree on every honest submission.
Goals: ratio >= 4 on the 2-core machine; ours < 1 s per submission amortised.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from attacks import corpus  # noqa: E402

#: hostile submissions plain nbgrader can run without harming the machine
HOSTILE = ["01_patch_allclose", "02_read_source_notebook", "04_input_transformer",
           "05_reference_from_kernel", "08_stderr_warning", "19_ndarray_liar"]


def submissions(course: Path) -> dict[str, str]:
    """30 submissions: 12 honest, 6 partly wrong, 6 stubs, 6 hostile. student -> kind."""
    honest = corpus.honest_variants(course)
    attacks = {a.name: a for a in corpus.load_attacks()}
    kinds = {}
    for k in range(12):
        name = "honest_torch" if k % 6 == 5 else "honest_full"
        corpus.write_submission(course, f"s{k:02d}_honest", honest[name], timestamp=corpus.ON_TIME)
        kinds[f"s{k:02d}_honest"] = "honest"
    for k in range(6):
        corpus.write_submission(course, f"s{12 + k:02d}_partial", honest["honest_partial"],
                                timestamp=corpus.ON_TIME)
        kinds[f"s{12 + k:02d}_partial"] = "honest"
    for k in range(6):
        corpus.write_submission(course, f"s{18 + k:02d}_stub", honest["honest_stub"],
                                timestamp=corpus.ON_TIME)
        kinds[f"s{18 + k:02d}_stub"] = "honest"
    for k, name in enumerate(HOSTILE):
        corpus.write_submission(course, f"s{24 + k:02d}_{name}",
                                corpus.attack_notebook(course, attacks[name]),
                                timestamp=corpus.ON_TIME)
        kinds[f"s{24 + k:02d}_{name}"] = "hostile"
    return kinds


def scores(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook, MissingEntry
    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for s in gb.students:
            try:
                out[s.id] = gb.find_submission("module1", s.id).score
            except MissingEntry:
                pass
    return out


def timed(cmd, cwd, env) -> float:
    t = time.monotonic()
    run = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - t
    if run.returncode != 0 and "neurograder.batch" in " ".join(cmd):
        print(run.stdout[-2000:], run.stderr[-2000:])
        raise SystemExit("our batch failed")
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=1, help="runs of each grader (median reported)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--keep", type=Path, default=None, help="keep the courses in this folder")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-grading-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    template = corpus.make_course(work / "template")
    kinds = submissions(template)
    n = len(kinds)
    print(f"{n} submissions: " + ", ".join(
        f"{sum(1 for k in kinds.values() if k == kind)} {kind}" for kind in ("honest", "hostile")
    ) + f" (honest includes 6 partly wrong and 6 empty); {os.cpu_count()} cores; "
        f"load average {os.getloadavg()[0]:.1f}")
    plain_t, ours_t = [], []
    for r in range(args.repeat):
        for label in ("plain", "ours"):
            course = work / f"{label}{r}"
            shutil.rmtree(course, ignore_errors=True)
            shutil.copytree(template, course)
            if label == "plain":
                cmd = [corpus.tool("nbgrader"), "autograde", "module1"]
                env = corpus.venv_env(NEUROGRADER_PLAIN="1")
                plain_t.append(timed(cmd, course, env))
                plain_scores = scores(course)
                print(f"  run {r + 1}: plain nbgrader autograde   {plain_t[-1]:7.1f} s")
            else:
                cmd = [sys.executable, "-m", "neurograder.batch", "--course", str(course),
                       "--jobs", str(args.jobs), "--force", "--no-progress"]
                ours_t.append(timed(cmd, course, corpus.venv_env()))
                our_scores = scores(course)
                print(f"  run {r + 1}: neurograder.batch (sandbox) {ours_t[-1]:7.1f} s")
        disagree = [s for s, k in kinds.items() if k == "honest"
                    and plain_scores.get(s) != our_scores.get(s)]
        if disagree:
            print("  honest submissions graded differently:", disagree)
    p, o = statistics.median(plain_t), statistics.median(ours_t)
    print(f"baseline plain nbgrader: {p:.1f} s ({p / n:.2f} s per submission)")
    print(f"ours (sandbox on, {args.jobs} jobs): {o:.1f} s ({o / n:.2f} s per submission)")
    print(f"ratio plain/ours: {p / o:.1f}x   (goal >= 4x; ours < 1 s per submission)")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
