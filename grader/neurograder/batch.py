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
* A corrupted notebook (not JSON, not a notebook) gets zero for every graded cell and a clear
  error in the report; the batch goes on. A notebook with none of the assignment's cells is
  graded (zero) and reported as foreign.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

# nbformat validates every notebook it reads and writes; the compiled validator is much
# faster than jsonschema's (same schema, same verdicts)
os.environ.setdefault("NBFORMAT_VALIDATOR", "fastjsonschema")

COURSE_DEFAULT = Path(__file__).resolve().parents[1]
MARKER = ".neurograder.json"


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
    from neurograder import grading
    return _sha(course / "submitted" / student / assignment,
                course / "source" / assignment, course / "nbgrader_config.py",
                Path(checks_mod.__file__), Path(grading.__file__).with_name("_child.py"))


def check_notebook(path: Path, source_ids: set[str]) -> tuple[str, str]:
    """('ok'|'corrupted'|'foreign'|'missing', message) for one submitted notebook."""
    import nbformat
    if not path.exists():
        return "missing", f"no {path.name} in the submission"
    try:
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, never raised
        return "corrupted", f"{path.name} is not a valid notebook ({type(exc).__name__}: {str(exc)[:200]})"
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells
           if isinstance(c.get("metadata", {}).get("nbgrader"), dict)}
    if not ids & source_ids:
        return "foreign", f"{path.name} has none of the assignment's cells (another notebook?)"
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
        problems = [check_notebook(submitted / sid / args.assignment / f"{n}.ipynb", source_ids)
                    for n in notebooks]
        bad = [(k, m) for k, m in problems if k in ("corrupted", "missing")]
        if bad:
            zero_submission(api, args.assignment, sid, notebooks, "; ".join(m for _, m in bad))
            rows[sid] = {"student": sid, "status": bad[0][0], "message": "; ".join(m for _, m in bad)}
            continue
        foreign = [m for k, m in problems if k == "foreign"]
        if foreign:
            rows[sid] = {"student": sid, "status": "foreign", "message": "; ".join(foreign)}
        todo.append(sid)

    started = time.monotonic()
    bar = tqdm(total=len(todo), unit="student", disable=args.no_progress, desc=args.assignment)
    pool = ProcessPoolExecutor(max_workers=max(1, args.jobs), initializer=_worker_init,
                               initargs=(str(course),))
    done = 0
    try:
        futures = {pool.submit(grade_one, str(course), args.assignment, sid, args.force): sid
                   for sid in todo}
        for fut in as_completed(futures):
            sid = futures[fut]
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker died: report, go on
                res = {"student": sid, "status": "error", "message": repr(exc)[:300]}
            prev = rows.get(sid)
            if prev and prev["status"] == "foreign" and res["status"] != "error":
                res = dict(res, status="foreign", message=prev["message"])
            rows[sid] = res
            done += 1
            bar.update(1)
    except KeyboardInterrupt:
        # stop now: queued students are cancelled, running ones killed (their marker is not
        # written, so the next run grades them again; SQLite rolls back half a transaction)
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        bar.close()
        print(f"\ninterrupted after {done} of {len(todo)} students; run the same command "
              "again to grade the rest (graded students are skipped)", file=sys.stderr)
        return 130
    pool.shutdown(wait=True)
    bar.close()
    elapsed = time.monotonic() - started

    csv_path = args.csv or course / "grades.csv"
    export_csv(api, csv_path)
    table = summarize(api, args.assignment, rows)
    report = course / f"{args.assignment}_report.csv"
    with open(report, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(table[0]) if table else ["student"])
        w.writeheader()
        w.writerows(table)
    counts = {}
    for r in table:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    late = [r["student"] for r in table if r["late_seconds"] > 0]
    print(f"{args.assignment}: {len(todo)} graded or checked in {elapsed:.1f} s; " +
          ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for r in table:
        if r["status"] not in ("graded", "skipped"):
            print(f"  {r['student']}: {r['status']}: {r['message'][:200]}")
    if late:
        print("  late: " + ", ".join(late))
    print(f"grades: {csv_path}\nreport: {report}")
    return 1 if counts.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
