"""How the suite is spread over pytest-xdist workers (used by tests/conftest.py's hooks).

``-n`` and ``--dist loadgroup`` are set in pyproject.toml. Every test gets a group
(:func:`xdist_group`): by default its module, so a module runs on one worker and its module
fixtures are made once; ``SPLIT_BY_FIXTURE`` splits a slow module by the costly fixture its
tests use (those fixtures are built once per run across workers: tests/sharing.py), and
``PER_TEST`` modules hand out each test alone. Groups are queued slowest first
(``SLOWEST_FIRST``, then collection order), and :class:`OneGroupAhead` gives a worker its next
group only when it is about to run out, so no long group waits behind another on a busy
worker while an idle one has nothing.

Why not xdist's ``xdist_group`` mark: pytest-xdist 3.8 adds the group to ``item._nodeid``,
which pytest 9 no longer reads (``nodeid`` comes from ``item._id``), so the mark groups
nothing. Instead each worker writes the groups of its collection to a file in the run's
shared temp folder (:func:`write_groups`; all workers collect the same tests) and the
scheduler, which runs after every worker has collected, reads it (:func:`read_groups`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from xdist.scheduler import LoadGroupScheduling

#: the groups of the run's collection, {nodeid: group}, in the run's shared temp folder
GROUPS_FILE = "xdist-groups.json"

#: module -> fixtures: a test goes to the group ``<module>:<fixture>`` of the first listed
#: fixture it uses, the module's other tests to the module's group
SPLIT_BY_FIXTURE: dict[str, tuple[str, ...]] = {
    # the plain-nbgrader oracle runs each on a worker of its own; `ours` (the graded corpus
    # they compare with) is built once per run. Round 2 stays with the module: it asserts
    # that no attack process is left, and the module's forced regrade of the corpus starts
    # one (inside its sandbox) for a moment.
    "test_grader_attacks.py": ("plain_stopped", "plain"),
    # our two grading paths next to the oracle (built once per run)
    "test_grader_correct.py": ("batch", "cli"),
    # the Tab walk of the chapter (once per colour mode); its page-by-page checks: PER_TEST
    "test_site_a11y.py": ("chapter_walk",),
}
#: module -> tests (function names) that each form a group of their own (a parametrized one:
#: each of its cases): slow tests of a split module that need no fixture of another group
#: except the ones built once per run
ALONE: dict[str, tuple[str, ...]] = {
    # feedback for the graded corpus, an interrupted batch, `nbgrader autograde` through the
    # sandbox: minutes each, beside the module's group (our batch on the corpus, round 2)
    "test_grader_attacks.py": (
        "test_feedback_shows_results_and_plots_but_no_hidden_tests",
        "test_interrupted_batch_resumes_where_it_stopped",
        "test_nbgrader_autograde_cli_uses_the_sandbox",
    ),
    # the parts of plain nbgrader's run over the correct corpus, each built once per run and
    # read by the module's groups that compare with it
    "test_grader_correct.py": ("test_plain_nbgrader_gives_the_correct_corpus_full_marks",),
}
#: tests using this fixture (conftest.py: a built page loaded once per worker) with a
#: ``page_path`` parameter go to that page's group, whatever their module, so each page is
#: loaded once per colour mode for all its readers (axe, the offline and rendering checks)
PAGE_FIXTURE = "loaded_pages"
#: the group name of a page's readers: this prefix and the page's path
PAGE_GROUP = "page:"
#: modules whose tests share nothing costly (a notebook run or a page each; chromium is one
#: per worker anyway): each test not in a SPLIT_BY_FIXTURE group is handed out on its own
PER_TEST: frozenset[str] = frozenset({"test_notebook_journey.py", "test_site_browser.py", "test_site_a11y.py"})
#: groups measured slowest (module file names or ``<module>:<fixture>``; a PER_TEST module's
#: name ranks each of its tests; ``page:`` every page's readers), queued in this order before
#: all others. On the 2-core machine a group's time is its CPU seconds, so they are ranked by
#: those: CPU seconds of the test processes, the children they reaped and their live
#: descendants (chromium), set-up included, from a whole run with ``NEUROGRADER_TEST_CPU=1``
#: (tests/cpu.py; 2026-11-30, CPU s and wall s in the comments, a loaded machine). The
#: CPU_ALONE group goes first: until its ALONE_TESTS are done no other heavy group may run,
#: and the light groups (browsers, servers) fill the other workers meanwhile; the heavy
#: groups that wait longest on wall-clock time follow, so they start as soon as they may.
#: Re-measure when the suite changes.
SLOWEST_FIRST: tuple[str, ...] = (
    "test_grader_attacks.py",  # 28 CPU s (plus its sandboxes'), 208 s: our batch on the corpus, round 2 (CPU_ALONE)
    "test_grader_dask.py",  # 53 CPU s, 374 s: the 30 benchmark notebooks, local + LocalCluster
    "test_grader_correct.py::test_plain_nbgrader_gives_the_correct_corpus_full_marks",  # 45 + 56, 243 + 211 s
    "test_term_journey.py",  # 85, 271 s: an instructor's term, make commands + formgrader
    "test_grader_attacks.py:plain",  # 68, 208 s: plain nbgrader on the corpus
    # (waiting groups, not CPU_HEAVY: started early, they wait beside the heavy ones)
    "test_grader_render.py",  # 11, 61 s: a hanging student's plotting cell cut at 15 s, twice
    "test_grader_attacks.py:plain_stopped",  # 6, 43 s: 30 s of each stopped run seen idle
    "test_site_a11y.py:chapter_walk",  # 87 (82 of it chromium), 156 s: two Tab walks with screenshots
    "test_grader_html_safety.py",  # 74 (55 chromium), 67 s
    "test_notebooks_build.py",  # 25, 133 s: the notebook build, again and again
    "page:",  # 6-16 each (chromium): a page's axe, offline and rendering checks, light and dark
    "test_sliders_browser.py",  # 31 (29 chromium), 77 s
    "test_chapter_grading.py",  # 30, 75 s: nbgrader validate / autograde round trip
    "test_grader_attacks.py::test_feedback_shows_results_and_plots_but_no_hidden_tests",  # 30, 45 s
    "test_sliders_lab.py",  # 20, 24 s: JupyterLab started
    "test_chapter_extra_credit.py",  # 17, 18 s: two autogrades and a feedback
    "test_grader_independent.py",  # 16, 47 s: the wrong-function corpus graded twice
    "test_grader_batch.py",  # 16, 41 s
    "test_module_pipeline.py",  # 14, 19 s: a second module through site, release, autograde
    "test_grader_export.py",  # 14, 48 s: builds the graded class others wait for
    "test_notebook_journey.py",  # 13, 24 s: five Run-Alls of the student notebook
    "test_site_browser.py",  # 12: the theme button, the search, the sliders
    "test_grader_lms.py",  # 11, 13 s
    "test_similarity_browser.py",  # 11, 39 s
    "test_grader_correct.py:cli",  # 8, 31 s
    "test_grader_attacks.py::test_interrupted_batch_resumes_where_it_stopped",  # 8, 15 s
    "test_kernels.py",  # 8, 34 s
    "test_grader_checks.py",  # 8, 81 s
    "test_sliders_frames.py",  # 8, 34 s: slider frames drawn in the test process
    "test_grader_hand_grades.py",  # 7, 14 s
    "test_grader_correct.py:batch",  # 6, 19 s
    "test_site_build.py",  # 5 s, but a whole book build's wall time
    "test_grader_attacks.py::test_nbgrader_autograde_cli_uses_the_sandbox",
    "test_grader_report.py",
    "test_grader_sandbox.py",
    "test_grader_batch_bounds.py",
)

#: groups (or PER_TEST modules) that keep a core busy for long: grading many notebooks,
#: running a notebook or building the book. At most CPU_SLOTS of them run at once, so they
#: run at the speed of a quiet core (the sandbox's per-check time limits are wall-clock) while
#: the other workers wait on browsers, servers and subprocesses.
CPU_HEAVY: frozenset[str] = frozenset(
    {
        "test_grader_correct.py",
        "test_grader_correct.py:batch",
        "test_grader_correct.py:cli",
        "test_grader_attacks.py",
        "test_grader_attacks.py:plain",
        "test_grader_batch.py",
        "test_grader_html_safety.py",
        "test_grader_hand_grades.py",
        "test_grader_lms.py",
        "test_chapter_grading.py",
        "test_chapter_extra_credit.py",
        "test_notebook_journey.py",
        "test_grader_dask.py",
        "test_term_journey.py",
        "test_grader_independent.py",
        "test_module_pipeline.py",
        "test_notebooks_build.py",
        # (test_site_build.py is not: its book build reuses the execution cache, 5 s of CPU;
        # nor test_sliders_drive.py: one kernel grades every widget case in ~5 s of CPU; nor
        # the WAITING groups)
    }
)
#: groups that grade (so they never run beside a CPU_ALONE group's ALONE_TESTS) but mostly
#: wait on wall-clock limits, so they are not CPU_HEAVY: as heavy groups they held a CPU
#: slot while the machine idled at half its cores for a minute (test_grader_render.py: 11
#: CPU s in 61 s, a hanging student's plotting cell cut at 15 s twice;
#: test_grader_attacks.py:plain_stopped: 6 in 43 s, each stopped run watched idle for 30 s)
WAITING: frozenset[str] = frozenset({"test_grader_render.py", "test_grader_attacks.py:plain_stopped"})
#: CPU-heavy groups running at the same time, on different workers (the machine's cores)
CPU_SLOTS = os.cpu_count() or 2
#: CPU-heavy groups that run while no other CPU-heavy group does: they grade attack 41 (eight
#: busy processes share the sandbox's one core with the checks, under a wall-clock budget),
#: which loses checks when another grading run competes for the machine's cores
CPU_ALONE: frozenset[str] = frozenset({"test_grader_attacks.py"})
#: CPU_ALONE group -> its tests that grade attack 41: the first to use our batch's graded
#: corpus (built there) and round 2 through `nbgrader autograde` (its checks that nothing is
#: left behind run right after it, before any other grading of attacks may start). They run
#: first in their group; once they are done the group counts as an ordinary heavy one, so
#: another heavy group starts beside its other tests (a rerun that skips the class and
#: regrades one honest student, an export).
ALONE_TESTS: dict[str, tuple[str, ...]] = {
    "test_grader_attacks.py": (
        "test_batch_finishes_and_reports_every_student",
        "test_round2_attacks_gain_nothing_through_nbgrader_autograde",
        "test_round2_peak_memory_stays_under_2_gb",
        "test_round2_leaves_no_note_no_process_and_no_copy",
    ),
}


def xdist_group(item) -> str | None:
    """The xdist group of a collected test (None: scheduled on its own)."""
    module = item.path.name
    if item.originalname in ALONE.get(module, ()):
        return f"{module}::{item.name}"
    params = getattr(getattr(item, "callspec", None), "params", {})
    if PAGE_FIXTURE in item.fixturenames and "page_path" in params:
        return PAGE_GROUP + params["page_path"]
    for fixture in SPLIT_BY_FIXTURE.get(module, ()):
        if fixture in item.fixturenames:
            return f"{module}:{fixture}"
    return None if module in PER_TEST else module


def queue_order(item, group: str | None) -> int:
    """Sort key of a test in the queue: the slowest groups first, the rest after them."""
    name = (group or item.path.name).split("[")[0]  # a parametrized ALONE test: every case
    name = PAGE_GROUP if name.startswith(PAGE_GROUP) else name  # every page's readers
    return SLOWEST_FIRST.index(name) if name in SLOWEST_FIRST else len(SLOWEST_FIRST)


def order_in_group(item) -> int:
    """Second sort key of a test in the queue: a CPU_ALONE group's ALONE_TESTS before its
    other tests (collection order otherwise)."""
    return 0 if item.originalname in ALONE_TESTS.get(item.path.name, ()) else 1


def needs_alone(nodeid: str) -> bool:
    """Is this test (by node id) one of the ALONE_TESTS?"""
    path, _, name = nodeid.partition("::")
    return name.split("[")[0] in ALONE_TESTS.get(path.rsplit("/", 1)[-1], ())


def write_groups(run_temp: Path, items) -> dict:
    """Write {nodeid: group} of the collected ``items`` for the scheduler; return it."""
    groups = {item.nodeid: xdist_group(item) for item in items}
    part = run_temp / f"{GROUPS_FILE}.{os.getpid()}"
    part.write_text(json.dumps(groups))
    part.replace(run_temp / GROUPS_FILE)  # every worker writes the same: last one stays
    return groups


def read_groups(run_temp: Path) -> dict:
    """The groups the workers wrote ({} when none did, e.g. no test was collected)."""
    path = run_temp / GROUPS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def is_cpu_heavy(scope: str) -> bool:
    """Is this work unit CPU_HEAVY? (a group, an ALONE test's group or the node id of a test
    scheduled alone: the latter two by their module)"""
    return scope in CPU_HEAVY or scope.split("::")[0].rsplit("/", 1)[-1] in CPU_HEAVY


class OneGroupAhead(LoadGroupScheduling):
    """xdist's loadgroup, with two changes.

    A worker is sent its next group only when at most one of its tests is pending (xdist's
    default: at most two). A worker always holds back its last test until it knows the next
    one (pytest needs the next item to tear down fixtures), so one is the least that keeps it
    running; with two, a worker finishing a two-test group would take the next slow group
    although an idle worker could start it right away.

    A worker gets the first queued group it may run: a CPU_HEAVY one only while fewer than
    CPU_SLOTS other workers have one and no CPU_ALONE one waits in the queue or runs one of
    its ALONE_TESTS (that one starts as soon as no other worker has a heavy group). Otherwise it waits (idle) until any test
    finishes, when every worker is offered work again. A worker's own unfinished groups do not
    count (its held-back last test runs before the next group), so a worker holding the only
    heavy groups may always take the next one: no deadlock.
    """

    #: a worker with this many pending tests or fewer gets its next group
    LOW_WATERMARK = 1

    def __init__(self, config, log=None):
        super().__init__(config, log)
        self._run_temp = config._tmp_path_factory.getbasetemp()
        self._groups: dict | None = None

    def _split_scope(self, nodeid: str) -> str:
        """The work unit of a test: its group (a test of no group is a unit of its own)."""
        if self._groups is None:  # first called once every worker has collected
            self._groups = read_groups(self._run_temp)
        return self._groups.get(nodeid) or nodeid

    def _reschedule(self, node) -> None:
        if node.shutting_down:
            return
        if not self.workqueue:
            node.shutdown()
            return
        if self._pending_of(self.assigned_work[node]) > self.LOW_WATERMARK:
            return
        self._assign_work_unit(node)

    def _heavy_elsewhere(self, node, kind=is_cpu_heavy, pending=lambda nodeid: True) -> int:
        """Workers other than ``node`` with a group of ``kind`` that still has a ``pending``
        test not finished."""
        return sum(
            any(
                kind(scope) and any(pending(t) and not done for t, done in unit.items()) for scope, unit in work.items()
            )
            for other, work in self.assigned_work.items()
            if other is not node
        )

    def _assign_work_unit(self, node) -> None:
        """Send ``node`` the first queued group it may run now (none: it waits)."""
        heavy = self._heavy_elsewhere(node)
        alone = self._heavy_elsewhere(node, CPU_ALONE.__contains__, needs_alone)
        alone_queued = any(s in CPU_ALONE for s in self.workqueue)

        def may_run(scope: str) -> bool:
            if scope in WAITING:  # (never beside the ALONE_TESTS, as a heavy group)
                return not alone and not alone_queued
            if not is_cpu_heavy(scope):
                return True
            if scope in CPU_ALONE:
                return not heavy
            # no new heavy group while an alone one waits: it starts as soon as they finish
            return not alone and not alone_queued and heavy < CPU_SLOTS

        scope = next((s for s in self.workqueue if may_run(s)), None)
        if scope is None:
            return
        work_unit = self.workqueue.pop(scope)
        self.assigned_work.setdefault(node, {})[scope] = work_unit
        collection = self.registered_collections[node]
        node.send_runtest_some([collection.index(nodeid) for nodeid, done in work_unit.items() if not done])

    def mark_test_complete(self, node, item_index: int, duration: float = 0) -> None:
        """A finished test may free a CPU slot: offer work to every worker, not only its own."""
        super().mark_test_complete(node, item_index, duration)
        for other in self.nodes:
            if other is not node:
                self._reschedule(other)
