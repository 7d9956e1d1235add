"""Independent tasks: one mistake costs one task's points.

A test whose graded function calls an earlier graded function (``Check.uses`` names the
earlier function's check; a visible test inherits the ``uses`` of the checks grading the names
it calls) is graded a second time when both it and that earlier check failed: with the
reference definition of the earlier function, taken from the SOURCE notebook's solution cell,
put in place of the student's inside the sandbox. Its outcome then comes from that run and
says so ("graded with the reference `leaky_integrate_and_fire` because yours fails Task 2"),
so a wrong LIF never costs the time-surface points, nor gives them a misleading diagnosis.

A test that calls the earlier function itself (directly) is never graded this way. Only
students with such a double failure pay for the second sandbox run. What the student's code
produces next to the reference (an error's text, a self-check's printed values) never comes
back: a failure there keeps only the judge's diagnosis, or a plain message.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass


@dataclass(frozen=True)
class Retry:
    """One test to grade again: its job entry (with ``references``) and why."""

    test: dict
    reason: str


def dependencies(test: dict, checks: dict) -> list:
    """The checks of the earlier functions ``test`` (a job entry) relies on, never one of a
    function the test calls itself."""
    if test["kind"] == "script":
        names = set(test["names"])
        own = [c for c in checks.values() if c.name in names]
    else:
        names = {test["name"]}
        own = [checks[test["grade_id"]]] if test["grade_id"] in checks else []
    used = sorted({gid for c in own for gid in c.uses})
    return [checks[gid] for gid in used if gid in checks and checks[gid].name not in names]


@functools.lru_cache(maxsize=64)
def _definition(source: str, name: str) -> str | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return ast.get_source_segment(source, node)
    return None


def reference_definition(spec, name: str) -> str | None:
    """The source of ``def name`` in the SOURCE notebook's solution cells (trusted)."""
    for gid in spec.solution_order:
        found = _definition(spec.solutions[gid], name)
        if found:
            return found
    return None


def task_label(check) -> str:
    return f"Task {check.task}" if check.task else f"its test {check.grade_id}"


def retries(job_checks: list[dict], outcomes: dict, checks: dict, spec) -> list[Retry]:
    """The failed tests whose earlier function failed its own check, each with the reference
    definitions of those functions to grade it with."""
    out = []
    for test in job_checks:
        gid = test["grade_id"]
        if gid not in outcomes or outcomes[gid].passed:
            continue
        failed = [d for d in dependencies(test, checks) if d.grade_id in outcomes and not outcomes[d.grade_id].passed]
        refs = {d.name: reference_definition(spec, d.name) for d in failed}
        refs = {name: src for name, src in refs.items() if src}
        if not refs:
            continue
        reason = "; ".join(
            f"graded with the reference `{d.name}` because yours fails {task_label(d)}"
            for d in failed
            if d.name in refs
        )
        out.append(Retry(dict(test, references=refs), reason))
    return out


def quotes_student_output(test: dict, status: dict | None) -> bool:
    """Would the verdict on ``status`` quote what the student's code produced (an error's
    text, a self-check's printed values)? Such text must not come back from a run with
    reference code inside: it could carry that code out."""
    if status is None or test["kind"] == "script":
        return True
    outputs = status.get("outputs")
    return (
        status.get("status") != "ok"
        or not isinstance(outputs, list)
        or any(not isinstance(out, dict) or "error" in out for out in outputs)
    )


def merged(first, second, reason: str, quoted: bool):
    """The outcome of a test graded again with references: the second run's verdict, saying
    how it was graded (the first run's outcome when the second could not run at all). A
    failure whose message would quote the student's output (``quoted``) gets a plain one."""
    if second is None:
        return first
    if second.passed:
        return type(second)(second.grade_id, second.name, second.points, True, f"{reason}.")
    message = (
        second.message
        if not quoted
        else (
            f"`{second.name}` still fails with the reference in place (its error is not shown: "
            "it ran next to reference code)."
        )
    )
    return type(second)(second.grade_id, second.name, second.points, False, f"{message}\n({reason}.)")
