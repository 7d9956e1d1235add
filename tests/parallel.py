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
    # the plain-nbgrader oracle runs and round 2 each on a worker of its own; `ours` (the
    # graded corpus all of them compare with) is built once per run
    "test_grader_attacks.py": ("round2_cli", "plain_stopped", "plain"),
    # our two grading paths next to the oracle (built once per run)
    "test_grader_correct.py": ("batch", "cli"),
    # the Tab walk of the chapter (once per colour mode); its page-by-page checks: PER_TEST
    "test_site_a11y.py": ("chapter_walk",),
}
#: modules whose tests share nothing costly (a notebook run or a page each; chromium is one
#: per worker anyway): each test not in a SPLIT_BY_FIXTURE group is handed out on its own
PER_TEST: frozenset[str] = frozenset({
    "test_notebook_journey.py", "test_site_browser.py", "test_site_a11y.py",
    "test_sliders_browser.py"})
#: groups measured slowest (module file names or ``<module>:<fixture>``), queued in this order
#: before all others; re-measure with ``pytest --durations=0`` when the suite changes
SLOWEST_FIRST: tuple[str, ...] = ()


def xdist_group(item) -> str | None:
    """The xdist group of a collected test (None: scheduled on its own)."""
    module = item.path.name
    for fixture in SPLIT_BY_FIXTURE.get(module, ()):
        if fixture in item.fixturenames:
            return f"{module}:{fixture}"
    return None if module in PER_TEST else module


def queue_order(group: str | None) -> int:
    """Sort key of a group in the queue: the slowest first, the rest after them."""
    return SLOWEST_FIRST.index(group) if group in SLOWEST_FIRST else len(SLOWEST_FIRST)


def write_groups(run_temp: Path, items) -> dict:
    """Write {nodeid: group} of the collected ``items`` for the scheduler; return it."""
    groups = {item.nodeid: xdist_group(item) for item in items}
    part = run_temp / f"{GROUPS_FILE}.{os.getpid()}"
    part.write_text(json.dumps(groups))
    part.replace(run_temp / GROUPS_FILE)       # every worker writes the same: last one stays
    return groups


def read_groups(run_temp: Path) -> dict:
    """The groups the workers wrote ({} when none did, e.g. no test was collected)."""
    path = run_temp / GROUPS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


class OneGroupAhead(LoadGroupScheduling):
    """xdist's loadgroup, but a worker is sent its next group only when at most one of its
    tests is pending (xdist's default: at most two). A worker always holds back its last
    test until it knows the next one (pytest needs the next item to tear down fixtures), so
    one is the least that keeps it running; with two, a worker finishing a two-test group
    would take the next slow group although an idle worker could start it right away."""

    #: a worker with this many pending tests or fewer gets its next group
    LOW_WATERMARK = 1

    def __init__(self, config, log=None):
        super().__init__(config, log)
        self._run_temp = config._tmp_path_factory.getbasetemp()
        self._groups: dict | None = None

    def _split_scope(self, nodeid: str) -> str:
        """The work unit of a test: its group (a test of no group is a unit of its own)."""
        if self._groups is None:            # first called once every worker has collected
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
