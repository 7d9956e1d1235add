"""The class of the instructor's-term test (tests/test_term_journey.py): who is on the roster,
what each student hands in, and what each deserves, reasoned from the assignment as students
see it (points in the released notebook, extra credit announced in its text), from which
cells each student's code fails (by construction of their notebooks) and from the README's
late policy written out; never from the grader's code.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import nbformat
import pytest

import term
from attacks import corpus

#: Canvas user id -> (first name, last name); 106 never hands anything in
ROSTER = {
    "101": ("Ada", "Honest"),
    "102": ("Ben", "Wrong"),
    "103": ("Cy", "Late"),
    "104": ("Dee", "Extended"),
    "105": ("Eve", "Resubmits"),
    "106": ("Fay", "Missing"),
}
LMS_STUDENTS = ("101", "102", "105")  # in the Canvas download
HUB_STUDENTS = ("103", "104")  # submitted late on the hub (nbgrader exchange)
#: how late the hub students hand in after the due date, and Dee's extension (days)
LATE_BY = dt.timedelta(days=1, hours=21, minutes=30)
EXTENSION_DAYS = {"104": 1}
PERCENT_PER_DAY, MAX_PERCENT, GRACE_S = 10.0, 50.0, 15 * 60  # the README's late policy

#: a wrong Task 4.1 function: no leak at all (nothing later calls it)
NO_LEAK_SURFACE = """def li_time_surface(raster, tau):
    return np.asarray(raster, dtype=float).copy()
"""
ANSWERS = {
    "task4_vmax_answer": "vmax sets the brightest colour: a larger vmax darkens the plot.",
    "task41_answer": "Each pixel shows how recently that channel spiked; it fades with tau.",
    "task42_answer": "The LIF surface marks where a channel was busy enough to fire.",
}
EVE_FIRST = "The surface is bright where there were spikes."
EVE_SECOND = "A larger tau makes the surface fade more slowly after each spike, so older spikes count."
#: the hand grade given in formgrader
HAND_CELL, HAND_SCORE, HAND_COMMENT = "task41_answer", 1.5, "Right idea; say what tau does."
#: autograded cells each student's code fails (everything else is the reference solution)
FAILS = {
    "101": set(),
    "102": {"task3_cosine_signal", "task41_li_surface_visible", "task41_li_surface_hidden"},
    "103": set(),
    "104": set(),
    "105": {"task3_cosine_signal"},
}
#: a file of the download that is not a notebook
STRAY = term.canvas_name("honestada", "101", 9101, "notes.txt")
PROSE = "A filter lets some signals through and stops others."
PROSE_EDITED = PROSE.replace("stops", "blocks")


def release_nb(t):
    return nbformat.read(t.course / "release" / term.ASSIGNMENT / "neurons.ipynb", as_version=4)


def assignment_points(t) -> dict:
    """From the released notebook, as students see it: autograded cell -> points, hand-graded
    answer -> points, and the extra credit an optional check announces."""
    auto, hand, extra = {}, {}, {}
    for cell in release_nb(t).cells:
        md = cell.metadata.get("nbgrader", {})
        if not md.get("grade"):
            continue
        if md.get("solution"):
            hand[md["grade_id"]] = float(md["points"])
        else:
            auto[md["grade_id"]] = float(md["points"])
            m = re.search(r"\((\d+) extra-credit points?\)", cell.source)
            if m:
                extra[md["grade_id"]] = float(m[1])
    return auto, hand, extra


def expected_auto(t, sid: str, fails=None) -> dict:
    """grade_id -> (points earned, extra credit) for the autograded cells."""
    auto, _, extra = assignment_points(t)
    fails = t.fails[sid] if fails is None else fails
    return {
        gid: (0.0 if gid in fails else pts, (0.0 if gid in fails else extra[gid]) if gid in extra else None)
        for gid, pts in auto.items()
    }


def penalty_fraction(late_s: float) -> float:
    """The README's policy, written out: 10 % per started day, at most 50 %, 15 min grace."""
    if late_s <= GRACE_S:
        return 0.0
    return min(MAX_PERCENT, PERCENT_PER_DAY * math.ceil(late_s / 86400)) / 100


def submission(t, sid: str, fails: set[str], answers: dict) -> nbformat.NotebookNode:
    """The released notebook filled in: reference code except the failing cells, answers."""
    nb = corpus.honest_notebook(t.course)
    if "task3_cosine_signal" in fails:
        corpus.set_cell(nb, "task3_cosine_signal_solution", corpus.WRONG_COSINE)
    if "task41_li_surface_hidden" in fails:
        corpus.set_cell(nb, "task41_li_surface_solution", NO_LEAK_SURFACE)
    for gid, text in answers.items():
        corpus.set_cell(nb, gid, text)
    return nb


def hub_student(t, sid: str) -> list[str]:
    """nbgrader options of a student on the hub: who, which course, the exchange, and their
    own submission cache (in the course copy, not this machine's home)."""
    return [
        f"--student={sid}",
        f"--course={term.COURSE_ID}",
        f"--Exchange.root={t.course / 'exchange'}",
        f"--Exchange.cache={t.root / 'home' / sid / '.nbgrader_cache'}",
    ]


def canvas_file(sid: str, resubmission: int = 0) -> str:
    first, last = ROSTER[sid]
    return term.canvas_name(
        f"{last}{first}".lower(), sid, 9000 + int(sid) + 100 * resubmission, "neurons.ipynb", resubmission
    )


def expected_late_seconds(t, sid: str) -> float:
    return max(0.0, t.seen.get(f"late_{sid}", 0.0) - EXTENSION_DAYS.get(sid, 0) * 86400)


def assert_graded(t, state: dict, sid: str, fails=None, hand=None):
    """Every autograded cell, every answer's flag, the total and the late penalty of ``sid``
    as a person reads them in the gradebook. ``hand``: answers graded by hand {gid: score}."""
    _, hand_points, _ = assignment_points(t)
    hand = hand or {}
    got = state[sid]
    assert got is not None, f"{sid} has no submission in the gradebook"
    for gid, (points, extra) in expected_auto(t, sid, fails).items():
        cell = got["cells"][gid]
        assert (cell["auto"], cell["extra"]) == (points, extra), (sid, gid, cell)
    for gid in hand_points:
        cell = got["cells"][gid]
        if gid in hand:
            assert (cell["manual"], cell["flagged"]) == (hand[gid], False), (sid, gid, cell)
        elif gid in ANSWERS:  # written, not graded yet: flagged, no score
            assert (cell["manual"], cell["flagged"]) == (None, True), (sid, gid, cell)
    raw = sum(p + (e or 0.0) for p, e in expected_auto(t, sid, fails).values()) + sum(hand.values())
    assert got["score"] == pytest.approx(raw), sid
    assert got["max"] == pytest.approx(sum(assignment_points(t)[0].values()) + sum(hand_points.values()))
    late = expected_late_seconds(t, sid)
    assert (got["late"] or 0.0) == pytest.approx(late, abs=1.0), sid
    assert got["penalty"] == pytest.approx(penalty_fraction(late) * raw), sid
    return raw
