"""The similarity report (:mod:`neurograder.similarity`) on a class with known copies.

The class: ``tests/similarity_corpus`` (22 independent honest solutions in different styles:
index loops, lists, torch, lfilter, accumulate, reduce, convolution, matrices, classes,
generators; and 6 disguised copies: renamed names, reordered independent lines, comments and
dead code, a written answer reworded sentence by sentence, two students copying a third).
The ground truth is each copy's ``copy-of:`` line, which the report never reads.

Questions answered, one test each:
* Does every copied pair score above every pair that did not copy, on each copied task where
  honest solutions differ (weight >= MIN_WEIGHT), and rank above them overall?
* Does the report list exactly the copied pairs (no honest pair), and group the three students
  who share one solution?
* Are tasks where every student hands in the same code weighted to zero and never list a pair?
* Does the normalisation keep what the code does (reordered and dead-code-free code computes
  the same as the original, checked by running both) and make reorderings identical?
* Does what the course supplies (the released stub) leave no own code to compare?
* Are unreadable, foreign and missing notebooks reported by name, without losing the others,
  and does a student name full of markup stay text?
* Does the command write the page and a CSV that agrees with it, the same in every process,
  and fail clearly without a release?
"""

from __future__ import annotations

import ast
import csv
import functools
import html
import itertools
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from attacks import corpus as attacks_corpus
from neurograder import similarity as S
from similarity_corpus import corpus

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[1]


@functools.cache
def _ground_truth() -> tuple[dict, dict[str, set[str]]]:
    """(student name -> corpus student, student -> every student sharing copied work with
    them), read from the corpus files once per run."""
    studs = {s.name: s for s in corpus.students()}
    groups: dict[str, set[str]] = {}
    for s in studs.values():
        if s.copy_of:
            group = groups.get(s.copy_of, {s.copy_of}) | groups.get(s.name, {s.name})
            for member in group:
                groups[member] = group
    return studs, groups


def copy_groups() -> dict[str, set[str]]:
    """Student -> every student sharing copied work with them (ground truth)."""
    return _ground_truth()[1]


def copied_tasks(a: str, b: str) -> set[str]:
    """The tasks students a and b share through copying (empty: they did not copy)."""
    studs, groups = _ground_truth()
    group = groups.get(a, set())
    if b not in group:
        return set()
    sets = [studs[x].copied for x in (a, b) if studs[x].copy_of]
    return set.intersection(*sets) if sets else set()


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    course = corpus.make_class(tmp_path_factory.mktemp("class"))
    return S.analyse(course)


def pair_sims(an, stats):
    idx = {s: i for i, s in enumerate(an.students)}
    for a, b in itertools.combinations(an.students, 2):
        s = stats.sims[idx[a], idx[b]]
        if not np.isnan(s):
            yield a, b, float(s)


def test_corpus_has_twenty_honest_styles_and_disguised_copies():
    """Is the corpus what the report is judged on: >= 20 honest students, copies of each kind?"""
    studs = corpus.students()
    honest = [s for s in studs if not s.copy_of]
    copies = [s for s in studs if s.copy_of]
    assert len(honest) >= 20
    assert {"task41_answer"} in [s.copied for s in copies]  # a reworded written answer
    assert len(copies) >= 5
    bodies = {s.cells["task1_leaky_integrator_solution"] for s in honest}
    assert len(bodies) == len(honest)  # all written independently


def test_every_copy_scores_above_every_pair_that_did_not_copy(analysis):
    """Per task where honest solutions differ, and in the overall ranking."""
    checked = 0
    for st in analysis.stats:
        if st.weight < S.MIN_WEIGHT or np.isnan(st.median):
            continue
        gid = st.task.grade_id
        copied = [s for a, b, s in pair_sims(analysis, st) if gid in copied_tasks(a, b)]
        honest = [s for a, b, s in pair_sims(analysis, st) if not copied_tasks(a, b)]
        if copied:
            checked += 1
            assert min(copied) > max(honest), (gid, min(copied), max(honest))
    assert checked >= 4  # three code tasks and the written answer
    ranks = {frozenset((p.a, p.b)): r for r, p in enumerate(analysis.pairs)}
    worst_copy = max(r for k, r in ranks.items() if copied_tasks(*k))
    best_honest = min(r for k, r in ranks.items() if not copied_tasks(*k))
    assert worst_copy < best_honest


def test_report_lists_exactly_the_copied_pairs_and_their_group(analysis):
    listed = {frozenset((p.a, p.b)) for p in analysis.pairs if p.listed}
    truth = {frozenset((a, b)) for a, b in itertools.combinations(analysis.students, 2) if copied_tasks(a, b)}
    assert listed == truth
    groups = {frozenset(g) for g in copy_groups().values() if len(g) >= S.CLUSTER_SIZE}
    assert {frozenset(c) for c in analysis.clusters} == groups and groups


def test_tasks_everyone_answers_alike_are_weighted_to_zero(analysis):
    """Every corpus student hands in the reference for Task 3 and 4.2: all pairs identical."""
    same = {"task3_cosine_signal_solution", "task31_band_pass_solution", "task42_lif_surface_solution"}
    for st in analysis.stats:
        if st.task.grade_id in same:
            assert st.median == pytest.approx(1.0) and st.weight == pytest.approx(0.0)
    for p in analysis.pairs:
        assert not any(t[4] for t in S.task_rows(analysis.stats, p) if t[0] in same)


# ---- normalisation: behaviour kept (run both), reorderings made identical -------------------
def _run(source: str, name: str, *args):
    env = {"np": np}
    exec(compile(source, "<test>", "exec"), env)
    return env[name](*args)


def _normalised_function(source: str) -> str:
    tree = ast.parse(source)
    tree = S.DeadCode(S.unused_locals(tree)).visit(tree)
    return ast.unparse(S.Reorder(tree).visit(tree))


@pytest.mark.parametrize("student", [s.name for s in corpus.students()])
@pytest.mark.timeout(60)
def test_normalised_code_computes_the_same(student):
    """Dead-code removal and canonical order keep each corpus function's results."""
    stud = next(s for s in corpus.students() if s.name == student)
    rng = np.random.default_rng(0)
    x = rng.random(40)
    cases = {
        "task1_leaky_integrator_solution": ("leaky_integrator", "input_data, tau", (x, 3.0)),
        "task2_lif_solution": ("leaky_integrate_and_fire", "input_data, tau, threshold", (x, 3.0, 0.4)),
    }
    for gid, (name, args, call) in cases.items():
        if gid not in stud.cells:
            continue
        src = f"def {name}({args}):\n{stud.cells[gid]}"
        before = _run(src, name, *call)
        after = _run(_normalised_function(src), name, *call)
        np.testing.assert_allclose(np.asarray(after, dtype=float), np.asarray(before, dtype=float))


def test_any_order_of_independent_statements_normalises_alike():
    lines = ["a = np.zeros(n)", "b = np.ones(n)", "c = 2.0", "d = [1, 2]"]
    tail = "for k in range(n):\n    a[k] = c * b[k]\n    d.append(k)\nreturn (a, d)"
    seen = set()
    for perm in itertools.permutations(lines):
        src = "def f(n):\n" + "\n".join("    " + ln for ln in list(perm) + tail.splitlines())
        seen.add(_normalised_function(src))
        assert _run(src, "f", 3)[1] == [1, 2, 0, 1, 2]
    assert len(seen) == 1


def test_dependent_statements_keep_their_order():
    src = "def f(x):\n    y = x + 1\n    x = 0\n    return (x, y)\n"
    assert _run(_normalised_function(src), "f", 5) == (0, 6)


def test_the_released_stub_leaves_no_own_code(tmp_path):
    release = nbformat.read(str(attacks_corpus.GRADER / "release" / "module1" / "neurons.ipynb"), as_version=4)
    supplied = S.supplied_material(release)
    stubs = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert stubs
    for cell in stubs:
        text = (
            S.normalise_code(cell.source, supplied)
            if cell.cell_type == "code"
            else S.normalise_answer(cell.source, supplied)
        )
        assert text.strip() == "", cell.metadata["nbgrader"]["grade_id"]


# ---- bad input: named, nothing else lost ----------------------------------------------------
#: a student folder name that is also markup (hand-made folders can be called anything)
HOSTILE = "zz_<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def broken_class(tmp_path_factory):
    c1 = next(s for s in corpus.students() if s.name == "c1")
    course = corpus.make_class(
        tmp_path_factory.mktemp("broken"),
        extra={
            "zz_corrupted": b'{"cells": [ not json',
            "zz_foreign": attacks_corpus.FOREIGN,
            HOSTILE: corpus.notebook(attacks_corpus.GRADER, c1),
        },
    )
    (course / "submitted" / "zz_empty_folder" / "module1").mkdir(parents=True)
    return course


@pytest.fixture(scope="module")
def broken_analysis(broken_class):
    return S.analyse(broken_class)


def test_bad_submissions_are_named_and_the_rest_compared(broken_analysis, analysis):
    an = broken_analysis
    assert set(an.problems) == {"zz_corrupted", "zz_empty_folder"}
    assert "cannot be read" in an.problems["zz_corrupted"]
    assert "no notebook" in an.problems["zz_empty_folder"]
    assert "zz_foreign" in an.students  # read fine; it has no own work to compare
    listed = {frozenset((p.a, p.b)) for p in an.pairs if p.listed}
    assert {k for k in listed if HOSTILE not in k} == {frozenset((p.a, p.b)) for p in analysis.pairs if p.listed}
    assert frozenset((HOSTILE, "h03")) in listed  # a second copy of h03's work
    page = S.render_html(an)
    assert "zz_corrupted" in page and "zz_empty_folder" in page


def test_student_names_are_text_not_markup(broken_analysis):
    """A folder name full of markup shows as text everywhere on the page."""
    page = S.render_html(broken_analysis)
    assert "<img src=x" not in page
    assert "zz_&lt;img src=x onerror=alert(1)&gt;" in page


def _similarity_command(course, out, **env) -> subprocess.CompletedProcess:
    """``python -m neurograder.similarity`` on ``course`` writing to ``out`` (``env`` added)."""
    return subprocess.run(
        [sys.executable, "-m", "neurograder.similarity", "--course", str(course), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO,
        env={**os.environ, **env},
    )


#: PYTHONHASHSEED of each run of the command on the broken class (string hashing differs)
HASH_SEEDS = ("1", "2")


@pytest.fixture(scope="module")
def command_runs(broken_class, tmp_path_factory) -> dict:
    """The command run on the broken class once per hash seed: {seed: (process, out folder)}."""
    runs = {}
    for seed in HASH_SEEDS:
        out = tmp_path_factory.mktemp(f"report-{seed}")
        runs[seed] = (_similarity_command(broken_class, out, PYTHONHASHSEED=seed), out)
    return runs


def test_command_writes_page_and_csv_that_agree(command_runs):
    run, out = command_runs[HASH_SEEDS[0]]
    assert run.returncode == 0, run.stderr
    page = (out / "index.html").read_text()
    with open(out / "pairs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    listed = {(r["student_a"], r["student_b"]) for r in rows if r["listed_for_review"] == "1"}
    assert listed and all(f"{html.escape(a)} &amp; {html.escape(b)}" in page for a, b in listed)
    assert "cheat" not in page.lower() and "plagiar" not in page.lower()
    assert "What was left out, and why" in page


def test_same_class_same_report_in_every_process(command_runs):
    """Fingerprints do not depend on Python's per-process string hash salt."""
    csvs = []
    for seed in HASH_SEEDS:
        run, out = command_runs[seed]
        assert run.returncode == 0, run.stderr
        csvs.append((out / "pairs.csv").read_text())
    assert csvs[0] == csvs[1]


def test_command_without_release_says_what_to_run(tmp_path):
    shutil_src = attacks_corpus.GRADER / "source"
    (tmp_path / "source").symlink_to(shutil_src, target_is_directory=True)
    run = subprocess.run(
        [sys.executable, "-m", "neurograder.similarity", "--course", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert run.returncode == 2
    assert "make notebooks" in run.stderr
    assert not (tmp_path / "similarity").exists()
