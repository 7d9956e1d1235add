"""The one entry a hidden test cell calls: ``checks_of(assignment)(grade_id, globals())``.

The assignment's checks module is found through its module manifest
(:mod:`course.manifest`); this package knows no module's content. In a kernel (plain
nbgrader, ``nbgrader validate``) the returned function runs the check against the
notebook's globals and raises the checks module's ``CheckFailed`` if the answer is wrong.
"""

from __future__ import annotations

from typing import Callable


def checks_module(assignment: str):
    """The checks module the assignment's manifest names (``[python] checks``)."""
    from course.manifest import module

    return module(assignment).code("checks")


def checks_of(assignment: str) -> Callable[[str, dict], None]:
    """``run_check(grade_id, namespace)`` for the assignment's hidden checks."""
    mod = checks_module(assignment)
    from .checks import run_check as run_one

    def run_check(grade_id: str, namespace: dict) -> None:
        run_one(grade_id, namespace, mod.CHECKS)

    return run_check
