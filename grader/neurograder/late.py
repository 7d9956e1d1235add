"""Late work: one policy and per-student extensions, applied by every autograde.

Configured once in ``grader/nbgrader_config.py``; both pieces run inside ``nbgrader autograde``
(and so inside ``make grade``), so a rerun recomputes the same penalty instead of undoing it:

* :class:`ApplyExtensions` (autograde step, before ``AssignLatePenalties``) writes each
  student's extension from the extensions file (``student_id,days`` per line, ``#`` comments)
  into the gradebook's own ``Submission.extension``, so nbgrader's ``total_seconds_late``, the
  export, formgrader and the class report all see lateness after the extension;
* :class:`LatePolicy` (``AssignLatePenalties.plugin_class``) deducts ``percent_per_day`` of
  the notebook's score for every started day late, at most ``max_percent``, nothing within
  ``grace_minutes``.

Hand grades come after autograding (formgrader), so the penalty is worked out again from the
notebook's current score wherever a score is shown: :class:`RefreshLatePenalty` in the
feedback chain, and :func:`refresh_penalties` before the export and the class report. A hand
grade given to a late student is penalised like the rest of their score, without a regrade.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Unicode

DAY = 86400.0


def penalty_fraction(seconds_late: float, percent_per_day: float, max_percent: float, grace_minutes: float) -> float:
    """Fraction of the score deducted for ``seconds_late`` (after any extension)."""
    if seconds_late <= grace_minutes * 60:
        return 0.0
    days = math.ceil(seconds_late / DAY)
    return min(max_percent, percent_per_day * days) / 100.0


class ExtensionsError(ValueError):
    """The extensions file has a line that is not ``student_id,days``."""


def read_extensions(path: Path) -> dict[str, float]:
    """student_id -> extension in days; a missing file means no extensions."""
    if not path.exists():
        return {}
    out = {}
    for no, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.lower().replace(" ", "") == "student_id,days":
            continue
        parts = [p.strip() for p in line.split(",")]
        try:
            if len(parts) != 2 or not parts[0]:
                raise ValueError
            days = float(parts[1])
            if not 0 <= days <= 365:
                raise ValueError
        except ValueError:
            raise ExtensionsError(
                f"{path}, line {no}: expected 'student_id,days' with 0-365 days, got {raw!r}"
            ) from None
        out[parts[0]] = days
    return out


class ApplyExtensions(NbGraderPreprocessor):
    """Set the student's ``Submission.extension`` from the extensions file (or clear it)."""

    path = Unicode("extensions.csv", help="Extensions file (student_id,days), relative to the course root.").tag(
        config=True
    )

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        file = Path(CourseDirectory(config=self.config).root) / self.path
        days = read_extensions(file).get(info["student"])
        with Gradebook(info["db_url"]) as gb:
            sub = gb.find_submission(info["assignment"], info["student"])
            if days is None and sub.extension is not None:
                self.log.warning("%s: extension removed (not in %s, the one list of extensions)", info["student"], file)
            sub.extension = None if days is None else _dt.timedelta(days=days)
            gb.db.commit()
        if days:
            self.log.info("%s: extension of %g days", info["student"], days)
        return nb, resources


class LatePolicy(LateSubmissionPlugin):
    """A percentage of the score per started day late, capped; a short grace period."""

    percent_per_day = Float(10.0, help="Percent of the score deducted per started day late.").tag(config=True)
    max_percent = Float(50.0, help="Largest deduction, percent of the score.").tag(config=True)
    grace_minutes = Float(15.0, help="No deduction up to this many minutes late.").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        fraction = penalty_fraction(total_seconds_late, self.percent_per_day, self.max_percent, self.grace_minutes)
        return round(fraction * (score or 0.0), 4)


def refresh_submission(submission, policy: LatePolicy) -> int:
    """Set each notebook's penalty of one submitted assignment from its current score (hand
    grades included); returns how many changed (the caller commits)."""
    changed = 0
    seconds = submission.total_seconds_late or 0.0
    for nb in submission.notebooks:
        penalty = policy.late_submission_penalty(submission.student_id, nb.score, seconds)
        if seconds <= 0 and not nb.late_submission_penalty:
            continue
        if nb.late_submission_penalty != penalty:
            nb.late_submission_penalty = penalty
            changed += 1
    return changed


def refresh_penalties(gradebook: Gradebook, policy: LatePolicy, assignments: list[str] | None = None) -> int:
    """:func:`refresh_submission` for every submission (of ``assignments``), one commit."""
    changed = 0
    for a in gradebook.assignments:
        if assignments and a.name not in assignments:
            continue
        for sub in a.submissions:
            changed += refresh_submission(sub, policy)
    gradebook.db.commit()
    return changed


class RefreshLatePenalty(NbGraderPreprocessor):
    """Feedback step (before ``GetGrades``): the student's late penalty from their current
    score, so a hand grade given after autograding is penalised too."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            refresh_submission(gb.find_submission(info["assignment"], info["student"]), LatePolicy(config=self.config))
            gb.db.commit()
        return nb, resources
