"""Does tests/parallel.py put tests into the xdist groups and queue order it promises?

Checked on stand-ins for collected items (the attributes ``xdist_group`` reads: the module's
path, the test's function name, its name with the parametrization, its fixtures).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import parallel


def _item(module: str, function: str, case: str = "", fixtures: tuple[str, ...] = ()):
    return SimpleNamespace(
        path=Path("tests") / module,
        originalname=function,
        name=f"{function}[{case}]" if case else function,
        fixturenames=list(fixtures),
    )


@pytest.mark.timeout(30)
def test_each_case_of_a_parametrized_alone_test_is_a_group_of_its_own():
    """Do the parts of plain nbgrader's run over the correct corpus go to different groups
    (so to different workers), ranked where the test is ranked, and count as CPU-heavy?"""
    test = "test_plain_nbgrader_gives_the_correct_corpus_full_marks"
    cases = [_item("test_grader_correct.py", test, case) for case in ("0", "1")]
    groups = [parallel.xdist_group(item) for item in cases]
    assert groups == [f"test_grader_correct.py::{test}[0]", f"test_grader_correct.py::{test}[1]"]
    rank = parallel.SLOWEST_FIRST.index(f"test_grader_correct.py::{test}")
    assert [parallel.queue_order(item, group) for item, group in zip(cases, groups)] == [rank, rank]
    assert all(parallel.is_cpu_heavy(group) for group in groups)


@pytest.mark.timeout(30)
def test_groups_of_unparametrized_and_split_tests_are_unchanged():
    """Does an unparametrized ALONE test keep its function's group, a test using a split
    fixture its fixture's group, and any other test its module's?"""
    alone = "test_interrupted_batch_resumes_where_it_stopped"
    assert parallel.xdist_group(_item("test_grader_attacks.py", alone)) == f"test_grader_attacks.py::{alone}"
    batch = _item("test_grader_correct.py", "test_batch_grades_every_cell_as_plain_nbgrader", fixtures=("batch",))
    assert parallel.xdist_group(batch) == "test_grader_correct.py:batch"
    other = _item("test_grader_correct.py", "test_corpus_covers_the_styles_and_layouts")
    assert parallel.xdist_group(other) == "test_grader_correct.py"
    assert parallel.xdist_group(_item("test_site_browser.py", "test_x")) is None  # PER_TEST
