"""Step 5: judge each pair against the class's own distribution per task, rank, cluster."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .settings import CLUSTER_SIZE, FLAG_SIMILARITY, FLAG_Z, MIN_SHARED, MIN_WEIGHT, SPREAD_FLOOR, TAIL_QUANTILE, TAIL_Z
from .extract import Task


@dataclass
class TaskStats:
    task: Task
    compared: int  # students with enough own work to compare
    median: float
    spread: float  # robust standard deviation (see TAIL_QUANTILE)
    weight: float
    sims: np.ndarray = field(repr=False)  # students x students, NaN where not compared
    z: np.ndarray = field(repr=False)
    shared: np.ndarray | None = field(default=None, repr=False)  # code: fingerprints shared
    notable: np.ndarray | None = field(default=None, repr=False)  # see notable_matrix


def task_stats(task: Task, sim: np.ndarray) -> TaskStats:
    """Median and spread of the task's pair similarities, each pair's z, the task weight."""
    n = sim.shape[0]
    iu = np.triu_indices(n, 1)
    values = sim[iu]
    values = values[~np.isnan(values)]
    compared = int((~np.isnan(np.diag(sim))).sum()) if n else 0
    if values.size == 0:
        return TaskStats(task, compared, float("nan"), float("nan"), 0.0, sim, np.full_like(sim, np.nan))
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median)))
    tail = (float(np.quantile(values, TAIL_QUANTILE)) - median) / TAIL_Z
    spread = max(1.4826 * mad, tail, SPREAD_FLOOR)
    z = (sim - median) / spread
    return TaskStats(task, compared, median, spread, float(np.clip(1.0 - median, 0.0, 1.0)), sim, z)


@dataclass
class Pair:
    a: str
    b: str
    score: float  # most unusual weighted task z of the pair
    listed: bool  # listed for a person to review
    i: int  # the students' rows in the task matrices
    j: int


def notable_matrix(st: TaskStats) -> np.ndarray:
    """Pairs whose similarity on this task is unusual and high enough to list."""
    sims = np.nan_to_num(st.sims, nan=-1.0)
    z = np.nan_to_num(st.z, nan=-np.inf)
    notable = (z >= FLAG_Z) & (sims >= FLAG_SIMILARITY[st.task.kind]) & (st.weight >= MIN_WEIGHT)
    if st.shared is not None:
        notable &= st.shared >= MIN_SHARED
    return notable


def rank_pairs(students: list[str], stats: list[TaskStats]) -> list[Pair]:
    """Every pair with at least one compared task, listed ones first, then most unusual
    (largest weight x z over the pair's tasks); all tasks at once as matrices."""
    n = len(students)
    score = np.full((n, n), -np.inf)
    listed = np.zeros((n, n), dtype=bool)
    compared = np.zeros((n, n), dtype=bool)
    for st in stats:
        valid = ~np.isnan(st.sims)
        compared |= valid
        score = np.maximum(score, np.where(valid, st.weight * np.nan_to_num(st.z), -np.inf))
        listed |= st.notable
    ii, jj = np.triu_indices(n, 1)
    keep = compared[ii, jj]
    ii, jj = ii[keep], jj[keep]
    pairs = [
        Pair(students[i], students[j], sc, li, i, j)
        for i, j, sc, li in zip(ii.tolist(), jj.tolist(), score[ii, jj].tolist(), listed[ii, jj].tolist())
    ]
    pairs.sort(key=lambda p: (not p.listed, -p.score, p.a, p.b))
    return pairs


def task_rows(stats: list[TaskStats], p: Pair) -> list[tuple]:
    """(grade_id, similarity, z, weight, notable) of every task compared for the pair."""
    rows = []
    for st in stats:
        s = float(st.sims[p.i, p.j])
        if not math.isnan(s):
            rows.append((st.task.grade_id, s, float(st.z[p.i, p.j]), st.weight, bool(st.notable[p.i, p.j])))
    return rows


def clusters(pairs: list[Pair]) -> list[list[str]]:
    """Groups of CLUSTER_SIZE+ students connected through listed pairs (union-find)."""
    parent = {}

    def root(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        if p.listed:
            parent[root(p.a)] = root(p.b)
    groups = {}
    for x in list(parent):
        groups.setdefault(root(x), []).append(x)
    return sorted((sorted(g) for g in groups.values() if len(g) >= CLUSTER_SIZE), key=lambda g: (-len(g), g))
