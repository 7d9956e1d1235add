"""Does a check start inside the sandbox when the processes the previous check left are still
being collected (neurograder.inside.privileges.fork_when_possible)?

Killed processes count against the student's RLIMIT_NPROC until the sandbox's init collects
them; on a loaded machine that lags, and a check forked at once failed with EAGAIN (seen with
attack 41's 30 busy processes). These tests drive the retry with a stand-in ``fork`` (a real
EAGAIN needs the whole sandbox: tests/test_grader_attacks.py grades attack 41 end to end).
"""

from __future__ import annotations

import errno

import pytest

from neurograder.inside.privileges import fork_when_possible


def _fork_failing(times: int):
    calls = {"fork": 0}

    def fork():
        calls["fork"] += 1
        if calls["fork"] <= times:
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        return 4242

    return fork, calls


@pytest.mark.timeout(30)
def test_a_fork_that_finds_no_room_is_retried_after_making_room():
    """Question: after three EAGAINs, does the check start, with room made before each retry?"""
    fork, calls = _fork_failing(3)
    rooms = []
    assert fork_when_possible(lambda: rooms.append(1), within=5.0, fork=fork) == 4242
    assert calls["fork"] == 4 and len(rooms) == 3


@pytest.mark.timeout(30)
def test_no_room_for_good_fails_after_the_bound():
    """Question: when the processes never go, does it give up (EAGAIN raised) within its bound?"""
    import time

    fork, calls = _fork_failing(10**9)
    started = time.monotonic()
    with pytest.raises(BlockingIOError):
        fork_when_possible(lambda: None, within=0.3, fork=fork)
    assert 0.3 <= time.monotonic() - started < 2.0
    assert calls["fork"] >= 2


@pytest.mark.timeout(30)
def test_other_fork_errors_are_not_retried():
    """Question: is an error other than EAGAIN (e.g. out of memory) reported at once?"""
    calls = {"fork": 0}

    def fork():
        calls["fork"] += 1
        raise OSError(errno.ENOMEM, "Cannot allocate memory")

    with pytest.raises(OSError):
        fork_when_possible(lambda: None, within=5.0, fork=fork)
    assert calls["fork"] == 1
