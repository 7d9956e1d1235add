"""Benchmark: where grading time goes, the machine's floor, and plain ``nbgrader autograde``.

    .venv/bin/python bench/bench_grading.py [--repeat N] [--jobs J] [--sizes 30,300] [--honest 300]
                                            [--no-plain | --plain-seconds S] [--before DIR]
                                            [--keep DIR]

Makes a fresh course with the real ``nbgrader generate_assignment`` (from grader/source, built
by ``make notebooks``), writes 30 submissions (honest, partly wrong, empty stubs and hostile
ones that plain nbgrader can run without harming the machine) and, for larger sizes, copies of
them under other student names. Then, in the same run:

* floor: a bare ``python -c "import numpy"`` start, and one ``os.fork()`` (and reap) of a
  process that already holds NumPy;
* baseline (30 submissions only): ``NEUROGRADER_PLAIN=1 nbgrader autograde module1`` (plain
  nbgrader, a kernel per student, one after another); ``--no-plain`` skips it and
  ``--plain-seconds`` reuses a figure measured earlier (say so when quoting the ratio);
* ours: ``python -m neurograder.batch --force`` (sandbox on, ``--jobs`` students at once, by
  default the batch's own default: one per core, one more from 100 students on), for
  each size and for a class of ``--honest`` honest submissions only (the 24 honest ones of the
  30 and renamed copies: the "per honest submission" figure): wall time, CPU time of the whole command (``RUSAGE_CHILDREN``, which load
  distorts less than wall time) and the machine's busy CPU during it (``/proc/stat``), each
  amortised per submission, and the per-phase breakdown from the ``timings`` every
  student's marker records (worker seconds per submission).

A command's ``RUSAGE_CHILDREN`` counts only the descendants that were waited for up a chain
of parents to it: a fork server is killed at the end, never waiting for its namespace's
init, so the sandboxes it forked (reaped by that init) were lost to it. The bench therefore
makes itself a child subreaper (``PR_SET_CHILD_SUBREAPER``): every orphaned descendant,
such as a killed fork server's init, is reparented to the bench, which waits for all of
them before it reads its rusage. That CPU figure then includes the sandboxes. Beside it, the
machine's busy CPU (every state but idle and iowait, all cores, ``/proc/stat`` before and
after: ``tests/cpu.py``'s ``machine_busy``) counts everything else the machine did meanwhile
too: the bench measures the idle machine's busy rate first (over :data:`IDLE_SECONDS`, nothing of ours running) and
also prints the machine's busy CPU less that rate times the run's wall time, a cross-check
that means something only on an otherwise quiet machine (on a saturated one, other work
yields to ours).

Both graders run the instructor's whole command (start-up included), each on its own copy of
the course and with one course secret (the same hidden cases); medians over ``--repeat``
runs. Also checks that both graders agree on every honest submission, and, with
``--before DIR`` (an earlier version's batch, timed alternately in the same run on the 30 and
on the honest class, each version with its own default ``--jobs`` unless ``--jobs`` is given:
the ratios now / earlier are the figures that machine noise does not move; the two run in
turns, the earlier version first in every other round, as the second of two runs was
measured faster whichever version it was), that every
student's gradebook record and autograded folder are equal to that version's. Goals: ours <= 0.1 s per honest submission amortised, >= 40x plain nbgrader, and
no more per submission at 300 than at 30.
"""

from __future__ import annotations

import argparse
import json
import os
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
from attacks import corpus  # noqa: E402
from cpu import machine_busy  # noqa: E402  (the test suite's reading of /proc/stat)

#: hostile submissions plain nbgrader can run without harming the machine
HOSTILE = [
    "01_patch_allclose",
    "02_read_source_notebook",
    "04_input_transformer",
    "05_reference_from_kernel",
    "08_stderr_warning",
    "19_ndarray_liar",
]
#: runs of the floor measurements (each is milliseconds to a fraction of a second)
FLOOR_RUNS = 7
#: seconds over which the idle machine's busy CPU rate is measured (before the runs)
IDLE_SECONDS = 3.0
#: prctl(2) option that makes this process the reaper of its orphaned descendants
PR_SET_CHILD_SUBREAPER = 36
#: longest wait, after a command has ended, for its orphaned descendants to end (a killed
#: fork server's init ends within milliseconds)
ORPHANS_S = 60.0


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
        corpus.write_submission(course, f"s{12 + k:02d}_partial", honest["honest_partial"], timestamp=corpus.ON_TIME)
        kinds[f"s{12 + k:02d}_partial"] = "honest"
    for k in range(6):
        corpus.write_submission(course, f"s{18 + k:02d}_stub", honest["honest_stub"], timestamp=corpus.ON_TIME)
        kinds[f"s{18 + k:02d}_stub"] = "honest"
    for k, name in enumerate(HOSTILE):
        corpus.write_submission(
            course, f"s{24 + k:02d}_{name}", corpus.attack_notebook(course, attacks[name]), timestamp=corpus.ON_TIME
        )
        kinds[f"s{24 + k:02d}_{name}"] = "hostile"
    return kinds


def scaled(template: Path, dest: Path, kinds: dict[str, str], size: int) -> dict[str, str]:
    """A copy of the course with ``size`` submissions: the 30 and renamed copies of them."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(template, dest)
    out, names, k = dict(kinds), sorted(kinds), 0
    while len(out) < size:
        src = names[k % len(names)]
        name = f"c{k // len(names) + 1:02d}_{src}"
        shutil.copytree(template / "submitted" / src, dest / "submitted" / name)
        out[name] = kinds[src]
        k += 1
    return out


def honest_class(template: Path, dest: Path, kinds: dict[str, str], size: int) -> dict[str, str]:
    """A copy of the course with ``size`` honest submissions and no hostile one: the honest
    ones of the 30 (full, partly wrong, empty stubs) and renamed copies of them."""
    out = scaled(template, dest, {s: k for s, k in kinds.items() if k == "honest"}, size)
    for student, kind in kinds.items():
        if kind != "honest":
            shutil.rmtree(dest / "submitted" / student)
    return out


def scores(course: Path) -> dict[str, dict[str, float]]:
    """student -> {grade cell: score} from the course's gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for s in gb.students:
            try:
                sub = gb.find_submission("module1", s.id)
            except MissingEntry:
                continue
            out[s.id] = {g.name: g.score for nb in sub.notebooks for g in nb.grades}
    return out


#: what our feedback says on a test graded with the reference of an earlier function the
#: student got wrong (neurograder.independent): plain nbgrader fails such a test by design
WITH_REFERENCE = "graded with the reference"


def graded_with_reference(course: Path, student: str) -> set[str]:
    """Grade cells our autograded notebook of ``student`` says were graded with a reference."""
    import nbformat

    found = set()
    for path in (course / "autograded" / student / "module1").glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            text = " ".join(str(o.get("text", "")) + str(o.get("evalue", "")) for o in cell.get("outputs", []))
            if gid and WITH_REFERENCE in text:
                found.add(gid)
    return found


def compare_with_plain(course: Path, ours: dict, plain: dict, honest: list[str]) -> tuple[int, list, list]:
    """(honest students graded cell for cell as plain nbgrader, those who differ only in
    cells ours graded with a reference, those who differ otherwise)."""
    same, independent, other = 0, [], []
    for s in honest:
        diff = {
            c for c in set(ours.get(s, {})) | set(plain.get(s, {})) if ours.get(s, {}).get(c) != plain.get(s, {}).get(c)
        }
        if not diff:
            same += 1
        elif diff <= graded_with_reference(course, s):
            independent.append(s)
        else:
            other.append((s, sorted(diff)))
    return same, independent, other


def outcome(course: Path) -> dict[str, tuple]:
    """student -> (their gradebook record: every field autograde writes, and the sha256 of
    each file of their autograded folder but the timing marker)."""
    import hashlib

    sys.path.insert(0, str(REPO / "grader"))
    from neurograder.records import submission_record

    db_url = f"sqlite:///{course / 'gradebook.db'}"
    out = {}
    for folder in sorted((course / "autograded").iterdir()):
        files = {
            str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".neurograder.json"
        }
        out[folder.name] = (submission_record(db_url, "module1", folder.name), files)
    return out


def differing(ours: dict, earlier: dict) -> list[str]:
    """Students whose gradebook record or autograded files differ between two runs."""
    return sorted(s for s in set(ours) | set(earlier) if ours.get(s) != earlier.get(s))


def idle_rate(seconds: float = IDLE_SECONDS) -> float:
    """Busy CPU seconds per second of the machine while nothing of ours runs (others' load)."""
    busy, t = machine_busy(), time.monotonic()
    time.sleep(seconds)
    return (machine_busy() - busy) / (time.monotonic() - t)


def become_subreaper() -> None:
    """Orphaned descendants of this process (a killed fork server's init, with every sandbox
    it reaped) are reparented to it, so their CPU reaches its ``RUSAGE_CHILDREN``."""
    import ctypes

    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")


def reap_orphans(within: float = ORPHANS_S) -> int:
    """Wait for every child of this process (the orphans a finished command left, reparented
    here) for at most ``within`` seconds; how many were still running then."""
    deadline = time.monotonic() + within
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return 0
        if pid == 0:
            if time.monotonic() >= deadline:
                return len(_children())
            time.sleep(0.01)  # (polling: a child subreaper gets no event for an orphan's arrival)


def _children() -> list[int]:
    with open(f"/proc/self/task/{os.getpid()}/children") as fh:
        return [int(p) for p in fh.read().split()]


def timed(cmd, cwd, env) -> tuple[float, float, str, float]:
    """(wall seconds, CPU seconds of the command and all its descendants, sandboxes included,
    stdout, busy CPU seconds of the whole machine meanwhile)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = machine_busy()
    t = time.monotonic()
    run = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - t
    left = reap_orphans()
    if left:
        print(f"  ({left} descendants of the command still running {ORPHANS_S:g} s after it ended: not counted)")
    machine = machine_busy() - busy
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if run.returncode != 0 and "neurograder.batch" in " ".join(cmd):
        print(run.stdout[-2000:], run.stderr[-2000:])
        raise SystemExit("our batch failed")
    return seconds, cpu, run.stdout, machine


def floor() -> dict[str, float]:
    """The machine's floor, now: a fresh interpreter importing NumPy; a fork of this process
    (which holds NumPy) and its reaping."""
    import numpy  # noqa: F401 - the forked process holds NumPy

    starts, forks = [], []
    for _ in range(FLOOR_RUNS):
        t = time.monotonic()
        subprocess.run([sys.executable, "-c", "import numpy"], check=True)
        starts.append(time.monotonic() - t)
        t = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        forks.append(time.monotonic() - t)
    return {"python + numpy start": statistics.median(starts), "fork of a NumPy process": statistics.median(forks)}


def phases(course: Path) -> tuple[dict[str, float], int]:
    """Mean worker seconds per graded submission for each phase (from the markers)."""
    sums, n = {}, 0
    for marker in course.glob("autograded/*/module1/.neurograder.json"):
        data = json.loads(marker.read_text())
        n += 1
        for phase, seconds in data.get("timings", {}).items():
            sums[phase] = sums.get(phase, 0.0) + seconds
        if "seconds" in data:  # (markers of earlier versions have no timings)
            sums["(whole student, worker)"] = sums.get("(whole student, worker)", 0.0) + data["seconds"]
        if "cpu_seconds" in data:  # the worker's own CPU and its reaped children's (not the
            # sandboxes its fork server forked: those are in the whole command's CPU)
            sums["(whole student, worker CPU)"] = sums.get("(whole student, worker CPU)", 0.0) + data["cpu_seconds"]
        if "sandbox_cpu_seconds" in data:  # the student's sandboxes' supervisors, loaders and tests
            key = "(sandbox CPU, independent re-runs included)"
            sums[key] = sums.get(key, 0.0) + data["sandbox_cpu_seconds"]
    return {k: v / max(1, n) for k, v in sums.items()}, n


def screening_seconds(stdout: str) -> float:
    for line in stdout.splitlines():
        if line.startswith("screening: "):
            return float(line.split()[1])
    return float("nan")


def pair_order(round_index: int) -> tuple[str, str]:
    """Which of the two versions runs first in round ``round_index`` (0-based): ours in even
    rounds, the earlier version in odd ones. Of two runs one after the other, the second was
    measured up to ~10 % faster on this machine whichever version it was (6 pairs of the honest
    300, 2026-12-01), so a fixed order would favour one version."""
    return ("ours", "before") if round_index % 2 == 0 else ("before", "ours")


def run_ours(course: Path, jobs: int | None, code: Path | None = None) -> dict:
    """Our batch on ``course`` (``jobs``: None for the version's own default); ``code``:
    another checkout's grader/ folder to run instead (with its nbgrader_config.py)."""
    if code:
        shutil.copyfile(code / "nbgrader_config.py", course / "nbgrader_config.py")
    cmd = [sys.executable, "-m", "neurograder.batch", "--course", str(course), "--force", "--no-progress"]
    cmd += ["--jobs", str(jobs)] if jobs else []
    # one course secret for every run (the hidden cases depend on it): runs of two versions
    # then grade the same cases and can be compared file for file
    env = corpus.venv_env(
        NEUROGRADER_SECRET_FILE=str(course.parent / "course-secret"), **({"PYTHONPATH": str(code)} if code else {})
    )
    wall, cpu, out, machine = timed(cmd, course, env)
    per_phase, graded = phases(course)
    return {
        "wall": wall,
        "cpu": cpu,
        "machine": machine,
        "phases": per_phase,
        "graded": graded,
        "screening": screening_seconds(out),
        "scores": scores(course),
        "outcome": outcome(course),
    }


def run_plain(course: Path) -> tuple[float, dict]:
    cmd = [corpus.tool("nbgrader"), "autograde", "module1"]
    env = corpus.venv_env(NEUROGRADER_PLAIN="1", NEUROGRADER_SECRET_FILE=str(course.parent / "course-secret"))
    wall, _, _, _ = timed(cmd, course, env)
    return wall, scores(course)


def own_cpu(run: dict, idle: float) -> float:
    """The machine's busy CPU seconds during ``run`` less what the idle machine's ``idle``
    rate would have spent in the same wall time: the run's CPU, sandboxes included."""
    return max(0.0, run["machine"] - idle * run["wall"])


def report_size(size: int, runs: list[dict], jobs, idle: float, label: str = "ours") -> float:
    wall = statistics.median(r["wall"] for r in runs)
    cpu = statistics.median(r["cpu"] for r in runs)
    machine = statistics.median(r["machine"] for r in runs)
    own = statistics.median(own_cpu(r, idle) for r in runs)
    print(f"\n{label}, {size} submissions (sandbox on, {jobs} jobs; median of {len(runs)}):")
    print(
        f"  whole command {wall:.1f} s wall, {cpu:.1f} s CPU (rusage, sandboxes included), machine busy "
        f"{machine:.1f} CPU s ({machine / wall / (os.cpu_count() or 1):.0%} of the cores; idle machine "
        f"{idle:.2f} CPU s per s)"
    )
    print(
        f"  per submission, amortised: {wall / size:.3f} s wall, {cpu / size:.3f} s CPU (rusage, sandboxes "
        f"included); machine busy less idle {own / size:.3f} s"
    )
    print("  per phase (worker seconds per submission, median over runs):")
    print(f"    {'screening (in the driver)':40s} {statistics.median(r['screening'] for r in runs) / size:.4f}")
    names = [k for k in runs[0]["phases"] if not k.startswith("(")] + [
        "(whole student, worker)",
        "(whole student, worker CPU)",
        "(sandbox CPU, independent re-runs included)",
    ]
    for name in names:
        value = statistics.median(r["phases"].get(name, 0.0) for r in runs)
        print(f"    {name:40s} {value:.4f}")
    return wall / size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=1, help="runs of each grader (median reported)")
    ap.add_argument("--jobs", type=int, default=None, help="students at once (default: the batch's own, by class size)")
    ap.add_argument("--sizes", default="30,300", help="class sizes graded by ours (comma list)")
    ap.add_argument(
        "--honest",
        type=int,
        default=300,
        help="size of a class of honest submissions only, also graded by ours (0: none)",
    )
    ap.add_argument("--no-plain", action="store_true", help="skip plain nbgrader")
    ap.add_argument(
        "--plain-seconds",
        type=float,
        default=None,
        help="plain nbgrader's time for the 30, measured earlier (not run again)",
    )
    ap.add_argument(
        "--before",
        type=Path,
        default=None,
        help="a checkout of an earlier version (e.g. `git archive REV grader | tar -x -C DIR`): "
        "its batch also timed on the 30, in the same run",
    )
    ap.add_argument("--keep", type=Path, default=None, help="keep the courses in this folder")
    args = ap.parse_args()
    from neurograder.batch import default_jobs  # (what the command uses without --jobs, printed)

    before_jobs = args.jobs or "its default"
    sizes = [int(s) for s in args.sizes.split(",")]
    become_subreaper()
    work = Path(tempfile.mkdtemp(prefix="bench-grading-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    template = corpus.make_course(work / "template")
    kinds = submissions(template)
    print(
        f"{len(kinds)} submissions: "
        + ", ".join(f"{sum(1 for k in kinds.values() if k == kind)} {kind}" for kind in ("honest", "hostile"))
        + f" (honest includes 6 partly wrong and 6 empty); {os.cpu_count()} cores; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    fl = floor()
    print("floor, this run: " + "; ".join(f"{k} {v * 1000:.1f} ms" for k, v in fl.items()))
    idle = idle_rate()
    print(f"idle machine (others' load, before the runs): {idle:.3f} busy CPU s per s over {IDLE_SECONDS:g} s")
    plain_t, before, before_honest, ours, per_sub = [], [], [], {size: [] for size in sizes}, {}
    honest_runs, per_honest = [], None
    for r in range(args.repeat):
        order = pair_order(r) if args.before else ("ours",)
        if args.honest:
            for version in order:
                code = args.before / "grader" if version == "before" else None
                runs = before_honest if code else honest_runs
                course = work / f"{'before_' if code else ''}honest{args.honest}_{r}"
                honest_class(template, course, kinds, args.honest)
                runs.append(run_ours(course, args.jobs, code))
                label = "earlier version" if code else "ours"
                print(f"  run {r + 1}: {label}, {args.honest} honest submissions {runs[-1]['wall']:7.1f} s", flush=True)
            if r == args.repeat - 1:
                per_honest = report_size(
                    args.honest, honest_runs, args.jobs or default_jobs(args.honest), idle, label="ours, honest class"
                )
        for size in sizes:
            compared = size == len(kinds) and args.before
            if compared and order[0] == "before":
                course = work / f"before{r}"
                scaled(template, course, kinds, size)
                before.append(run_ours(course, args.jobs, args.before / "grader"))
            course = work / f"ours{size}_{r}"
            size_kinds = scaled(template, course, kinds, size)
            ours[size].append(run_ours(course, args.jobs))
            print(f"  run {r + 1}: ours, {size} submissions {ours[size][-1]['wall']:7.1f} s", flush=True)
            if r == args.repeat - 1:  # each size's summary as soon as it is complete
                per_sub[size] = report_size(size, ours[size], args.jobs or default_jobs(size), idle)
            if compared:
                if order[0] != "before":
                    course = work / f"before{r}"
                    scaled(template, course, kinds, size)
                    before.append(run_ours(course, args.jobs, args.before / "grader"))
                differ = differing(ours[size][-1]["outcome"], before[-1]["outcome"])
                print(
                    f"  run {r + 1}: earlier version ({args.before}) {before[-1]['wall']:7.1f} s, "
                    f"{before[-1]['cpu']:.1f} s CPU (ours {ours[size][-1]['cpu']:.1f}), machine busy less idle "
                    f"{own_cpu(before[-1], idle):.1f} s (ours {own_cpu(ours[size][-1], idle):.1f}); gradebook records and autograded folders equal "
                    f"to ours for {size - len(differ)} of {size} students"
                    + (f"; DIFFERENT: {differ}" if differ else ""),
                    flush=True,
                )
            if size == len(kinds) and not (args.no_plain or args.plain_seconds):
                course = work / f"plain{r}"
                shutil.rmtree(course, ignore_errors=True)
                shutil.copytree(template, course)
                seconds, plain_scores = run_plain(course)
                plain_t.append(seconds)
                print(f"  run {r + 1}: plain nbgrader autograde {seconds:7.1f} s")
                honest = [s for s, k in size_kinds.items() if k == "honest"]
                same, independent, other = compare_with_plain(
                    work / f"ours{size}_{r}", ours[size][-1]["scores"], plain_scores, honest
                )
                print(
                    f"  honest submissions: {same} of {len(honest)} graded cell for cell as plain nbgrader; "
                    f"{len(independent)} differ only in tests ours graded with the reference of an "
                    f"earlier function they got wrong (independent tasks): {independent}"
                )
                if other:
                    print("  HONEST SUBMISSIONS GRADED DIFFERENTLY (student, cells):", other)
    n = len(kinds)
    if before:
        report_size(n, before, before_jobs, idle, label=f"earlier version ({args.before})")
        wall = statistics.median(r["wall"] for r in before)
        cpu = statistics.median(r["cpu"] for r in before)
        own = statistics.median(own_cpu(r, idle) for r in before)
        now = ours.get(n, before)
        print(
            f"\nearlier version, {n} submissions: {wall:.1f} s wall, {cpu:.1f} s CPU, machine busy less idle "
            f"{own:.1f} s -> {wall / n:.3f} s wall, {cpu / n:.3f} s CPU per submission; now / earlier: wall "
            f"{per_sub.get(n, float('nan')) * n / wall:.2f}, CPU {statistics.median(r['cpu'] for r in now) / cpu:.2f}"
            + (f", machine busy less idle {statistics.median(own_cpu(r, idle) for r in now) / own:.2f}" if own else "")
        )
    plain = statistics.median(plain_t) if plain_t else args.plain_seconds
    if plain and n in per_sub:
        source = "this run" if plain_t else "given with --plain-seconds (an earlier run)"
        print(
            f"\nbaseline plain nbgrader, {n} submissions ({source}): {plain:.1f} s ({plain / n:.2f} s per submission)"
        )
        print(f"ratio plain/ours at {n}: {plain / n / per_sub[n]:.1f}x   (goal >= 40x)")
    if len(per_sub) > 1:
        lo, hi = min(per_sub), max(per_sub)
        print(f"per submission at {hi} / at {lo}: {per_sub[hi] / per_sub[lo]:.2f} (goal <= 1)")
    if per_honest is not None:
        print(f"ours per honest submission, class of {args.honest} honest ones: {per_honest:.3f} s (goal <= 0.1 s)")
    if before_honest:
        wall = statistics.median(r["wall"] for r in before_honest)
        cpu = statistics.median(r["cpu"] for r in before_honest)
        print(
            f"earlier version, honest class of {args.honest}: {wall / args.honest:.3f} s wall, "
            f"{cpu / args.honest:.3f} s CPU per submission ({before_jobs} jobs); now / earlier: wall "
            f"{statistics.median(r['wall'] for r in honest_runs) / wall:.2f}, CPU "
            f"{statistics.median(r['cpu'] for r in honest_runs) / cpu:.2f}"
        )
    print(
        f"goal: ours <= 0.1 s per submission; floor python + numpy start "
        f"{fl['python + numpy start']:.3f} s, fork {fl['fork of a NumPy process'] * 1000:.1f} ms"
    )
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
