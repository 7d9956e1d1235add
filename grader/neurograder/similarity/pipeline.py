"""The orchestrator: read, normalise, compare, judge (:func:`analyse`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from .settings import DEFAULT_ASSIGNMENT
from .extract import Submission, Task, load_class
from .normalise import Supplied, answer_terms, normalise_answer, normalise_code
from .match import answer_similarity, code_fingerprints, code_similarity
from .judge import Pair, TaskStats, clusters, notable_matrix, rank_pairs, task_stats


@dataclass
class Analysis:
    assignment: str
    students: list[str]
    problems: dict[str, str]  # student -> why not compared
    tasks: list[Task]
    stats: list[TaskStats]
    pairs: list[Pair]
    clusters: list[list[str]]
    normalised: dict = field(repr=False)  # (student, grade_id) -> normalised text
    raw: dict = field(repr=False)  # (student, grade_id) -> raw source
    seconds: float = 0.0


def normalise_class(subs: list[Submission], tasks: list[Task], supplied: Supplied) -> dict:
    """(student, grade_id) -> normalised code or answer text, for every compared submission."""
    out = {}
    for sub in subs:
        for task in tasks:
            raw = sub.cells.get(task.grade_id, "")
            out[sub.student, task.grade_id] = (
                normalise_code(raw, supplied) if task.kind == "code" else normalise_answer(raw, supplied)
            )
    return out


def compare_task(task: Task, students: list[str], normalised: dict) -> TaskStats:
    texts = [normalised[s, task.grade_id] for s in students]
    if task.kind == "code":
        sim, shared = code_similarity([code_fingerprints(t)[1] for t in texts])
        stats = task_stats(task, sim)
        stats.shared = shared
    else:
        stats = task_stats(task, answer_similarity([answer_terms(t) for t in texts]))
    stats.notable = notable_matrix(stats)
    return stats


def analyse(course: Path, assignment: str = DEFAULT_ASSIGNMENT, notebook: str | None = None) -> Analysis:
    """Read, normalise, compare and rank a whole class (no report written)."""
    start = time.perf_counter()
    _, tasks, supplied, subs = load_class(course, assignment, notebook)
    problems = {s.student: s.problem for s in subs if s.problem}
    ok = [s for s in subs if not s.problem]
    students = [s.student for s in ok]
    normalised = normalise_class(ok, tasks, supplied)
    stats = [compare_task(t, students, normalised) for t in tasks]
    pairs = rank_pairs(students, stats)
    raw = {(s.student, g): src for s in ok for g, src in s.cells.items()}
    return Analysis(
        assignment,
        students,
        problems,
        tasks,
        stats,
        pairs,
        clusters(pairs),
        normalised,
        raw,
        time.perf_counter() - start,
    )
