"""Grade a whole folder of submissions: ``python -m neurograder.batch``.

Run from anywhere (``--course`` defaults to the folder holding nbgrader_config.py, i.e.
``grader/``). For each ``submitted/<student>/<assignment>/`` it runs nbgrader's own autograde
(in-process, through :class:`nbgrader.apps.NbGraderAPI`, so the course's nbgrader_config.py
and its sandboxed preprocessors apply exactly as for ``nbgrader autograde``), several students
at once (``--jobs``, default: :func:`default_jobs`), with a progress bar. Then it writes the
nbgrader CSV (``--csv``, default ``<course>/grades.csv``) and a report
(``<course>/<assignment>_report.csv``) listing every student: score, late, missing,
corrupted or foreign submissions.

* Resumable and idempotent: a student whose submission, source notebook, checks and config are
  unchanged since the last successful grading (fingerprint in
  ``autograded/<student>/<assignment>/.neurograder.json``, written last) is skipped;
  ``--force`` regrades everyone. Interrupt at any time and run again. Those students are
  found here as each submission is screened (:class:`Screening`), so a run with nothing
  new starts no worker, fork server or sandbox; the first student who needs grading starts
  the workers (and their first sandboxes), and the rest of the class is screened while
  they grade (a student at a time, whenever a worker is free and none waits). When a
  submission uses a heavy module (torch), its fork server is started before anything else
  (:func:`park_heavy_server`), while the command imports nbgrader.
* Every submission is screened inside its own error handling before grading: a folder
  holding anything but plain files (a symlink to a classmate's notebook or to /etc/shadow, a
  pipe, a device) is refused and nothing of it is read or copied; a corrupted notebook (not
  JSON, not a notebook, larger than MAX_NOTEBOOK_BYTES, nbgrader metadata of the wrong type
  such as a list as grade_id) gets zero for every graded cell and a clear reason in the
  report. The batch goes on either way. A notebook with none of the assignment's cells is
  graded (zero) and reported as foreign.
* Each worker is its own one-process pool: a worker killed mid-student (OOM killer, kill -9)
  costs only that student, who is started once more in a fresh worker and otherwise
  reported as "error" (ungraded, so the next run grades them).
* ``--scheduler tcp://host:port`` grades on an existing Dask cluster instead
  (:mod:`neurograder.executors`): same results, same markers, the gradebook written here.
* Each student's marker also records ``timings``: seconds per grading phase (see
  :mod:`neurograder.worker`; ``bench/bench_grading.py`` sums them).
* Student-controlled text (folder names, messages) is printed and written to the report with
  control characters replaced (:func:`neurograder.intake.printable`).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

# nbformat validates every notebook it reads and writes; the compiled validator is much
# faster than jsonschema's (same schema, same verdicts)
os.environ.setdefault("NBFORMAT_VALIDATOR", "fastjsonschema")

#: modules the batch never imports: jsonschema (which nbformat imports) loads rfc3987_syntax,
#: when installed, only for its "iri" format checkers, and that import compiles ~40 grammars
#: (~1.3 s of every run's start-up); no schema the batch validates (nbformat's) has a format
SKIPPED_IMPORTS = ("rfc3987_syntax",)
for _name in SKIPPED_IMPORTS:
    sys.modules.setdefault(_name, None)  # (import raises ImportError: jsonschema skips it)

from neurograder.intake import printable  # noqa: E402
from neurograder.screening import heavy_modules, screen_submission, zero_submission  # noqa: E402

COURSE_DEFAULT = Path(__file__).resolve().parents[1]


def describe_bounds() -> str:
    """Which sandbox and which whole-sandbox bounds were in force (one line)."""
    from neurograder import bounds, sandbox

    cg = bounds.cgroup_mode()
    return f"sandbox: {sandbox.sandbox_mode()}; " + (
        f"each sandbox in its own cgroup {cg}" if cg != "none" else bounds.FALLBACK_NOTE
    )


@contextmanager
def class_gradebook(api):
    """The course gradebook for reading the whole class once it is graded: every submission
    loaded in one query (:class:`~neurograder.gradebook_rows.ClassSubmissions`), for both
    :func:`export_csv` and :func:`summarize`."""
    from nbgrader.api import Gradebook

    from neurograder.gradebook_rows import ClassSubmissions

    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        yield ClassSubmissions(gb)


def export_csv(gb, path: Path):
    """nbgrader's own CSV export of the gradebook ``gb`` (:func:`class_gradebook`): its
    plugin's code, reading the submissions already loaded."""
    from nbgrader.plugins import CsvExportPlugin

    plugin = CsvExportPlugin()
    plugin.to = str(path)
    plugin.export(gb)


def summarize(gb, assignment: str, rows: dict) -> list[dict]:
    """The report's table: every student's status, score and lateness, from the gradebook
    ``gb`` (:func:`class_gradebook`) as the grades CSV reads it."""
    from nbgrader.api import MissingEntry

    table = []
    students = sorted({s.id for s in gb.students} | set(rows))
    for sid in students:
        row = rows.get(sid, {"student": sid, "status": "missing", "message": "no submission"})
        try:
            sub = gb.find_submission(assignment, sid)
            score, max_score = sub.score, sub.max_score
            late = sub.total_seconds_late
            manual = sub.needs_manual_grade
        except MissingEntry:
            score, max_score, late, manual = 0.0, None, 0.0, False
        table.append(
            {
                "student": sid,
                "status": row["status"],
                "score": score,
                "max_score": max_score,
                "late_seconds": round(late or 0.0, 1),
                "needs_manual_grade": manual,
                "message": row.get("message", ""),
            }
        )
    return table


#: classes of at least this many students to grade get one worker more than the cores
EXTRA_WORKER_FROM = 100


def default_jobs(students: int) -> int:
    """Students graded at once by default, for a class with ``students`` to grade: one per
    core, and one more from EXTRA_WORKER_FROM students on. A worker leaves its core idle while
    it waits on its student's sandbox to start and report and on the gradebook's commits
    reaching the disk; a class that keeps a worker more busy fills those waits (2 cores, 300
    honest students: 3 workers took 0.89-0.95x the wall time of 2 at 0.98x the CPU), a small
    one only pays for its start (the 30 benchmark students: the same wall time, 1.08x the
    CPU: its fork servers)."""
    cores = os.cpu_count() or 1
    return cores + 1 if students >= EXTRA_WORKER_FROM else cores


def parse_args(argv):
    from course.manifest import default_assignment

    ap = argparse.ArgumentParser(prog="python -m neurograder.batch", description=__doc__.split("\n")[0])
    ap.add_argument(
        "--course",
        type=Path,
        default=COURSE_DEFAULT,
        help="nbgrader course root holding nbgrader_config.py (default: grader/)",
    )
    ap.add_argument(
        "--assignment", default=default_assignment(), help="nbgrader assignment id (default: the course's first module)"
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=None,
        help=f"students graded at once (default: number of cores, one more from {EXTRA_WORKER_FROM} students on)",
    )
    ap.add_argument(
        "--scheduler", default=None, help="address of a Dask scheduler (tcp://host:port) to grade on instead"
    )
    ap.add_argument("--force", action="store_true", help="regrade students already graded")
    ap.add_argument("--csv", type=Path, default=None, help="grades CSV (default <course>/grades.csv)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    args.course = args.course.resolve()
    if not (args.course / "nbgrader_config.py").exists():
        ap.error(f"{args.course} has no nbgrader_config.py: pass --course <nbgrader course root>")
    if not (args.course / "source" / args.assignment).is_dir():
        ap.error(f"no source/{args.assignment} in {args.course}: build it first (make notebooks)")
    return args


def heavy_hint(course: Path, assignment: str, force: bool) -> tuple:
    """The heavy modules (the course's prewarm list, such as torch) the first submission to
    grade that uses any needs (:func:`neurograder.screening.heavy_modules`), found before
    anything else so that their fork server can start while the batch imports nbgrader; ()
    when none does. Only folders of plain files are read, and only notebooks whose bytes
    hold a prewarm module's name are parsed (a cheap filter: most classes have few such
    students). Without ``force``, a student whose marker is newer than every file of their
    submission is passed over (likely skipped). A hint for speed only: the grading does not
    depend on it."""
    from neurograder.intake import refused_entries
    from neurograder.launch import PREWARM_MODULES
    from neurograder.screening import MARKER, MAX_NOTEBOOK_BYTES

    submitted = course / "submitted"
    names = [m.encode() for m in PREWARM_MODULES]
    for folder in sorted(submitted.glob(f"*/{assignment}")):
        try:
            if refused_entries(folder, submitted):
                continue
            files = [p for p in folder.iterdir() if p.suffix == ".ipynb"]
            marker = course / "autograded" / folder.parent.name / assignment / MARKER
            if not force and marker.exists() and all(p.stat().st_mtime < marker.stat().st_mtime for p in files):
                continue
            if not any(
                p.stat().st_size <= MAX_NOTEBOOK_BYTES and any(n in p.read_bytes() for n in names) for p in files
            ):
                continue
        except OSError:
            continue
        found = heavy_modules(folder)
        if found:
            return found
    return ()


def park_heavy_server(course: Path, assignment: str, force: bool):
    """The fork server of :func:`heavy_hint`'s modules, started now for the first local
    worker (:meth:`neurograder.launch.Servers.park`), or None (no heavy students, no
    bubblewrap, warm sandboxes off, no released folder). The worker keeps it only when it
    serves the folder and sandbox the course's config asks for; this process ends it last."""
    import shutil

    from neurograder import launch

    release = course / "release" / assignment
    if not launch.WARM or os.geteuid() != 0 or shutil.which("bwrap") is None or not release.is_dir():
        return None
    if os.environ.get("NEUROGRADER_SANDBOX", "").strip().lower() == "fallback":
        return None
    heavy = heavy_hint(course, assignment, force)
    return launch.Servers.park(str(release), heavy) if heavy else None


def source_ids(source: Path) -> tuple[list[str], set[str]]:
    """The assignment's notebook names and every grade_id of their source notebooks."""
    from neurograder import grading

    notebooks = sorted(p.stem for p in source.glob("*.ipynb"))
    ids = set()
    for name in notebooks:
        spec = grading.load_spec(source / f"{name}.ipynb")
        ids |= {grading.nbg(c).get("grade_id") for c in spec.nb.cells} - {None}
    return notebooks, ids


class Screening:
    """The class's submission folders, screened one at a time as the grading asks for the next
    student to grade (iterating yields them in name order), so the workers grade while the
    rest of the class is still being screened. Refused folders get zero in the gradebook and
    a report row; without ``force``, a student graded since their last change
    (:func:`up_to_date`) gets a "skipped" row. ``rows``: the report rows so far; ``todo``:
    {student to grade: the heavy modules their code uses, from the notebooks as the
    screening read them}, each filled before the student is given; ``on_work(n)`` is called
    as each student to grade is found, ``n`` of them so far; ``seconds``: the time spent
    screening."""

    def __init__(self, api, course: Path, assignment: str, force: bool = True, on_work=None):
        self.api, self.course, self.assignment, self.force, self.on_work = api, course, assignment, force, on_work
        submitted = course / "submitted"
        self.students = (
            sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir()) if submitted.is_dir() else []
        )
        self.rows, self.todo, self.seconds = {}, {}, 0.0
        self._students = self._screen()

    def __iter__(self):
        return self  # (once: a second loop over it finds the class already screened)

    def __next__(self) -> str:
        return next(self._students)

    def _screen(self):
        started = time.monotonic()
        notebooks, ids = source_ids(self.course / "source" / self.assignment)
        submitted = self.course / "submitted"
        is_current = None if self.force else up_to_date(self.course, self.assignment)
        for sid in self.students:
            parsed = {}
            status, message = screen_submission(submitted / sid / self.assignment, submitted, notebooks, ids, parsed)
            if status in ("corrupted", "missing"):
                try:
                    zero_submission(self.api, self.assignment, sid, notebooks, printable(message))
                except Exception as exc:  # noqa: BLE001 - reported below; the class goes on
                    message += f" (not recorded in the gradebook: {type(exc).__name__})"
                self.rows[sid] = {"student": sid, "status": status, "message": message}
                continue
            if status == "foreign":
                self.rows[sid] = {"student": sid, "status": "foreign", "message": message}
            if is_current is not None and is_current(sid):
                record_result(self.rows, sid, {"student": sid, "status": "skipped", "seconds": 0.0})
                continue
            self.todo[sid] = heavy_modules(submitted / sid / self.assignment, parsed)  # (who needs torch)
            if self.on_work is not None:
                self.on_work(len(self.todo))
            self.seconds += time.monotonic() - started
            yield sid
            started = time.monotonic()
        self.seconds += time.monotonic() - started


def up_to_date(course: Path, assignment: str):
    """A test of whether a student's marker matches their submission and the course as they
    are now: the workers' own fingerprints (:mod:`neurograder.worker`), computed here."""
    from neurograder import worker

    shared = worker.course_fingerprint(course, assignment)

    def is_current(sid: str) -> bool:
        marker = course / "autograded" / sid / assignment / worker.MARKER
        return worker.up_to_date(marker, worker.fingerprint(course, assignment, sid, shared))

    return is_current


def record_result(rows: dict, sid: str, res: dict) -> None:
    """A student's result into ``rows``, keeping a foreign submission's verdict."""
    prev = rows.get(sid)
    if prev and prev["status"] == "foreign" and res["status"] != "error":
        res = dict(res, status="foreign", message=prev["message"])
    rows[sid] = res


def make_executor(args):
    from neurograder import executors

    if args.scheduler:
        return executors.DaskExecutor(str(args.course), args.scheduler)
    return executors.LocalExecutor(str(args.course), max(1, args.jobs or default_jobs(EXTRA_WORKER_FROM)))


def grade_class(executor, screening: Screening, args) -> bool:
    """Grade the students ``screening`` yields (screened as the workers need them) into its
    rows with a progress bar, ``--jobs`` (or :func:`default_jobs` of the class's size) at
    once; False when interrupted (Ctrl-C), screening included."""
    from tqdm import tqdm

    bar = tqdm(total=0, unit="student", disable=args.no_progress, desc=args.assignment)
    done = 0
    try:
        jobs = max(1, args.jobs or default_jobs(len(screening.students)))
        for sid, res in executor.run(screening, args.assignment, args.force, heavy=screening.todo, workers=jobs):
            record_result(screening.rows, sid, res)
            done += 1
            bar.total = len(screening.todo)  # (the students to grade found so far)
            bar.update(1)
    except KeyboardInterrupt:
        # stop now: queued students are dropped, running ones killed (their marker is not
        # written, so the next run grades them again; SQLite rolls back half a transaction)
        executor.kill()
        bar.close()
        print(
            f"\ninterrupted after {done} of the {len(screening.todo)} students to grade found so far; "
            "run the same command again to grade the rest (graded students are skipped)",
            file=sys.stderr,
        )
        return False
    executor.close()
    bar.close()
    return True


def write_report(table: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(table[0]) if table else ["student"])
        w.writeheader()
        w.writerows({k: printable(v) if isinstance(v, str) else v for k, v in r.items()} for r in table)


def print_summary(table: list[dict], assignment: str, graded: int, elapsed: float) -> dict:
    counts = {}
    for r in table:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    late = [r["student"] for r in table if r["late_seconds"] > 0]
    print(
        f"{assignment}: {graded} graded or checked in {elapsed:.1f} s; "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )
    for r in table:
        if r["status"] not in ("graded", "skipped"):
            print(f"  {printable(r['student'])}: {r['status']}: {printable(r['message'], 200)}")
    if late:
        print("  late: " + ", ".join(printable(s) for s in late))
    return counts


def main(argv=None) -> int:
    args = parse_args(argv)
    course = args.course
    os.chdir(course)
    # nbgrader runs `alembic` from PATH to upgrade an old gradebook: use the venv's
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    parked = None if args.scheduler else park_heavy_server(course, args.assignment, args.force)
    try:
        return grade_course(args)
    finally:
        if parked is not None:  # (the worker that adopted it has ended: reaped here)
            from neurograder.launch import Servers

            Servers.disown()
            parked.end()


def grade_course(args) -> int:
    """Screen, grade and report the class (the batch's work after its start)."""
    course = args.course
    from neurograder.worker import course_api

    api = course_api(course)
    bounds_line = describe_bounds()  # (found once here: the local workers, forked, inherit it)
    executor = make_executor(args)
    started = []

    def start_workers(n: int):  # (a worker per student to grade, up to --jobs: each gets
        if not started and not args.scheduler:  # ready while the next ones are screened)
            from neurograder.warm import freeze_heap
            from neurograder.worker import prepare_class

            prepare_class(str(course), args.assignment)  # (once, before the workers are forked)
            freeze_heap()  # the workers, forked, inherit a heap their collections never walk
        started.append(n)
        executor.start(args.assignment, min(n, args.jobs or default_jobs(len(screening.students))))

    screening = Screening(api, course, args.assignment, force=args.force, on_work=start_workers)
    started_at = time.monotonic()
    if not grade_class(executor, screening, args):
        return 130
    elapsed = time.monotonic() - started_at
    rows, todo = screening.rows, screening.todo
    checked = len(set(todo) | {sid for sid, r in rows.items() if r["status"] not in ("corrupted", "missing")})
    csv_path = args.csv or course / "grades.csv"
    with class_gradebook(api) as gb:
        export_csv(gb, csv_path)
        table = summarize(gb, args.assignment, rows)
    report = course / f"{args.assignment}_report.csv"
    write_report(table, report)
    counts = print_summary(table, args.assignment, checked, elapsed)
    print(
        f"screening: {screening.seconds:.3f} s for {len(rows) + len(todo) - len(set(rows) & set(todo))} "
        f"submissions\ngrades: {csv_path}\nreport: {report}"
    )
    print(bounds_line)
    return 1 if counts.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
