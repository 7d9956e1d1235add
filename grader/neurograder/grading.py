"""Trusted grading logic: source notebook -> sandbox job -> judged outcome per test cell.

Everything here runs in the grader's own process and never executes student code.

* :class:`SourceSpec` reads the instructor's SOURCE notebook (``source/<a>/<nb>.ipynb``): its
  locked setup cells, its solution cells (by ``grade_id``) and its graded test cells.
* :func:`grade_notebook` picks the student's solution cells by the SOURCE's grade_ids, builds
  the job (setup code from the source, not from the student's copy; argument tuples from each
  check's ``cases()``), runs it in the sandbox (:mod:`neurograder.sandbox`) and judges every
  output with the check's ``judge`` here, so expected values never leave this process; a test
  that failed together with an earlier function it relies on is graded again with that
  function's reference (:mod:`neurograder.independent`).

(Over 300 lines: reading the source notebook, building the job and judging its results are
one data flow whose steps share the SourceSpec and job formats.)
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import json
import marshal
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import independent, sandbox
from .launch import PREWARM_MODULES  # (imported once per sandbox, see there)

HIDDEN_RE = re.compile(r"^[ \t]*#+[ \t]*BEGIN HIDDEN TESTS.*?^[ \t]*#+[ \t]*END HIDDEN TESTS[^\n]*\n?", re.S | re.M)
HIDDEN_NOTE = "# (hidden test: run by the grader, its code is not shown)\n"
#: modules imported lazily by setup cells (only a check that uses them pays for the import)
#: (plus each module's own, ``[grading] heavy_modules`` in its manifest)
HEAVY_MODULES = ["torch", "matplotlib", "scipy", "ipywidgets", "IPython", "h5py", "pandas", "PIL", "tqdm"]
#: longest message from the sandbox kept in a grade's feedback (student text is cut there)
MAX_MESSAGE = 1500


def strip_hidden(source: str) -> str:
    """Remove every ``### BEGIN HIDDEN TESTS`` .. ``### END HIDDEN TESTS`` region."""
    return HIDDEN_RE.sub(HIDDEN_NOTE, source)


def nbg(cell) -> dict:
    md = cell.get("metadata", {}).get("nbgrader", {})
    return md if isinstance(md, dict) else {}


def _parsed(source: str) -> ast.Module | None:
    """A cell's syntax tree, or None for code Python cannot parse (or too deep to)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


@functools.lru_cache(maxsize=512)
def used_names(source: str) -> frozenset[str]:
    """Names a (test) cell reads."""
    tree = _parsed(source)
    if tree is None:
        return frozenset()
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))


@functools.lru_cache(maxsize=512)
def function_names(source: str) -> frozenset[str]:
    tree = _parsed(source)
    if tree is None:
        return frozenset()
    return frozenset(n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))


@functools.lru_cache(maxsize=512)
def defined_names(source: str) -> frozenset[str]:
    """Top-level names a cell defines (def, class, assignment, import)."""
    tree = _parsed(source)
    if tree is None:
        return frozenset()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
    return frozenset(names)


@dataclass
class SourceSpec:
    """What the instructor's source notebook says (trusted)."""

    path: Path
    setup: list[str]  # locked, non-graded code cells, in order
    solutions: dict[str, str]  # grade_id -> source (code solution cells)
    solution_order: list[str]
    tests: dict[str, float]  # grade_id -> points (graded code test cells)
    test_sources: dict[str, str]  # grade_id -> source of the test cell
    nb: nbformat.NotebookNode = field(repr=False)
    locked_ids: frozenset = frozenset()  # grade_ids of the locked non-graded cells

    @classmethod
    def load(cls, path) -> "SourceSpec":
        path = Path(path)
        nb = nbformat.read(str(path), as_version=4)
        setup, solutions, order, tests, test_sources, locked = [], {}, [], {}, {}, set()
        for cell in nb.cells:
            md = nbg(cell)
            if cell.cell_type != "code":
                continue
            if md.get("solution"):
                solutions[md["grade_id"]] = cell.source
                order.append(md["grade_id"])
            elif md.get("grade"):
                tests[md["grade_id"]] = float(md.get("points", 0))
                test_sources[md["grade_id"]] = cell.source
            elif md.get("locked"):
                setup.append(cell.source)
                locked.add(md.get("grade_id"))
        return cls(path, setup, solutions, order, tests, test_sources, nb, frozenset(locked - {None}))

    def student_names(self) -> dict[str, str]:
        """Every name the solution cells define -> 'call' (a def) or 'value'."""
        kinds = {}
        for gid in self.solution_order:
            funcs = function_names(self.solutions[gid])
            for name in defined_names(self.solutions[gid]):
                kinds[name] = "call" if name in funcs else "value"
        return kinds


_SPEC_CACHE: dict = {}


def load_spec(path) -> SourceSpec:
    path = Path(path).resolve()
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _SPEC_CACHE:
        _SPEC_CACHE.clear()
        _SPEC_CACHE[key] = SourceSpec.load(path)
    return _SPEC_CACHE[key]


def module_heavy(source_path) -> list[str]:
    """The module's own lazily imported modules, from the manifest of the assignment whose
    source notebook this is (``source/<assignment>/<notebook>``); [] for no known module."""
    from course.manifest import ManifestError, module

    try:
        return list(module(Path(source_path).parent.name).heavy_modules)
    except ManifestError:
        return []


def load_checks(module: str | None = None, assignment: str | None = None) -> tuple[dict, type]:
    """``CHECKS`` and ``CheckFailed`` of the checks module: ``module``, $NEUROGRADER_CHECKS, or
    the one the assignment's manifest names (no assignment: the first module's)."""
    module = module or os.environ.get("NEUROGRADER_CHECKS")
    if module:
        mod = importlib.import_module(module)
    else:
        from course.manifest import module as course_module

        mod = course_module(assignment).code("checks")
    return mod.CHECKS, getattr(mod, "CheckFailed", AssertionError)


def student_solution_cells(nb, spec: SourceSpec) -> tuple[list[dict], list[str]]:
    """The student's code for each SOURCE solution cell, matched by grade_id (first match).

    A solution cell whose metadata the student lost is found by the names it defines; anything
    else in the student's notebook (extra cells, locked cells, test cells) is never run.
    """
    notes = []
    by_id = {}
    for cell in nb.cells:
        gid = nbg(cell).get("grade_id")
        if cell.get("cell_type") == "code" and gid in spec.solutions and gid not in by_id and nbg(cell).get("solution"):
            by_id[gid] = cell.get("source", "")
    cells = []
    for gid in spec.solution_order:
        src = by_id.get(gid)
        if src is None:
            wanted = defined_names(spec.solutions[gid])
            for cell in nb.cells:
                if (
                    cell.get("cell_type") == "code"
                    and not nbg(cell).get("locked")
                    and wanted
                    and wanted & defined_names(cell.get("source", ""))
                ):
                    src = cell.get("source", "")
            notes.append(
                f"solution cell '{gid}' "
                + (
                    "was found by the names it defines (its metadata was missing)"
                    if src is not None
                    else "is missing from the submission"
                )
            )
        cells.append({"grade_id": gid, "source": src or ""})
    return cells, notes


def notebook_cells(nb, spec: SourceSpec) -> tuple[list[dict], dict[str, int]]:
    """What plain nbgrader runs of the student's notebook, in order: every code cell except
    the source's test cells and locked cells (their trusted text comes from the source as
    setup), so solution cells and cells the student added; and, for each graded test cell,
    how many of those cells are above it (a test missing from the notebook sees them all)."""
    cells, after, added = [], {}, 0
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        md = nbg(cell)
        gid = md.get("grade_id")
        if gid in spec.tests and md.get("grade") and not md.get("solution"):
            after.setdefault(gid, len(cells))
        elif gid in spec.locked_ids and md.get("locked") and not md.get("solution"):
            continue
        else:
            if not (md.get("solution") and gid in spec.solutions):
                added += 1
                gid = f"added {added}"
            cells.append({"grade_id": gid, "source": cell.get("source", "") or ""})
    return cells, after


#: result bytes allowed per output number (a float in JSON, a separator, some slack)
BYTES_PER_NUMBER = 32
#: results of 'value' checks and the fixed part of every result
BASE_RESULT_BYTES = 1 << 20


def _scalars(case) -> tuple[int, int]:
    """(how many numbers, the largest whole-number argument) in one case."""
    count, largest = 0, 0
    stack = [case]
    while stack:
        x = stack.pop()
        if isinstance(x, list):
            stack.extend(x)
        elif isinstance(x, (int, float)) and not isinstance(x, bool):
            count += 1
            if float(x).is_integer() and 0 < x <= 1e6:
                largest = max(largest, int(x))
    return count, largest


def result_cap(kind: str, cases) -> int:
    """Largest result accepted from one check, from the shape its cases imply: at most two
    outputs per case, each as long as the case's numbers or its largest count argument
    (``samples``)."""
    if kind != "call":
        return BASE_RESULT_BYTES
    total = BASE_RESULT_BYTES
    for case in cases:
        count, largest = _scalars(case)
        total += 2 * max(count, largest) * BYTES_PER_NUMBER
    return total


@dataclass
class Outcome:
    grade_id: str
    name: str
    points: float
    passed: bool
    message: str


_NUMBER_TYPES = frozenset({bool, int, float})


def _numeric(obj, depth=0) -> bool:
    if isinstance(obj, bool):
        return True
    if isinstance(obj, (int, float)):
        return True
    if isinstance(obj, list) and depth < 8:
        if set(map(type, obj)) <= _NUMBER_TYPES:  # a flat list of numbers, checked in C
            return True
        return all(_numeric(e, depth + 1) for e in obj)
    return False


#: marshal's format of the verdict cache's keys: 2, the first with floats as their 8 bytes and
#: the last without back-references (so a value's bytes do not depend on who else holds it)
MARSHAL_VERSION = 2


def _values_key(check, outs) -> tuple | None:
    """The verdict cache's key of ``outs`` (grade_id, sha256 of the values), or None when an
    output is unreadable or an error (those are judged case by case). The values are hashed
    in ``marshal``'s form: it keeps each number's type and exact bits (1, 1.0 and True differ)
    and reads back equal, so equal keys mean equal values, without writing each float out
    in decimal as JSON does."""
    if not all(isinstance(out, dict) and "error" not in out for out in outs):
        return None
    values = [out.get("value") for out in outs]
    try:
        return check.grade_id, hashlib.sha256(marshal.dumps(values, MARSHAL_VERSION)).hexdigest()
    except ValueError:  # (not values JSON can carry: judged case by case)
        return None


def _describe(status: dict, name: str, limits: sandbox.Limits) -> str:
    kind = status.get("status")
    if kind == "timeout":
        return f"`{name}` did not finish within {limits.timeout:g} s (an endless loop, or far too slow)."
    if kind == "toolarge":
        return f"`{name}` returned a result that is far too large."
    if kind == "over budget":
        return (
            f"`{name}` was not graded: your notebook used up its time budget of "
            f"{limits.total():g} s before this test (slow or sleeping cells above it)."
        )
    return str(status.get("message") or f"`{name}` could not be run ({kind}).")[:MAX_MESSAGE]


def judge_check(check, status: dict, cases, failed_type, limits) -> tuple[bool, str]:
    """Judge one check's sandbox result in the trusted process."""
    name = check.name
    if status.get("status") != "ok":
        return False, _describe(status, name, limits)
    outs = status.get("outputs")
    if not isinstance(outs, list):
        return False, f"`{name}`: no result came back."
    key = _values_key(check, outs)
    if key in _VERDICTS and not (check.kind == "call" and len(outs) != len(cases)):
        return _VERDICTS[key]  # the same values as an earlier student's: the same verdict
    values = []
    for k, out in enumerate(outs):
        if not isinstance(out, dict):
            return False, f"`{name}`: unreadable result."
        if "error" in out:  # (the sandbox stops a check at its first error: count the cases)
            of = len(cases) if check.kind == "call" else len(outs)
            return False, (
                f"`{name}` raised an error on hidden test case {k + 1} of {of}:\n" + str(out["error"])[:MAX_MESSAGE]
            )
        value = out.get("value")
        if not _numeric(value):
            return False, f"`{name}` did not return numbers (or arrays of numbers)."
        values.append(value)
    if check.kind == "call" and len(values) != len(cases):
        return False, f"`{name}`: some test cases returned no result."
    if key not in _VERDICTS:  # judges are pure: equal outputs get the same verdict
        try:
            check.judge(cases, values)
            verdict = (True, "passed")
        except failed_type as exc:
            verdict = (False, str(exc) or f"`{name}` gave a wrong result.")
        except Exception as exc:  # judge tripped over a malformed result: wrong shape or type
            verdict = (False, f"`{name}` returned a result of the wrong shape or type ({type(exc).__name__}).")
        if len(_VERDICTS) > 4096:
            _VERDICTS.clear()
        _VERDICTS[key] = verdict
    return _VERDICTS[key]


#: (grade_id, sha256 of the outputs) -> verdict; most correct answers are bit-identical, so
#: the reference runs once per batch worker instead of once per student
_VERDICTS: dict = {}


def _plain_cases(cases):
    """Cases must be JSON-able (they travel to the sandbox); tuples become lists."""
    return json.loads(json.dumps([list(c) for c in cases], allow_nan=True))


#: (grade_id, the check's cases function, the course secret's file) -> (plain cases, result
#: cap): hidden cases are a pure function of the course secret, so a process draws them once
#: per check instead of once per student
_CASES: dict = {}


def _secret_state():
    """Which course secret the checks would read now (path, mtime, size), or None."""
    try:
        from neurograder.checks import secret_path

        path = secret_path()
        info = path.stat()
        return str(path), info.st_mtime_ns, info.st_size
    except (ImportError, OSError):
        return None


def check_cases(check) -> tuple[list, int]:
    """(the check's hidden cases as plain JSON lists, the largest result they allow)."""
    key = (check.grade_id, check.cases, _secret_state())
    if key not in _CASES:
        cases = _plain_cases(check.cases())
        if len(_CASES) > 256:
            _CASES.clear()
        _CASES[key] = (cases, result_cap(check.kind, cases))
    return _CASES[key]


def build_job(nb, spec: SourceSpec, checks: dict) -> tuple[dict, dict]:
    """The sandbox job of one student notebook: setup and cells in notebook order, each test
    at its position; and the hidden cases per check (for judging)."""
    cells, after = notebook_cells(nb, spec)
    job_checks, cases_by_id = [], {}
    student_names = spec.student_names()
    for gid in spec.tests:
        check = checks.get(gid)
        where = after.get(gid, len(cells))
        if check is None:
            # a visible (public) test cell: its code runs in the sandbox's supervisor and
            # reaches the student's code only through proxies (see inside.calls.run_script_check)
            names = sorted(used_names(spec.test_sources[gid]) & set(student_names))
            job_checks.append(
                {
                    "grade_id": gid,
                    "kind": "script",
                    "source": spec.test_sources[gid],
                    "names": names,
                    "kinds": {n: student_names[n] for n in names},
                    "after": where,
                }
            )
            continue
        cases, max_bytes = check_cases(check)
        cases_by_id[gid] = cases
        job_checks.append(
            {
                "grade_id": gid,
                "name": check.name,
                "kind": check.kind,
                "after": where,
                "cases": cases,
                "max_bytes": max_bytes,
            }
        )
    job = {
        "setup": spec.setup,
        "cells": cells,
        "checks": job_checks,
        "heavy": HEAVY_MODULES + module_heavy(spec.path),
        "prewarm": PREWARM_MODULES,
    }
    return job, cases_by_id


def judge_results(
    job_checks: list[dict],
    result: sandbox.SandboxResult,
    spec: SourceSpec,
    checks: dict,
    cases_by_id: dict,
    failed_type,
    limits,
) -> dict:
    """{test grade_id: Outcome} of the tests in ``job_checks``, judged here from what the
    sandbox returned (visible tests: their own verdict)."""
    outcomes = {}
    for test in job_checks:
        gid, points = test["grade_id"], spec.tests[test["grade_id"]]
        if test["kind"] == "script":
            status = result.checks.get(gid) or {"status": "error", "message": result.error}
            label = "self-check " + ", ".join(test["names"])
            passed = status.get("status") == "passed"
            outcomes[gid] = Outcome(
                gid, label, points, passed, "passed" if passed else _describe(status, label, limits)
            )
            continue
        check = checks[gid]
        status = result.checks.get(gid)
        if status is None:
            status = {"status": "error", "message": "the grader could not run your code: " + (result.error or "?")}
        passed, msg = judge_check(check, status, cases_by_id[gid], failed_type, limits)
        outcomes[gid] = Outcome(gid, check.name, points, passed, msg)
    return outcomes


def grade_independently(
    job: dict,
    outcomes: dict,
    spec: SourceSpec,
    checks: dict,
    cases_by_id: dict,
    failed_type,
    limits,
    assignment_dir,
    mode,
    timings: dict | None = None,
) -> list[str]:
    """Grade again, with the reference definitions of the earlier functions they rely on, the
    tests that failed together with such a function (see :mod:`neurograder.independent`);
    update ``outcomes`` in place and return notes for the log. ``timings``: where the second
    sandbox's CPU seconds are added (``"cpu"``)."""
    again = independent.retries(job["checks"], outcomes, checks, spec)
    if not again:
        return []
    tests = [r.test for r in again]
    result = sandbox.run_job(dict(job, checks=tests), limits, assignment_dir=assignment_dir, mode=mode)
    if timings is not None and "cpu" in result.timings:
        timings["cpu"] = round(timings.get("cpu", 0.0) + result.timings["cpu"], 4)
    if result.error:
        return [f"independent grading failed: {result.error}"]
    second = judge_results(tests, result, spec, checks, cases_by_id, failed_type, limits)
    for r in again:
        gid = r.test["grade_id"]
        quoted = independent.quotes_student_output(r.test, result.checks.get(gid))
        outcomes[gid] = independent.merged(outcomes[gid], second.get(gid), r.reason, quoted)
    return [f"{r.test['grade_id']} {r.reason}" for r in again]


def grade_notebook(
    nb,
    spec: SourceSpec,
    checks: dict | None = None,
    failed_type=None,
    limits: sandbox.Limits | None = None,
    assignment_dir=None,
    mode: str | None = None,
) -> tuple[dict, dict]:
    """Grade one student notebook. Returns ({test grade_id: Outcome}, info)."""
    if checks is None:
        checks, failed_type = load_checks(assignment=Path(spec.path).parent.name)
    failed_type = failed_type or AssertionError
    limits = limits or sandbox.Limits()
    _, notes = student_solution_cells(nb, spec)
    job, cases_by_id = build_job(nb, spec, checks)
    result = sandbox.run_job(job, limits, assignment_dir=assignment_dir, mode=mode)
    outcomes = judge_results(job["checks"], result, spec, checks, cases_by_id, failed_type, limits)
    notes = notes + [f"cell {n}" for n in result.cells.values()]
    if not result.error:  # (a sandbox that failed as a whole is not run again)
        notes += grade_independently(
            job, outcomes, spec, checks, cases_by_id, failed_type, limits, assignment_dir, mode, result.timings
        )
    info = {
        "mode": result.mode,
        "seconds": result.seconds,
        "notes": notes,
        "setup_errors": result.setup_errors,
        "error": result.error,
        "timings": result.timings,
    }
    return outcomes, info
