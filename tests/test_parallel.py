"""Does tests/parallel.py put tests into the xdist groups and queue order it promises?

Checked on stand-ins for collected items (the attributes ``xdist_group`` reads: the module's
path, the test's function name, its name with the parametrization, its fixtures).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace

import pytest

import parallel


def _item(module: str, function: str, case: str = "", fixtures: tuple[str, ...] = (), params: dict | None = None):
    return SimpleNamespace(
        path=Path("tests") / module,
        originalname=function,
        name=f"{function}[{case}]" if case else function,
        fixturenames=list(fixtures),
        callspec=SimpleNamespace(params=params or {}),
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


@pytest.mark.timeout(30)
def test_a_pages_readers_share_one_group_across_modules():
    """Do the tests that read a loaded page (axe, the offline check) in either colour mode go
    to one group per page, whatever their module (so the page loads once per mode), while a
    test of those modules that loads pages itself stays on its own?"""
    fixtures = ("site", parallel.PAGE_FIXTURE)
    readers = [
        _item(module, test, f"{path}-{mode}", fixtures, {"page_path": path, "mode": mode})
        for module, test in (
            ("test_site_a11y.py", "test_page_has_no_wcag_a_aa_violations"),
            ("test_site_browser.py", "test_page_renders_offline_and_clean"),
        )
        for path in ("book/intro.html", "index.html")
        for mode in ("light", "dark")
    ]
    groups = [parallel.xdist_group(item) for item in readers]
    assert sorted(set(groups)) == ["page:book/intro.html", "page:index.html"]
    assert groups.count("page:index.html") == 4
    own = _item("test_site_browser.py", "test_search_works_offline", fixtures=("site", "page"))
    assert parallel.xdist_group(own) is None  # PER_TEST
    ranks = {parallel.queue_order(item, group) for item, group in zip(readers, groups)}
    assert len(ranks) == 1 and ranks.pop() < len(parallel.SLOWEST_FIRST)
    assert not any(parallel.is_cpu_heavy(group) for group in groups)


class _Worker:
    """A stand-in for an xdist worker node: records the tests it is sent."""

    shutting_down = False

    def __init__(self):
        self.sent: list[int] = []

    def send_runtest_some(self, indices):
        self.sent.extend(indices)


def _offer(attack_tests_done: set[str], first: str | None = None, heavy_running: int = 0) -> list[str]:
    """Offer an idle worker work while another runs the attack module's group with the
    tests ``attack_tests_done`` finished (and ``heavy_running`` other workers a heavy group
    each) and a heavy group (the Dask path) waits in the queue before a light one, after the
    group ``first`` if given: the node ids it is sent."""
    attacks = "tests/test_grader_attacks.py::"
    names = [*parallel.ALONE_TESTS["test_grader_attacks.py"], "test_rerun_is_idempotent_and_force_regrades_the_same"]
    unit = {attacks + n: n in attack_tests_done for n in names}
    queue = {
        **({first: {f"tests/{first.split(':')[0]}::test_w": False}} if first else {}),
        "test_grader_dask.py": {"tests/test_grader_dask.py::test_a": False},
        "test_claims.py": {"tests/test_claims.py::test_b": False},
    }
    others = {
        _Worker(): {group: {f"tests/{group}::test_h": False}} for group in ["test_grader_batch.py"] * heavy_running
    }
    collection = [
        *unit,
        *(t for tests in queue.values() for t in tests),
        *(t for w in others.values() for u in w.values() for t in u),
    ]
    busy, idle = _Worker(), _Worker()
    scheduler = object.__new__(parallel.OneGroupAhead)
    scheduler.workqueue = OrderedDict(queue)
    scheduler.assigned_work = {busy: {"test_grader_attacks.py": unit}, idle: {}, **others}
    scheduler.registered_collections = {node: collection for node in scheduler.assigned_work}
    scheduler._assign_work_unit(idle)
    return [collection[k] for k in idle.sent]


@pytest.mark.timeout(30)
def test_heavy_groups_wait_only_for_the_attack_tests_that_need_the_machine_alone():
    """While the attack group runs a test that grades attack 41, does an idle worker get
    only light work, and once those tests are done, the waiting heavy group?"""
    alone = parallel.ALONE_TESTS["test_grader_attacks.py"]
    assert _offer(set()) == ["tests/test_claims.py::test_b"]
    assert _offer(set(alone[:-1])) == ["tests/test_claims.py::test_b"]
    assert _offer(set(alone)) == ["tests/test_grader_dask.py::test_a"]


@pytest.mark.timeout(30)
def test_waiting_groups_never_run_beside_the_attack_tests_but_take_no_cpu_slot():
    """Does a WAITING group (it grades, but mostly waits on wall-clock limits) wait while a
    test that grades attack 41 is pending, like a heavy group, and once those are done start
    even while heavy groups hold every CPU slot?"""
    alone = set(parallel.ALONE_TESTS["test_grader_attacks.py"])
    slots_full = parallel.CPU_SLOTS  # (the attack group's other tests count as heavy too)
    for group in sorted(parallel.WAITING):
        assert not parallel.is_cpu_heavy(group) and group in parallel.SLOWEST_FIRST
        module = group.split(":")[0]
        assert _offer(set(), first=group) == ["tests/test_claims.py::test_b"]
        assert _offer(alone, first=group, heavy_running=slots_full) == [f"tests/{module}::test_w"]
    assert _offer(alone, heavy_running=slots_full) == ["tests/test_claims.py::test_b"]  # (no slot for Dask)


@pytest.mark.timeout(30)
def test_the_tests_that_need_the_machine_alone_exist_and_run_first_in_their_group():
    """Is every test listed in ALONE_TESTS a test of its module (a rename would silently
    lift the rule), and does the queue's sort put them before the group's other tests?"""
    for module, names in parallel.ALONE_TESTS.items():
        source = (Path(__file__).parent / module).read_text()
        assert [n for n in names if f"\ndef {n}(" not in source] == [], module
        tests = [_item(module, n) for n in ("test_corpus_has_every_attack_of_the_issue", *reversed(names))]
        ordered = sorted(tests, key=lambda i: (parallel.queue_order(i, module), parallel.order_in_group(i)))
        assert [i.name for i in ordered] == [*reversed(names), "test_corpus_has_every_attack_of_the_issue"]
