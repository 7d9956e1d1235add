"""What graders see: each graded student's plots and tau widget, re-run by the grader.

``python -m neurograder.render --course grader [--assignment module1] [--force] [--jobs N]``
(``make render``, run after ``make grade`` and before hand grading). For every notebook in
``autograded/<student>/<assignment>/``, in a fresh sandbox (:mod:`neurograder.sandbox`, the
same time and memory limits as grading, from ``nbgrader_config.py``'s ``SandboxExecute``;
forked, as in grading, from the worker's fork server, which has loaded :data:`PRELOAD`):

1. the notebook's code cells run in notebook order, like Run All: the locked cells with the
   SOURCE notebook's text, the student's cells (solutions, hand-graded code answers, added
   cells) with theirs; test cells are left out;
2. the locked cells' outputs (the plotting cells) and those of the hand-graded code answers
   are captured like Jupyter's inline backend (figures as PNG after each cell);
3. a widget a hand-graded code answer shows (Task 4.3's tau slider) is driven at tau values
   spread over its control (:mod:`neurograder.widgets`) and its frames are captured;
4. those cells' outputs in the autograded notebook (so formgrader and feedback) become the
   fresh ones, under a caption "re-run by the grader on <date>"; a cell that failed says
   why ("your function f raised ...", stopped after the time limit, ...).

Scoring never waits for this pass, and it is cached: a notebook is rendered again only when
the submission, the source notebook or the renderer changed, or the autograded notebook was
rewritten (a fingerprint file ``.<notebook>.render.json`` beside it).

(A little over 300 lines: the command, its cache and its parallel workers are one pass; the
sandbox side is :mod:`neurograder._render_child`, the widget driver :mod:`neurograder.widgets`.)
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_output

from . import grading, launch, sandbox
from .preprocessors import clean_outputs

HERE = Path(__file__).parent
ENTRY = HERE / "_render_child.py"  # sandbox-side entry (shipped in the job)
#: its module name inside the sandbox, next to the runtime it uses (neurograder.inside)
ENTRY_MODULE = "neurograder.render_inside"
WIDGET_DRIVER = HERE / "widgets.py"  # shipped into the sandbox as text
#: where in a widget's tau control the grader sets tau (fractions of its range)
WIDGET_POSITIONS = (0.1, 0.5, 0.9)
CAPTION = "re-run by the grader on {date} (in the sandbox, with this student's own code)\n"
FINGERPRINT = ".{notebook}.render.json"  # beside the autograded notebook
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_ERROR = 500  # characters of a failure message shown


@dataclass
class Summary:
    rendered: list = field(default_factory=list)  # (student, notebook)
    cached: list = field(default_factory=list)
    failed: list = field(default_factory=list)  # (student, notebook, why)
    sandbox_runs: int = 0


# ---- settings from the course ------------------------------------------------------------
def course_config(course: Path):
    """The course's nbgrader configuration (grader/nbgrader_config.py)."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()


def grading_limits(config) -> sandbox.Limits:
    """The limits grading uses, from the same setting (SandboxExecute)."""
    from .preprocessors import SandboxExecute

    return SandboxExecute(config=config).limits()


# ---- what to run -------------------------------------------------------------------------
def plan_cells(nb, spec: grading.SourceSpec) -> list[dict]:
    """The code cells to run, in notebook order: ``index`` (in ``nb.cells``), ``source``,
    ``capture`` (outputs shown to graders) and ``widget`` (drive the widget it shows)."""
    locked = {
        grading.nbg(c).get("grade_id"): c.source
        for c in spec.nb.cells
        if c.cell_type == "code" and grading.nbg(c).get("grade_id") in spec.locked_ids
    }
    plan = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        md = grading.nbg(cell)
        gid = md.get("grade_id")
        if gid in spec.tests and md.get("grade") and not md.get("solution"):
            continue  # tests: graded, not shown
        if gid in locked and md.get("locked") and not md.get("solution"):
            plan.append({"index": index, "source": locked[gid], "capture": True, "widget": False})
            continue
        answer = bool(md.get("solution") and md.get("grade"))  # a hand-graded code answer
        plan.append({"index": index, "source": cell.source or "", "capture": answer, "widget": answer})
    return plan


#: what the render side imports for every notebook (``_render_child.main``): loaded once by the
#: fork server its sandboxes come from, not again in each
PRELOAD = ("matplotlib.pyplot", "IPython.core.interactiveshell", "ipywidgets")


def build_job(plan: list[dict]) -> dict:
    return {
        "cells": [{k: c[k] for k in ("source", "capture", "widget")} for c in plan],
        "positions": list(WIDGET_POSITIONS),
        "preload": list(PRELOAD),
        "entry": ENTRY_MODULE,
        "extra_modules": [[ENTRY_MODULE, ENTRY.read_text()]],
        "widgets": WIDGET_DRIVER.read_text(),
    }


# ---- what came back (untrusted: checked and cleaned here) ---------------------------------
def _text(value, limit=MAX_ERROR) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = "".join(ch if ch.isprintable() or ch == "\n" else " " for ch in text)
    return text[:limit]


def _well_typed(raw) -> list:
    """The outputs as the sandbox should send them: stdout text, and displays of text and
    PNG strings (anything else is dropped before the sanitiser sees it)."""
    kept = []
    for out in raw if isinstance(raw, list) else []:
        if not isinstance(out, dict):
            continue
        if out.get("output_type") == "stream" and isinstance(out.get("text"), str):
            kept.append(new_output("stream", name="stdout", text=out["text"]))
        elif out.get("output_type") == "display_data" and isinstance(out.get("data"), dict):
            data = {k: v for k, v in out["data"].items() if k in ("image/png", "text/plain") and isinstance(v, str)}
            if data:
                kept.append(new_output("display_data", data=data))
    return kept


def _png_output(b64) -> list:
    try:
        ok = isinstance(b64, str) and base64.b64decode(b64, validate=True).startswith(PNG_SIGNATURE)
    except ValueError:
        ok = False
    return clean_outputs([new_output("display_data", data={"image/png": b64})]) if ok else []


def cell_outputs(result, caption: str) -> list:
    """A captured cell's outputs for graders: caption, its outputs, then what failed."""
    outs = [new_output("stream", name="stdout", text=caption)]
    if not isinstance(result, dict):
        return outs + [new_output("stream", name="stderr", text="not re-run: the render stopped before this cell\n")]
    outs += clean_outputs(_well_typed(result.get("outputs")))
    if result.get("error"):
        outs.append(new_output("stream", name="stderr", text=_text(result["error"]) + "\n"))
    return outs


def widget_outputs(widget) -> list:
    """The widget's frames, one picture per tau, and why it fails Task 4.3 (if it does)."""
    if not isinstance(widget, dict):
        return [
            new_output("stream", name="stderr", text="Task 4.3 widget: not driven, its cell did not run to the end\n")
        ]
    outs = []
    for frame in (widget.get("frames") or [])[: len(WIDGET_POSITIONS)]:
        if not isinstance(frame, dict):
            continue
        outs.append(
            new_output(
                "stream", name="stdout", text=f"widget driven by the grader: tau = {_text(frame.get('tau'), 40)}\n"
            )
        )
        for b64 in (frame.get("pngs") or [])[:4]:
            outs += _png_output(b64)
    if widget.get("problem"):
        outs.append(new_output("stream", name="stderr", text="Task 4.3 widget: " + _text(widget["problem"]) + "\n"))
    return outs


def merge(nb, plan: list[dict], payload: dict, caption: str) -> None:
    """Put the fresh outputs into the captured cells of ``nb`` (in place)."""
    cells = payload.get("cells") if isinstance(payload.get("cells"), dict) else {}
    for k, step in enumerate(plan):
        if not step["capture"]:
            continue
        outs = cell_outputs(cells.get(str(k)), caption)
        if step["widget"]:
            outs += widget_outputs(payload.get("widget"))
        nb.cells[step["index"]].outputs = outs


# ---- the cache -----------------------------------------------------------------------------
def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()


def input_fingerprint(submitted: Path | None, plan, source: Path, limits) -> str:
    """Changes when the submission, the source notebook, the renderer or the limits do."""
    student = (
        submitted.read_bytes()
        if submitted and submitted.is_file()
        else json.dumps([c["source"] for c in plan]).encode()
    )
    return _sha(
        student,
        source.read_bytes(),
        ENTRY.read_bytes(),
        *(f.read_bytes() for f in sandbox.runner_files()),
        WIDGET_DRIVER.read_bytes(),
        Path(__file__).read_bytes(),
        json.dumps(limits.as_job(), sort_keys=True).encode(),
    )


def fingerprint_path(notebook: Path) -> Path:
    return notebook.with_name(FINGERPRINT.format(notebook=notebook.stem))


def is_current(notebook: Path, inputs: str) -> bool:
    try:
        saved = json.loads(fingerprint_path(notebook).read_text())
    except (OSError, ValueError):
        return False
    return saved == {"inputs": inputs, "notebook": _sha(notebook.read_bytes())}


def save_fingerprint(notebook: Path, inputs: str) -> None:
    fingerprint_path(notebook).write_text(json.dumps({"inputs": inputs, "notebook": _sha(notebook.read_bytes())}))


# ---- one notebook, the course ----------------------------------------------------------------
def render_notebook(
    notebook: Path,
    source: Path,
    release_dir: str | None,
    limits,
    *,
    submitted: Path | None = None,
    mode: str | None = None,
    force=False,
    summary: Summary | None = None,
    now=None,
) -> str:
    """Render one autograded notebook unless it is current; returns 'rendered' or 'cached'."""
    summary = summary if summary is not None else Summary()
    nb = nbformat.read(str(notebook), as_version=4)
    plan = plan_cells(nb, grading.load_spec(source))
    inputs = input_fingerprint(submitted, plan, source, limits)
    if not force and is_current(notebook, inputs):
        return "cached"
    summary.sandbox_runs += 1
    result = sandbox.run_job(build_job(plan), limits, assignment_dir=release_dir, mode=mode)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    caption = CAPTION.format(date=now.strftime("%Y-%m-%d %H:%M UTC"))
    problem = result.error or result.payload.get("problem")
    if problem:
        caption += f"the render failed as a whole: {_text(problem)}\n"
    merge(nb, plan, result.payload, caption)
    nbformat.write(nb, str(notebook))
    save_fingerprint(notebook, inputs)
    return "rendered"


def _render_one(task) -> tuple:
    """(how, sandbox runs, why it failed) of one notebook: a worker's unit of work."""
    notebook, source, release, submitted, limits, mode, force = task
    counted = Summary()
    try:
        how = render_notebook(
            notebook, source, release, limits, submitted=submitted, mode=mode, force=force, summary=counted
        )
    except Exception as exc:  # one odd notebook never stops the class
        return "failed", counted.sandbox_runs, f"{type(exc).__name__}: {exc}"
    return how, counted.sandbox_runs, None


def course_tasks(course: Path, assignment: str | None, force: bool, mode: str | None) -> list:
    """One task per autograded notebook of the course (of one assignment)."""
    from nbgrader.coursedir import CourseDirectory

    config = course_config(course)
    cd = CourseDirectory(config=config)
    limits = grading_limits(config)
    tasks = []
    for notebook in sorted((course / cd.autograded_directory).glob(f"*/{assignment or '*'}/*.ipynb")):
        student, assign = notebook.parent.parent.name, notebook.parent.name
        source = Path(cd.format_path(cd.source_directory, ".", assign)) / notebook.name
        if not source.is_file():
            continue
        release = Path(cd.format_path(cd.release_directory, ".", assign))
        submitted = Path(cd.format_path(cd.submitted_directory, student, assign)) / notebook.name
        tasks.append((notebook, source, str(release) if release.is_dir() else None, submitted, limits, mode, force))
    return tasks


def render_course(
    course: Path, assignment: str | None = None, force=False, mode: str | None = None, jobs: int = 1
) -> Summary:
    """Render every autograded notebook of the course, ``jobs`` sandboxes at a time."""
    tasks = course_tasks(course, assignment, force, mode)
    if jobs > 1 and len(tasks) > 1:
        from concurrent.futures import ProcessPoolExecutor

        # each worker's sandboxes come from its own fork server (launch.keep_warm)
        with ProcessPoolExecutor(max_workers=jobs, initializer=sandbox.keep_warm) as pool:
            results = list(pool.map(_render_one, tasks))
    else:
        was_warm = launch.Spare.enabled
        sandbox.keep_warm()
        try:
            results = [_render_one(task) for task in tasks]
        finally:
            if not was_warm:  # (a caller that kept its sandboxes warm keeps them so)
                sandbox.keep_warm(False)
    summary = Summary()
    for task, (how, runs, why) in zip(tasks, results):
        who = (task[0].parent.parent.name, task[0].name)
        summary.sandbox_runs += runs
        if why:
            summary.failed.append(who + (why,))
        else:
            getattr(summary, how).append(who)
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m neurograder.render", description=__doc__.split("\n\n")[0])
    ap.add_argument("--course", default="grader", help="the nbgrader course root")
    ap.add_argument("--assignment", default=None, help="only this assignment")
    ap.add_argument("--force", action="store_true", help="render even unchanged notebooks")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="sandboxes at a time (default: one per core)")
    args = ap.parse_args(argv)
    course = Path(args.course).resolve()
    if not (course / "nbgrader_config.py").is_file():
        ap.error(f"{course} is not a course root (no nbgrader_config.py)")
    summary = render_course(course, args.assignment, args.force, jobs=max(1, args.jobs))
    for student, name, why in summary.failed:
        print(f"render: {_text(student, 80)}/{name}: failed: {_text(why)}", file=sys.stderr)
    print(
        f"render: {len(summary.rendered)} rendered, {len(summary.cached)} unchanged, "
        f"{len(summary.failed)} failed ({summary.sandbox_runs} sandbox runs)"
    )
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
