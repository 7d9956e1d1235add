"""Does a process of the sandbox fork with its heap frozen for the garbage collector
(neurograder.inside.privileges.fork_frozen), so that collections in the child neither walk
nor copy the heap it inherited, while a parent that goes on running student code keeps its
garbage collectable?

Checked against CPython's own record of frozen objects (``gc.get_freeze_count``) and its
collector's verdict on a cycle made before the fork.
"""

from __future__ import annotations

import gc
import json
import os

import pytest

from neurograder.inside import privileges

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def thawed():
    """Each test starts and ends with nothing frozen in the test process."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def _in_child(report) -> dict:
    """Fork with ``fork_frozen`` (parent thawed afterwards); ``report()`` runs in the child and
    its JSON comes back; the parent's freeze count after the fork is added."""
    r, w = os.pipe()
    pid = privileges.fork_frozen(thaw_parent=True)
    if pid == 0:
        try:
            os.write(w, json.dumps(report()).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        data = json.loads(fh.read() or b"{}")
    os.waitpid(pid, 0)
    data["parent_frozen_after"] = gc.get_freeze_count()
    return data


def test_the_child_inherits_a_frozen_heap_and_the_thawed_parent_none():
    """The child's inherited objects are all in the permanent generation (none left for its
    collections to walk); the parent (thaw_parent) has none frozen after the fork."""
    kept = [{"n": i} for i in range(1000)]  # objects alive at the fork
    data = _in_child(lambda: {"frozen": gc.get_freeze_count(), "young": sum(gc.get_count())})
    assert data["frozen"] >= len(kept)
    assert data["parent_frozen_after"] == 0


def test_a_thawed_parent_still_collects_a_cycle_made_before_the_fork():
    """Student code's garbage in the loader stays collectable: a reference cycle alive at the
    fork and dropped after it is collected in the parent."""

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    _in_child(lambda: {})
    del a, b
    assert gc.collect() >= 2


def test_a_parent_that_keeps_its_heap_frozen_has_it_frozen():
    """Without thaw_parent (a trusted process that only forks and waits) the parent's objects
    stay in the permanent generation."""
    pid = privileges.fork_frozen()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    assert gc.get_freeze_count() > 0


def test_a_fork_that_fails_leaves_a_thawed_parent_thawed(monkeypatch):
    """A fork refused by the kernel (EAGAIN: the student's process limit) raises as os.fork
    does, and the parent that asked for thaw_parent has nothing frozen."""

    def refuse():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refuse)
    with pytest.raises(BlockingIOError):
        privileges.fork_frozen(thaw_parent=True)
    assert gc.get_freeze_count() == 0
