"""Does correct code keep every point under the sandbox, exactly as under plain nbgrader?

The oracle is plain nbgrader itself (``NEUROGRADER_PLAIN=1 nbgrader autograde``: a kernel
runs the whole notebook in order; its kernels forked from a warm interpreter,
tests/forked_kernels.py), run once over the whole corpus of correct submissions
(tests/corpus/correct.py: every style and cell layout students use). The sandboxed grader
grades the same corpus through both instructor paths, ``python -m neurograder.batch`` (what
``make grade`` runs) and ``nbgrader autograde`` with the course's nbgrader_config.py, and must
give the same score to every graded cell: full marks for every autograded point.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sharing  # noqa: E402
from attacks import corpus  # noqa: E402
from corpus import correct  # noqa: E402
from forked_kernels import FORKED_KERNELS_CFG  # noqa: E402
from kernels import ORACLE_ENV, PLAIN_WAITS_CFG  # noqa: E402
from test_grader_attacks import _copy, _pids_with  # noqa: E402

#: plain nbgrader's limit (roomy: torch and scipy imports in a loaded kernel), its kernel waits
#: in slices (tests/kernels.py: a lost wake-up would cost the whole limit), its kernels forked
#: from a warm interpreter (tests/forked_kernels.py: the corpus is honest code)
PLAIN_CFG = "c.Execute.timeout = 120\n" + PLAIN_WAITS_CFG + FORKED_KERNELS_CFG


def _cell_scores(course: Path) -> dict[str, dict[str, float]]:
    """student -> {autograded test cell: score} from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    tests = corpus.autograded_points(course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in gb.students:
            try:
                sub = gb.find_submission("module1", student.id)
            except MissingEntry:
                continue
            out[student.id] = {g.name: g.score for g in sub.notebooks[0].grades if g.name in tests}
    return out


@pytest.fixture(scope="module")
def template(tmp_path_factory, new_course):
    """A fresh course (real ``nbgrader generate_assignment``, the course's config) with the
    whole correct corpus submitted on time."""
    course = new_course(tmp_path_factory.mktemp("correct") / "template")
    base = corpus.honest_notebook(course)
    for name, entry in correct.CORRECT.items():
        corpus.write_submission(course, name, correct.apply(base, entry), timestamp=corpus.ON_TIME)
    return course


#: the oracle runs in this many parts, each one ``nbgrader autograde`` over its share of the
#: corpus in a course of its own: the parts share nothing, so tests/parallel.py hands them
#: to different workers (one run over all of it was the suite's longest step)
ORACLE_PARTS = 2
#: imports that cost a kernel seconds (torch ~3 s): entries using them are spread over the parts
SLOW_IMPORTS = ("torch", "scipy")


def _oracle_part(part: int) -> list[str]:
    """The students of the oracle's part ``part``: dealt round the parts, the entries using
    each SLOW_IMPORTS module first (in its order), then the others (each by name)."""

    def slowest_import(name: str) -> int:
        used = [k for k, module in enumerate(SLOW_IMPORTS) if module in str(correct.CORRECT[name])]
        return min(used, default=len(SLOW_IMPORTS))

    dealt = sorted(correct.CORRECT, key=lambda name: (slowest_import(name), name))
    return sorted(dealt[part::ORACLE_PARTS])


def _plain_scores(template: Path, out: Path, students: list[str]) -> dict[str, dict[str, float]]:
    """The oracle: one plain ``nbgrader autograde`` (tests/kernels.py's ``ORACLE_ENV``) over
    ``students``, in a copy of ``template`` holding only their submissions."""
    course = _copy(template, out / "course", PLAIN_CFG)
    for folder in (course / "submitted").iterdir():
        if folder.name not in students:
            shutil.rmtree(folder)
    run = corpus.nbgrader(course, "autograde", "module1", timeout=1500, **ORACLE_ENV)
    assert run.returncode == 0, run.stderr[-3000:]
    return _cell_scores(course)


def _plain_part(template: Path, tmp_path_factory, part: int) -> dict[str, dict[str, float]]:
    """The scores of the oracle's part ``part``, made once per run (shared across workers)."""
    students = _oracle_part(part)
    build = sharing.built_once(
        tmp_path_factory, f"correct-plain-{part}", lambda out: _plain_scores(template, out, students)
    )
    return build[1]


@pytest.fixture(scope="module")
def plain(template, tmp_path_factory):
    """The oracle's scores of the whole corpus: every part's (each made once per run, by
    whichever worker needs it first)."""
    return {s: c for k in range(ORACLE_PARTS) for s, c in _plain_part(template, tmp_path_factory, k).items()}


@pytest.fixture(scope="module")
def batch(template, tmp_path_factory):
    course = _copy(template, tmp_path_factory.mktemp("batch") / "course")
    run = corpus.run_batch(course, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    # (every process with the released folder bound in: fork servers, sandboxes)
    return {"scores": _cell_scores(course), "left": _pids_with(str(course / "release"))}


@pytest.fixture(scope="module")
def cli(template, tmp_path_factory):
    course = _copy(template, tmp_path_factory.mktemp("cli") / "course")
    run = corpus.nbgrader(course, "autograde", "module1", timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    return _cell_scores(course)


def _differences(ours: dict, oracle: dict) -> dict:
    """{student: {cell: (ours, plain)}} wherever the two disagree."""
    diff = {}
    for student in sorted(set(ours) | set(oracle)):
        a, b = ours.get(student, {}), oracle.get(student, {})
        cells = {c: (a.get(c), b.get(c)) for c in set(a) | set(b) if a.get(c) != b.get(c)}
        if cells:
            diff[student] = cells
    return diff


def test_corpus_covers_the_styles_and_layouts():
    """Which styles and layouts does the corpus hold? Every one the course's students use."""
    text = " ".join(correct.CORRECT)
    code = " ".join(s for e in correct.CORRECT.values() for s in e.get("cells", {}).values())
    code += " ".join(s for e in correct.CORRECT.values() for _, s in e.get("insert", []))
    for marker in (
        "while ",
        "yield",
        "nonlocal",
        "class ",
        "functools.partial",
        "@torch.no_grad()",
        "lfilter",
        "np.convolve",
        "np.apply_along_axis",
        "from math import *",
        "plt.",
        "print(",
        'np.dtype("float64")',
        "[:, k]",
    ):
        assert marker in code, marker
    for layout in (
        "everything_in_one_cell",
        "task1_cell_reused_in_task2",
        "helper_cell_added",
        "constants_computed_by_calls",
        "plot_and_print",
    ):
        assert layout in text, layout


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("part", range(ORACLE_PARTS))
def test_plain_nbgrader_gives_the_correct_corpus_full_marks(template, tmp_path_factory, part):
    """Is the corpus really correct? The oracle gives every autograded point to every entry
    (each part of the corpus: the parts together are the whole corpus)."""
    points = corpus.autograded_points(template)
    plain = _plain_part(template, tmp_path_factory, part)
    assert set(plain) == set(_oracle_part(part))
    short = {s: {c: got.get(c) for c in points if got.get(c) != points[c]} for s, got in plain.items()}
    assert {s: d for s, d in short.items() if d} == {}


def test_the_oracle_parts_are_the_whole_corpus():
    """Does the oracle grade every entry of the corpus exactly once, whatever its parts?"""
    parts = [_oracle_part(k) for k in range(ORACLE_PARTS)]
    assert sorted(s for part in parts for s in part) == sorted(correct.CORRECT)
    assert all(parts)


@pytest.mark.timeout(2400)
def test_batch_grades_every_cell_as_plain_nbgrader(batch, plain):
    """``make grade``'s path (neurograder.batch, sandbox on): identical score in every cell."""
    assert _differences(batch["scores"], plain) == {}


def test_the_batch_leaves_no_fork_server_or_sandbox_behind(batch):
    """When ``make grade`` over a class with torch students has returned, is every process it
    started with the released folder bound in gone (the workers' fork servers and the torch
    server the command itself started for the first worker)?"""
    assert any("torch" in name for name in correct.VARIANTS), "the corpus has torch students"
    assert batch["left"] == []


@pytest.mark.timeout(2400)
def test_nbgrader_autograde_with_the_course_config_grades_as_plain(cli, plain):
    """``nbgrader autograde module1`` with our config (sandbox on): identical scores."""
    assert _differences(cli, plain) == {}
