"""What a grading worker does for one student: nbgrader's own autograde, timed per phase.

Runs in a worker process (a local pool's or, through :mod:`neurograder.executors`, one on a
Dask worker), never in the sandbox. :func:`grade_one` grades one student with
:class:`nbgrader.apps.NbGraderAPI` (the course's nbgrader_config.py applies exactly as for
``nbgrader autograde``) and returns the student's result with a ``timings`` record: seconds
per phase, measured with cheap clocks around each nbgrader preprocessor (no profiler).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import time
from pathlib import Path

from neurograder import sandbox, warm
from neurograder.screening import MARKER

#: least severe message nbgrader's autograde logs in a worker: its INFO lines ("Copying ...",
#: "<submission> submitted at ...", whose text costs gradebook queries) would only fill the
#: captured log, which a worker shows for a failed student only when there is no traceback
AUTOGRADE_LOG_LEVEL = logging.WARNING

#: phase of each nbgrader preprocessor (by class name) in the ``timings`` record; any other
#: preprocessor counts as "other preprocessors"
PHASE_OF = {
    "NormalizeSubmission": "normalize submission",
    "OverwriteKernelspec": "normalize submission",
    "SandboxExecute": "sandbox and judging",
    "SaveAutoGrades": "gradebook writes",
    "SaveAutoGradesOnce": "gradebook writes",
    "SaveResults": "gradebook writes",
    "SaveExtraCredit": "gradebook writes",
    "FollowHandGrades": "gradebook writes",
    "ApplyExtensions": "gradebook writes",
    "AssignLatePenalties": "gradebook writes",
}


def course_api(course: Path, db_url: str | None = None):
    """nbgrader's API on ``course`` with its nbgrader_config.py (and another gradebook)."""
    from traitlets.config.loader import PyFileConfigLoader
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    cfg.CourseDirectory.root = str(course)
    if "exporter_class" not in cfg.Autograde:  # (unless the course chose one)
        cfg.Autograde.exporter_class = warm.ReadOnceNotebookExporter
    if db_url:
        cfg.CourseDirectory.db_url = db_url
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


#: the manifest's Python the hidden checks depend on: their own module and the references
#: their judges compare with (with the other Python files of each one's folder or package)
CHECKED_WITH = ("checks", "reference", "values")


def checks_files(assignment: str) -> list[Path]:
    """The check engine, the assignment's manifest, and the Python of :data:`CHECKED_WITH`."""
    import neurograder.checks as engine
    from course.manifest import MANIFEST, module

    own = module(assignment)
    files = {
        f for role in CHECKED_WITH if (named := own.code_file(role)) is not None for f in named.parent.glob("*.py")
    }
    return [Path(engine.__file__), own.folder / MANIFEST, *sorted(files)]


def course_fingerprint(course: Path, assignment: str) -> str:
    """What every student's grade depends on besides their folder: source, config, checks,
    the sandbox's inside and the course secret. Computed once per worker."""
    import neurograder.checks as engine
    from neurograder import sandbox

    engine.course_secret()  # (created on first use: the hidden cases depend on it)
    return _sha(
        course / "source" / assignment,
        course / "nbgrader_config.py",
        *checks_files(assignment),
        *sandbox.runner_files(),
        engine.secret_path(),
    )


def fingerprint(course: Path, assignment: str, student: str, shared: str) -> str:
    """The student's submission folder together with the course's ``shared`` fingerprint."""
    return hashlib.sha256((shared + _sha(course / "submitted" / student / assignment)).encode()).hexdigest()


def up_to_date(marker: Path, fp: str) -> bool:
    try:
        return json.loads(marker.read_text()).get("fingerprint") == fp
    except (OSError, ValueError, AttributeError):
        return False


# ---------------------------------------------------------------- per-phase clocks
_PHASES: dict = {}


def _timed_call(original):
    def __call__(self, nb, resources):
        started = time.perf_counter()
        try:
            return original(self, nb, resources)
        finally:
            phase = PHASE_OF.get(type(self).__name__, "other preprocessors")
            _PHASES[phase] = _PHASES.get(phase, 0.0) + time.perf_counter() - started
            if phase == "sandbox and judging":
                _PHASES["_sandbox"] = next(iter(resources.get("neurograder", {}).values()), {})

    __call__.timed = True
    return __call__


def install_phase_clocks() -> None:
    """Time every nbconvert/nbgrader preprocessor call of this process (a clock per call)."""
    from nbconvert.preprocessors import Preprocessor

    if not getattr(Preprocessor.__call__, "timed", False):
        Preprocessor.__call__ = _timed_call(Preprocessor.__call__)


def split_sandbox(phases: dict) -> dict:
    """'sandbox and judging' split with the sandbox's own clocks: set-up and teardown
    (bubblewrap, cgroup, uid), start-up inside (interpreter, imports), student cells and
    checks, and judging in the grader."""
    info = phases.pop("_sandbox", {}) or {}
    whole = phases.pop("sandbox and judging", None)
    if whole is None:
        return phases
    inside = info.get("timings") or {}
    wall = float(info.get("seconds") or 0.0)
    total = float(inside.get("total") or 0.0)
    startup = float(inside.get("startup") or 0.0)
    phases.update(
        {
            "sandbox set-up and teardown": max(0.0, wall - total),
            "sandbox start-up": startup,
            "student cells and checks": max(0.0, total - startup),
            "judging and outputs": max(0.0, whole - wall),
        }
    )
    return phases


# ---------------------------------------------------------------- one student
_APIS: dict = {}
_SHARED: dict = {}
#: (course, assignment, gradebook) whose first sandbox this process has started ahead
_STARTED: set = set()
#: (course, assignment, gradebook) after whose first student this process froze its heap
_FROZEN: set = set()


def release_folder(api, assignment: str) -> str | None:
    """The released folder of ``assignment`` as the sandboxed preprocessor binds it into each
    sandbox (None when there is none)."""
    from neurograder.preprocessors import _source_paths

    return _source_paths(api.config, {"nbgrader": {"assignment": assignment, "notebook": ""}})[1]


def prepare_class(course: str, assignment: str) -> None:
    """What every worker would otherwise do for its first student, done once in the batch's
    process before its local workers are forked (they inherit it): the course fingerprint,
    the checks module imported and its hidden cases drawn, the notebook validator nbgrader
    checks what it writes with compiled (~0.1 s), nbgrader's gradebook models mapped, and the
    released notebooks' Markdown cells sanitised (the chapter's text, which every submission
    holds: ~0.2 s of rendering that the workers' caches then have)."""
    import nbformat
    from nbformat.validator import get_validator
    from sqlalchemy.orm import configure_mappers

    from neurograder import grading, sanitize
    from neurograder.preprocessors import SandboxExecute

    _SHARED[(course, assignment)] = course_fingerprint(Path(course), assignment)
    api = course_api(Path(course))
    checks, _ = grading.load_checks(SandboxExecute(config=api.config).checks_module or None, assignment)
    for check in checks.values():
        grading.check_cases(check)
    get_validator(version=nbformat.current_nbformat, version_minor=nbformat.current_nbformat_minor)
    configure_mappers()  # (nbgrader.api's models, imported with nbgrader's API)
    release = release_folder(api, assignment)
    for path in sorted(Path(release).glob("*.ipynb")) if release else []:
        for cell in nbformat.read(str(path), as_version=4).cells:
            if cell.cell_type == "markdown":
                sanitize.sanitize_markdown(cell.source)


def init(course: str, db_url: str | None = None) -> None:
    """Worker start-up: nbgrader's API and the course fingerprint, once per worker; the
    gradebook's engine kept warm from one student to the next (:mod:`neurograder.warm`); the
    next student's sandbox started while one is graded (:func:`neurograder.launch.keep_warm`)."""
    install_phase_clocks()
    warm.install()
    sandbox.keep_warm()  # the next student's sandbox starts while this one is graded
    # nbgrader resolves some paths from the course root and runs `alembic` from PATH to upgrade
    # an old gradebook: the same working folder and PATH as `nbgrader autograde`
    os.chdir(course)
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    key = (course, db_url)
    if key not in _APIS:
        _APIS[key] = course_api(Path(course), db_url)
        # the gradebook's first open in this process (its shared engine made), so even the
        # first student's rows are written in one transaction each (warm.one_transaction)
        from nbgrader.api import Gradebook

        coursedir = _APIS[key].coursedir
        with Gradebook(coursedir.db_url, coursedir.course_id):
            pass
        warm.freeze_heap()


def start_first_sandbox(api, assignment: str) -> None:
    """The worker's first sandbox for ``assignment`` (and its fork server) started in the
    background while its first student's grading begins, with the released folder and mode
    the sandboxed preprocessor will ask for; a fork server the batch's driver started for
    this worker (:meth:`neurograder.launch.Servers.park`) kept when it serves that folder."""
    from neurograder.launch import Servers
    from neurograder.preprocessors import SandboxExecute

    release = release_folder(api, assignment)
    mode = SandboxExecute(config=api.config).sandbox_mode or sandbox.sandbox_mode()
    if mode == "bwrap":
        Servers.adopt(release)
    else:
        Servers.disown()
    sandbox.start_ahead(release, mode)


def warm_up(course: str, assignment: str, db_url: str | None = None) -> None:
    """A worker made ready for ``assignment`` without a student (:func:`init`, and its first
    sandbox starting in the background); the first call in a worker does it, later ones
    return at once."""
    init(course, db_url)
    if (course, assignment, db_url) not in _STARTED:
        _STARTED.add((course, assignment, db_url))
        start_first_sandbox(_APIS[(course, db_url)], assignment)


def grade_one(
    course: str, assignment: str, student: str, force: bool, db_url: str | None = None, write_marker: bool = True
) -> dict:
    """Grade one student (in a worker process). The marker (fingerprint, timings) is written
    last, so an interrupted student is graded again next time."""
    course_path = Path(course)
    started, cpu0 = time.monotonic(), _cpu()
    warm_up(course, assignment, db_url)
    if (course, assignment) not in _SHARED:
        _SHARED[(course, assignment)] = course_fingerprint(course_path, assignment)
    fp = fingerprint(course_path, assignment, student, _SHARED[(course, assignment)])
    out_dir = course_path / "autograded" / student / assignment
    marker = out_dir / MARKER
    if not force and up_to_date(marker, fp):
        return {"student": student, "status": "skipped", "seconds": 0.0}
    timings = {"fingerprint": time.monotonic() - started}
    _PHASES.clear()
    t = time.monotonic()
    api = _APIS[(course, db_url)]
    with log_level(api.log, AUTOGRADE_LOG_LEVEL):
        res = api.autograde(assignment, student, force=True, create=True)
    autograde = time.monotonic() - t
    # the sandboxes' own CPU (their processes are reaped inside: no clock of the worker counts them)
    sandbox_cpu = float(((_PHASES.get("_sandbox") or {}).get("timings") or {}).get("cpu") or 0.0)
    phases = split_sandbox(dict(_PHASES))
    timings["nbgrader set-up, reading and writing"] = max(
        0.0, autograde - sum(v for k, v in _PHASES.items() if not k.startswith("_"))
    )
    timings.update(phases)
    ok = bool(res.get("success"))
    result = {
        "student": student,
        "status": "graded" if ok else "error",
        "message": "" if ok else (res.get("error") or res.get("log") or "")[-600:],
        "seconds": time.monotonic() - started,
        "cpu_seconds": _cpu() - cpu0,
        "sandbox_cpu_seconds": sandbox_cpu,
        "fingerprint": fp,
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }
    if ok and write_marker:
        write_marker_file(course_path, assignment, result)
    if (course, assignment, db_url) not in _FROZEN:  # what the first student loaded (nbgrader's
        _FROZEN.add((course, assignment, db_url))  # preprocessors, the checks) stays for the rest
        warm.freeze_heap()
    return result


@contextlib.contextmanager
def log_level(log: logging.Logger, level: int):
    """``log`` logs nothing less severe than ``level`` inside the block (its own level after)."""
    before = log.level
    log.setLevel(max(level, log.getEffectiveLevel()))
    try:
        yield
    finally:
        log.setLevel(before)


def write_marker_file(course: Path, assignment: str, result: dict) -> None:
    out_dir = course / "autograded" / result["student"] / assignment
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).write_text(
        json.dumps(
            {
                "fingerprint": result["fingerprint"],
                "graded_at": time.time(),
                "seconds": round(result["seconds"], 4),
                "cpu_seconds": round(result["cpu_seconds"], 4),
                "sandbox_cpu_seconds": round(result.get("sandbox_cpu_seconds", 0.0), 4),
                "timings": result["timings"],
            }
        )
    )


def _cpu() -> float:
    """CPU seconds of this process and its finished children (cold sandboxes; sandboxes a
    fork server forked count for the server, whose CPU reaches the grader when it ends)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
