"""Does a grading worker's autograde leave out nbgrader's INFO lines (whose text, e.g. a
submission's repr, costs gradebook queries) while keeping its warnings and errors?"""

from __future__ import annotations

import logging

import pytest

from neurograder import worker


class _Costly:
    """A log argument that records whether its text was ever made."""

    made = 0

    def __str__(self):
        type(self).made += 1
        return "costly"


@pytest.mark.timeout(30)
def test_info_lines_are_never_formatted_and_warnings_still_logged():
    """Inside ``log_level(log, AUTOGRADE_LOG_LEVEL)``: an INFO line's arguments are never
    turned into text, a warning reaches the log's handlers, and the log's own level is back
    afterwards (also after an error)."""
    log = logging.getLogger("test_grader_worker_log")
    log.setLevel(logging.INFO)
    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    log.addHandler(handler)
    try:
        with pytest.raises(RuntimeError):
            with worker.log_level(log, worker.AUTOGRADE_LOG_LEVEL):
                log.info("%s submitted", _Costly())
                log.warning("cell %s was missing", "t1")
                raise RuntimeError("autograde failed")
        assert _Costly.made == 0 and seen == ["cell t1 was missing"]
        assert log.level == logging.INFO
        log.info("%s after", _Costly())
        assert _Costly.made > 0  # (every handler up to the root formats it)
    finally:
        log.removeHandler(handler)


@pytest.mark.timeout(30)
def test_a_log_set_stricter_stays_as_strict():
    """A log already set to errors only is not made more talkative by the worker."""
    log = logging.getLogger("test_grader_worker_log.strict")
    log.setLevel(logging.ERROR)
    with worker.log_level(log, worker.AUTOGRADE_LOG_LEVEL):
        assert not log.isEnabledFor(logging.WARNING)
    assert log.level == logging.ERROR
