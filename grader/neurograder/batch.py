"""Grade a whole folder of submissions: ``python -m neurograder.batch``.

Run from anywhere (``--course`` defaults to the folder holding nbgrader_config.py, i.e.
``grader/``). For each ``submitted/<student>/<assignment>/`` it runs nbgrader's own autograde
(in-process, through :class:`nbgrader.apps.NbGraderAPI`, so the course's nbgrader_config.py
and its sandboxed preprocessors apply exactly as for ``nbgrader autograde``), several students
at once (``--jobs``, default: number of cores), with a progress bar. Then it writes the
nbgrader CSV (``--csv``, default ``<course>/grades.csv``) and a report
(``<course>/<assignment>_report.csv``) listing every student: score, late, missing,
corrupted or foreign submissions.

* Resumable and idempotent: a student whose submission, source notebook, checks and config are
  unchanged since the last successful grading (fingerprint in
  ``autograded/<student>/<assignment>/.neurograder.json``, written last) is skipped;
  ``--force`` regrades everyone. Interrupt at any time and run again.
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
* Student-controlled text (folder names, messages) is printed and written to the report with
  control characters replaced (:func:`neurograder.intake.printable`).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import stat
import sys
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

# nbformat validates every notebook it reads and writes; the compiled validator is much
# faster than jsonschema's (same schema, same verdicts)
os.environ.setdefault("NBFORMAT_VALIDATOR", "fastjsonschema")

from neurograder.intake import printable  # noqa: E402

COURSE_DEFAULT = Path(__file__).resolve().parents[1]
MARKER = ".neurograder.json"
#: times a student is started again after their grading worker died (killed by the OOM
#: killer or an operator); then the student is reported as "error" and the batch goes on
WORKER_RETRIES = 1


def _api(course: Path):
    from traitlets.config.loader import PyFileConfigLoader
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    cfg.CourseDirectory.root = str(course)
    coursedir = CourseDirectory(config=cfg)
    return NbGraderAPI(coursedir=coursedir, config=cfg)


def _sha(*paths) -> str:
    h = hashlib.sha256()
    for p in paths:
        p = Path(p)
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for q in files:
            if q.name == MARKER:
                continue
            h.update(str(q.name).encode())
            h.update(q.read_bytes() if q.exists() else b"-")
    return h.hexdigest()


def fingerprint(course: Path, assignment: str, student: str) -> str:
    import neurograder.checks as checks_mod
    from neurograder import sandbox
    checks_mod.course_secret()   # (created on first use: the hidden cases depend on it)
    return _sha(course / "submitted" / student / assignment,
                course / "source" / assignment, course / "nbgrader_config.py",
                Path(checks_mod.__file__), *sandbox.runner_files(),
                checks_mod.secret_path())


#: largest submitted notebook read (bytes); a bigger file is reported, never parsed
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
#: longest grade_id accepted in a submitted cell's nbgrader metadata
MAX_GRADE_ID = 200
#: nbgrader metadata keys whose value must be a boolean / a number / a string
BOOL_KEYS = ("grade", "solution", "locked", "task")
NUMBER_KEYS = ("points",)
STRING_KEYS = ("grade_id", "checksum", "cell_type")


def metadata_problem(nb) -> str | None:
    """Why a (schema-valid) notebook's nbgrader cell metadata cannot be graded, or None."""
    for no, cell in enumerate(nb.cells, 1):
        md = cell.get("metadata", {})
        if not isinstance(md, dict):
            return f"cell {no}: metadata is not a mapping"
        if "nbgrader" not in md:
            continue
        meta = md["nbgrader"]
        if not isinstance(meta, dict):
            return f"cell {no}: nbgrader metadata is {type(meta).__name__}, not a mapping"
        for key in STRING_KEYS:
            if key in meta and not isinstance(meta[key], str):
                return f"cell {no}: nbgrader {key} is {type(meta[key]).__name__}, not text"
        if len(meta.get("grade_id", "")) > MAX_GRADE_ID:
            return f"cell {no}: nbgrader grade_id longer than {MAX_GRADE_ID} characters"
        for key in BOOL_KEYS:
            if key in meta and not isinstance(meta[key], bool):
                return f"cell {no}: nbgrader {key} is {type(meta[key]).__name__}, not true/false"
        for key in NUMBER_KEYS:
            if key in meta and (isinstance(meta[key], bool)
                                or not isinstance(meta[key], (int, float))):
                return f"cell {no}: nbgrader {key} is {type(meta[key]).__name__}, not a number"
    return None


def check_notebook(path: Path, source_ids: set[str]) -> tuple[str, str]:
    """('ok'|'corrupted'|'foreign'|'missing', message) for one submitted notebook.

    Never raises: whatever is wrong with the file (not JSON, not a notebook, too big, odd
    nbgrader metadata, not a plain file) is the message of a 'corrupted' verdict.
    """
    import nbformat
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "missing", f"no {path.name} in the submission"
    except OSError as exc:
        return "corrupted", f"{path.name} cannot be read ({type(exc).__name__})"
    if not stat.S_ISREG(info.st_mode):
        return "corrupted", f"{path.name} is not a plain file (a link?): refused"
    if info.st_size > MAX_NOTEBOOK_BYTES:
        return "corrupted", (f"{path.name} is {info.st_size / 2**20:.0f} MB, more than the "
                             f"{MAX_NOTEBOOK_BYTES // 2**20} MB a notebook may have")
    try:
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, never raised
        return "corrupted", f"{path.name} is not a valid notebook ({type(exc).__name__}: {str(exc)[:200]})"
    problem = metadata_problem(nb)
    if problem:
        return "corrupted", f"{path.name} has malformed nbgrader metadata ({problem})"
    ids = {grading_id(c) for c in nb.cells} - {None}
    if not ids & source_ids:
        return "foreign", f"{path.name} has none of the assignment's cells (another notebook?)"
    return "ok", ""


def grading_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


def screen_submission(folder: Path, submitted: Path, notebooks: list[str],
                      source_ids: set[str]) -> tuple[str, str]:
    """(status, message) of one student's folder before grading: 'ok', 'foreign', or a
    refusal ('corrupted', 'missing'). Never raises: an unexpected failure is 'corrupted'."""
    from neurograder.intake import refused_entries
    try:
        refused = refused_entries(folder, submitted)
        if refused:
            return "corrupted", "refused: " + "; ".join(refused[:5])
        problems = [check_notebook(folder / f"{n}.ipynb", source_ids) for n in notebooks]
    except Exception as exc:  # noqa: BLE001 - one odd folder never stops the class
        return "corrupted", f"the submission could not be checked ({type(exc).__name__}: {exc})"
    bad = [(k, m) for k, m in problems if k in ("corrupted", "missing")]
    if bad:
        return bad[0][0], "; ".join(m for _, m in bad)
    foreign = [m for k, m in problems if k == "foreign"]
    if foreign:
        return "foreign", "; ".join(foreign)
    return "ok", ""


def zero_submission(api, assignment: str, student: str, notebooks: list[str], why: str):
    """A corrupted submission: zero for every graded cell, with the reason as a comment."""
    from nbgrader.api import Gradebook
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        gb.update_or_create_student(student)
        sub = gb.update_or_create_submission(assignment, student)
        for nb in sub.notebooks:
            for grade in nb.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
            for comment in nb.comments:
                comment.auto_comment = why
        gb.db.commit()


_API = None


def _worker_init(course):
    global _API
    _API = _api(Path(course))


def grade_one(course: str, assignment: str, student: str, force: bool) -> dict:
    """Grade one student (runs in a worker process)."""
    course = Path(course)
    started = time.monotonic()
    out_dir = course / "autograded" / student / assignment
    fp = fingerprint(course, assignment, student)
    marker = out_dir / MARKER
    if not force and marker.exists():
        try:
            if json.loads(marker.read_text()).get("fingerprint") == fp:
                return {"student": student, "status": "skipped", "seconds": 0.0}
        except ValueError:
            pass
    res = _API.autograde(assignment, student, force=True, create=True)
    status = "graded" if res.get("success") else "error"
    msg = "" if res.get("success") else (res.get("error") or res.get("log") or "")[-600:]
    if res.get("success"):
        out_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"fingerprint": fp, "graded_at": time.time()}))
    return {"student": student, "status": status, "message": msg,
            "seconds": time.monotonic() - started}


class Workers:
    """``jobs`` grading workers, each a one-process pool: a worker that dies (SIGKILL, OOM)
    breaks only its own pool, so it costs only the student it held. That student is started
    again up to WORKER_RETRIES times in a fresh worker, then reported as "error"."""

    def __init__(self, course: str, jobs: int):
        self.course, self.pools = course, [None] * jobs

    def _pool(self, slot: int) -> ProcessPoolExecutor:
        if self.pools[slot] is None:
            self.pools[slot] = ProcessPoolExecutor(max_workers=1, initializer=_worker_init,
                                                   initargs=(self.course,))
        return self.pools[slot]

    def _drop(self, slot: int):
        pool, self.pools[slot] = self.pools[slot], None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def run(self, students, assignment: str, force: bool):
        """Yield (student, result) as each student finishes, whatever happens to workers."""
        queue, attempts, running = deque(students), {}, {}
        while queue or running:
            for slot in range(len(self.pools)):
                if queue and slot not in {k for k, _ in running.values()}:
                    sid = queue.popleft()
                    fut = self._pool(slot).submit(grade_one, self.course, assignment, sid, force)
                    running[fut] = (slot, sid)
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in finished:
                slot, sid = running.pop(fut)
                try:
                    yield sid, fut.result()
                except BrokenProcessPool:
                    self._drop(slot)
                    attempts[sid] = attempts.get(sid, 0) + 1
                    if attempts[sid] <= WORKER_RETRIES:
                        queue.appendleft(sid)
                    else:
                        yield sid, {"student": sid, "status": "error", "message":
                                    f"the grading worker died {attempts[sid]} times "
                                    "(killed, out of memory?); run the command again"}
                except Exception as exc:  # noqa: BLE001 - one student's failure, go on
                    yield sid, {"student": sid, "status": "error",
                                "message": f"{type(exc).__name__}: {exc}"[:300]}

    def kill(self):
        for slot, pool in enumerate(self.pools):
            if pool is not None:
                for proc in list((getattr(pool, "_processes", None) or {}).values()):
                    proc.kill()
                self._drop(slot)

    def close(self):
        for pool in self.pools:
            if pool is not None:
                pool.shutdown(wait=True)


def describe_bounds() -> str:
    """Which sandbox and which whole-sandbox bounds were in force (one line)."""
    from neurograder import bounds, sandbox
    cg = bounds.cgroup_mode()
    return (f"sandbox: {sandbox.sandbox_mode()}; " +
            (f"each sandbox in its own cgroup {cg}" if cg != "none" else bounds.FALLBACK_NOTE))


def export_csv(api, path: Path):
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin
    plugin = CsvExportPlugin()
    plugin.to = str(path)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        plugin.export(gb)


def summarize(api, assignment: str, rows: dict) -> list[dict]:
    from nbgrader.api import Gradebook, MissingEntry
    table = []
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        students = sorted({s.id for s in gb.students} | set(rows))
        for sid in students:
            row = rows.get(sid, {"student": sid, "status": "missing",
                                 "message": "no submission"})
            try:
                sub = gb.find_submission(assignment, sid)
                score, max_score = sub.score, sub.max_score
                late = sub.total_seconds_late
                manual = sub.needs_manual_grade
            except MissingEntry:
                score, max_score, late, manual = 0.0, None, 0.0, False
            table.append({"student": sid, "status": row["status"],
                          "score": score, "max_score": max_score,
                          "late_seconds": round(late or 0.0, 1),
                          "needs_manual_grade": manual, "message": row.get("message", "")})
    return table


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m neurograder.batch", description=__doc__.split("\n")[0])
    ap.add_argument("--course", type=Path, default=COURSE_DEFAULT,
                    help="nbgrader course root holding nbgrader_config.py (default: grader/)")
    ap.add_argument("--assignment", default="module1")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="students graded at once (default: number of cores)")
    ap.add_argument("--force", action="store_true", help="regrade students already graded")
    ap.add_argument("--csv", type=Path, default=None, help="grades CSV (default <course>/grades.csv)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    course = args.course.resolve()
    if not (course / "nbgrader_config.py").exists():
        ap.error(f"{course} has no nbgrader_config.py: pass --course <nbgrader course root>")
    source = course / "source" / args.assignment
    if not source.is_dir():
        ap.error(f"no source/{args.assignment} in {course}: build it first (make notebooks)")
    os.chdir(course)
    # nbgrader runs `alembic` from PATH when it creates a gradebook: use the venv's
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    from tqdm import tqdm
    from neurograder import grading

    api = _api(course)
    notebooks = sorted(p.stem for p in source.glob("*.ipynb"))
    source_ids = set()
    for name in notebooks:
        spec = grading.load_spec(source / f"{name}.ipynb")
        source_ids |= {grading.nbg(c).get("grade_id") for c in spec.nb.cells} - {None}
    submitted = course / "submitted"
    students = sorted(p.name for p in submitted.iterdir()
                      if (p / args.assignment).is_dir()) if submitted.is_dir() else []
    rows, todo = {}, []
    for sid in students:
        status, message = screen_submission(submitted / sid / args.assignment, submitted,
                                            notebooks, source_ids)
        if status in ("corrupted", "missing"):
            try:
                zero_submission(api, args.assignment, sid, notebooks, printable(message))
            except Exception as exc:  # noqa: BLE001 - reported below; the class goes on
                message += f" (not recorded in the gradebook: {type(exc).__name__})"
            rows[sid] = {"student": sid, "status": status, "message": message}
            continue
        if status == "foreign":
            rows[sid] = {"student": sid, "status": "foreign", "message": message}
        todo.append(sid)

    started = time.monotonic()
    bar = tqdm(total=len(todo), unit="student", disable=args.no_progress, desc=args.assignment)
    workers = Workers(str(course), max(1, args.jobs))
    done = 0
    try:
        for sid, res in workers.run(todo, args.assignment, args.force):
            prev = rows.get(sid)
            if prev and prev["status"] == "foreign" and res["status"] != "error":
                res = dict(res, status="foreign", message=prev["message"])
            rows[sid] = res
            done += 1
            bar.update(1)
    except KeyboardInterrupt:
        # stop now: queued students are dropped, running ones killed (their marker is not
        # written, so the next run grades them again; SQLite rolls back half a transaction)
        workers.kill()
        bar.close()
        print(f"\ninterrupted after {done} of {len(todo)} students; run the same command "
              "again to grade the rest (graded students are skipped)", file=sys.stderr)
        return 130
    workers.close()
    bar.close()
    elapsed = time.monotonic() - started

    csv_path = args.csv or course / "grades.csv"
    export_csv(api, csv_path)
    table = summarize(api, args.assignment, rows)
    report = course / f"{args.assignment}_report.csv"
    with open(report, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(table[0]) if table else ["student"])
        w.writeheader()
        w.writerows({k: printable(v) if isinstance(v, str) else v for k, v in r.items()}
                    for r in table)
    counts = {}
    for r in table:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    late = [r["student"] for r in table if r["late_seconds"] > 0]
    print(f"{args.assignment}: {len(todo)} graded or checked in {elapsed:.1f} s; " +
          ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for r in table:
        if r["status"] not in ("graded", "skipped"):
            print(f"  {printable(r['student'])}: {r['status']}: {printable(r['message'], 200)}")
    if late:
        print("  late: " + ", ".join(printable(s) for s in late))
    print(f"grades: {csv_path}\nreport: {report}")
    print(describe_bounds())
    return 1 if counts.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
