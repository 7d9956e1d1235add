"""The hidden-check engine: what a module's checks are made of and how one is run.

A module's checks module (``[python] checks`` in its manifest, e.g.
``book/module1/checks.py``) holds ``CHECKS``: one :class:`Check` per hidden test cell,
made with :func:`table`. A check is data plus a judge, so the same check runs in two graders:

* in a notebook kernel (plain nbgrader, and the instructor's ``nbgrader validate``), the
  hidden test cell calls :func:`run_check` (through :mod:`neurograder.hidden`);
* in the sandboxed autograder, the trusted process sends :meth:`Check.cases` to a sandbox,
  gets back what the student's code returned (reduced by :func:`neurograder.wire.to_plain`),
  and calls :meth:`Check.judge` itself (:mod:`neurograder.grading`).

Hidden cases are random but reproducible per course: a module's case makers draw them from
:func:`rng`, seeded by ``SEED`` and the course secret (:func:`course_secret`, a random file
created on first use next to the course's nbgrader_config.py, ignored by git and never in the
release), so every student of a course gets the same cases, a regrade gives the same verdict,
and nothing public predicts them.

This module knows no module's content: no cases, judges or points.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from .wire import prepare_args, to_plain

#: Tolerances of :func:`close`: float32 implementations of 200-step runs pass, wrong models do not.
RTOL, ATOL = 1e-4, 1e-6
#: One seed for all cases, mixed with the course secret (change either and every case changes).
SEED = 20261125
#: The course secret: created on first use (random), read by every later grading. Out of
#: git (.gitignore) and out of the release (it lives beside nbgrader_config.py, not in source/).
#: NEUROGRADER_SECRET_FILE points elsewhere (e.g. one secret per course on a shared grader).
SECRET_FILE = Path(__file__).resolve().parents[1] / ".neurograder-secret"


class CheckFailed(AssertionError):
    """A submission's answer is wrong; the message is shown to the student."""


@dataclass(frozen=True)
class Check:
    grade_id: str  # nbgrader grade_id of the hidden test cell
    name: str  # the student's global that is graded
    kind: str  # "call": name(*args) for each case; "value": the global itself
    points: float
    cases: Callable[[], list] = field(repr=False)  # -> list of argument tuples (JSON-able)
    judge: Callable[[list, list], None] = field(repr=False)  # raises CheckFailed
    bonus: bool = False  # optional task: extra credit (set from the module manifest by table)
    smoke: str = ""  # visible smoke call in the test cell: fails for a stub, reveals nothing
    task: str = ""  # the chapter's task ("2", "4.1"; set from the manifest by table): feedback names it
    #: grade_ids of the checks of earlier graded functions that this one calls: when one of
    #: those fails, this check is graded again with the reference version substituted
    uses: tuple = ()

    def smoke_code(self) -> str:
        return self.smoke or self.name


def table(checks: list[Check], module) -> dict[str, Check]:
    """A module's ``CHECKS`` (grade_id -> check), each with its task number and extra-credit flag
    from the module's manifest (``module``: a ``course.manifest.Module``; its ``[tasks]`` are the
    one source of both)."""
    return {
        c.grade_id: replace(c, task=module.task_of(c.grade_id).number, bonus=module.task_of(c.grade_id).optional)
        for c in checks
    }


# ---------------------------------------------------------------- the course secret and its cases
def secret_path() -> Path:
    return Path(os.environ.get("NEUROGRADER_SECRET_FILE") or SECRET_FILE)


@lru_cache(maxsize=4)
def _secret_words(path: Path) -> tuple[int, ...]:
    if not path.exists():
        # written whole to a private file, then linked into place: a process that starts at the
        # same moment (another grading worker) reads either nothing or the whole secret
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(os.urandom(32).hex() + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process was first: its secret is the course's
        finally:
            tmp.unlink()
    text = path.read_text().strip()
    if len(text) < 32:
        raise RuntimeError(f"course secret {path} is empty or too short: delete it to make a new one")
    digest = hashlib.sha256(text.encode()).digest()
    return tuple(int.from_bytes(digest[k : k + 4], "little") for k in range(0, 32, 4))


def course_secret() -> tuple[int, ...]:
    """The course secret as seed words (created on first use, see SECRET_FILE)."""
    return _secret_words(secret_path())


def rng(salt: int) -> np.random.Generator:
    """The random source of one case maker (``salt``: a number of its own): the same cases for
    every student of a course and every regrade, unpredictable without the course secret."""
    return np.random.default_rng([SEED, salt, *course_secret()])


# ---------------------------------------------------------------- judging helpers
def as_array(out, what: str) -> np.ndarray:
    """A returned value as a finite float array, or CheckFailed naming ``what``."""
    try:
        arr = np.asarray(out, dtype=float)
    except (TypeError, ValueError) as err:
        raise CheckFailed(f"{what} could not be turned into a float array ({type(err).__name__}).") from None
    if not np.all(np.isfinite(arr)):
        raise CheckFailed(f"{what} contains NaN or infinite values.")
    return arr


def close(a: np.ndarray, b: np.ndarray) -> bool:
    """Same shape and equal within RTOL/ATOL."""
    return a.shape == b.shape and np.allclose(a, b, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------- running one check
def collect(check: Check, namespace: dict, cases: list) -> list:
    """Run a student's code for one check in *this* process; return reduced outputs.

    Used in a kernel (plain nbgrader). The sandbox does the same with
    :mod:`neurograder.wire` on its side of the pipe.
    """
    if check.name not in namespace:
        raise CheckFailed(f"`{check.name}` is not defined: run the cell that defines it.")
    target = namespace[check.name]
    if check.kind == "value":
        return [to_plain(target)]
    return [to_plain(target(*prepare_args(case))) for case in cases]


def judge(check: Check, outputs: list, cases: list | None = None) -> None:
    """Compare reduced outputs with the reference; raise CheckFailed with a message if wrong."""
    cases = check.cases() if cases is None else cases
    if len(outputs) != len(cases):
        raise CheckFailed(f"{check.name}: expected {len(cases)} results, got {len(outputs)}.")
    try:
        check.judge(cases, outputs)
    except CheckFailed:
        raise
    except Exception as err:  # a malformed output must fail cleanly, never crash the grader
        raise CheckFailed(f"{check.name}: the output could not be checked ({type(err).__name__}: {err}).") from None


def run_check(grade_id: str, namespace: dict, checks: dict[str, Check]) -> None:
    """The body of a hidden test cell: raise CheckFailed if the answer is wrong (``checks``: the
    assignment's ``CHECKS``)."""
    check = checks[grade_id]
    cases = check.cases()
    try:
        outputs = collect(check, namespace, cases)
    except CheckFailed:
        raise
    except NotImplementedError:
        raise CheckFailed(f"`{check.name}` is not implemented yet.") from None
    except Exception as err:
        raise CheckFailed(f"calling `{check.name}` raised {type(err).__name__}: {err}") from None
    judge(check, outputs, cases)
