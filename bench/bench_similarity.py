"""Benchmark: the similarity report on a class of 300 submissions (goal: under a minute).

    .venv/bin/python bench/bench_similarity.py [--students 300] [--repeat 1] [--keep DIR]

Writes a course (grader/source and grader/release copied, built by ``make notebooks``) whose
``submitted/`` holds N notebooks made from the released one: for each task of
``tests/similarity_corpus`` every student gets one of the 22 honest corpus solutions, drawn at
random, with its local names renamed at random (the other tasks hold the reference, as in the
corpus). Many students thus share a solution up to names: a worst case with thousands of
pairs listed for review. Then times, in the same run (imports warmed first; median over
``--repeat``):

* baseline: reading every notebook and normalising every task (``load_class`` +
  ``normalise_class``): the work any comparison needs before it can compare;
* ours: the whole report (``analyse`` + ``write_report``: read, normalise, fingerprint, compare
  all pairs of every task, rank, cluster, draw, write the page and the CSV);
* once: the instructor's command ``python -m neurograder.similarity`` (start-up included).

Wall and CPU time are printed for each (on a shared machine the wall time grows with the load
average, printed last, while the CPU time does not).
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "grader"))
from attacks import corpus as attacks_corpus  # noqa: E402
from similarity_corpus import corpus  # noqa: E402

from neurograder import similarity as S  # noqa: E402

GOAL_S = 60.0


class Rename(ast.NodeTransformer):
    """Give every name the code assigns (not the parameters, modules or builtins) a new one."""

    def __init__(self, assigned: set[str], rng: random.Random):
        self.new = {
            n: f"{rng.choice(['v', 'buf', 'tmp', 'x', 'acc'])}_{rng.randrange(10**6)}" for n in sorted(assigned)
        }

    def visit_Name(self, node):
        node.id = self.new.get(node.id, node.id)
        return node


def renamed(body: str, rng: random.Random) -> str:
    """A function body with its local names changed (it stays valid Python)."""
    src = "def f():\n" + body
    tree = ast.parse(src)
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    tree = Rename(stored, rng).visit(tree)
    lines = ast.unparse(tree).splitlines()[1:]
    return "\n".join(lines) + "\n"


def make_course(dest: Path, n: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    honest = [s for s in corpus.students() if not s.copy_of]
    for part in ("source", "release"):
        shutil.copytree(attacks_corpus.GRADER / part, dest / part)
    tasks = sorted(corpus.covered())
    for k in range(n):
        cells = {}
        for gid in tasks:
            body = rng.choice(honest).cells[gid]
            cells[gid] = body if gid.endswith("_answer") else renamed(body, rng)
        student = corpus.Student(f"s{k:03d}", cells)
        attacks_corpus.write_submission(dest, student.name, corpus.notebook(attacks_corpus.GRADER, student))
    return dest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--keep", type=Path, default=None, help="build the class here and keep it")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-sim-"))
    course = root / "course"
    if not (course / "submitted").is_dir():
        t = time.perf_counter()
        make_course(course, args.students)
        print(f"class of {args.students} written in {time.perf_counter() - t:.1f} s: {course}")
    import copydetect.utils  # noqa: F401  (warm the imports both timings use)
    import matplotlib.pyplot  # noqa: F401
    import scipy.sparse  # noqa: F401

    base_t, ours_t, base_cpu, ours_cpu = [], [], [], []
    for r in range(args.repeat):
        S.normalise_code.cache_clear()  # each run starts cold, like a new command
        S.code_fingerprints.cache_clear()
        t, c = time.perf_counter(), time.process_time()
        _, tasks, supplied, subs = S.load_class(course, S.DEFAULT_ASSIGNMENT)
        S.normalise_class([s for s in subs if not s.problem], tasks, supplied)
        base_t.append(time.perf_counter() - t)
        base_cpu.append(time.process_time() - c)
        print(f"  run {r + 1}: read + normalise only      {base_t[-1]:6.1f} s (CPU {base_cpu[-1]:.1f} s)")
        S.normalise_code.cache_clear()
        S.code_fingerprints.cache_clear()
        t, c = time.perf_counter(), time.process_time()
        an = S.analyse(course)
        S.write_report(an, root / "report")
        ours_t.append(time.perf_counter() - t)
        ours_cpu.append(time.process_time() - c)
        listed = sum(p.listed for p in an.pairs)
        print(
            f"  run {r + 1}: whole report                {ours_t[-1]:6.1f} s "
            f"(CPU {ours_cpu[-1]:.1f} s; {len(an.pairs)} pairs, {listed} listed)"
        )
    t = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "neurograder.similarity", "--course", str(course), "--out", str(root / "report-cli")],
        check=True,
        cwd=REPO,
        capture_output=True,
    )
    cli = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cli_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    b, o = statistics.median(base_t), statistics.median(ours_t)
    print(f"baseline read + normalise {args.students} submissions: {b:.1f} s (CPU {statistics.median(base_cpu):.1f} s)")
    print(
        f"whole report: {o:.1f} s (CPU {statistics.median(ours_cpu):.1f} s; {o / b:.1f}x the "
        f"baseline; goal < {GOAL_S:g} s)"
    )
    print(f"instructor's command, start-up included: {cli:.1f} s (CPU {cli_cpu:.1f} s)")
    print(
        f"load average while measuring: {os.getloadavg()[0]:.1f} (2 cores; wall times grow with it, CPU times do not)"
    )
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if max(o, cli) < GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
