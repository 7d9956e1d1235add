"""Screening of one submission folder before grading, and the zero grade of a refused one.

Every check here reads the student's files with lstat semantics and never raises: whatever is
wrong (a link, a pipe, not JSON, not a notebook, too big, nbgrader metadata of the wrong type)
becomes a verdict with its reason, so one odd folder never stops the class.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

#: file in ``autograded/<student>/<assignment>/`` recording a student's last grading (its
#: fingerprint and timings; :mod:`neurograder.worker` writes it last)
MARKER = ".neurograder.json"
#: largest submitted notebook read (bytes); a bigger file is reported, never parsed
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
#: longest grade_id accepted in a submitted cell's nbgrader metadata
MAX_GRADE_ID = 200
#: nbgrader metadata keys whose value must be a boolean / a number / a string
BOOL_KEYS = ("grade", "solution", "locked", "task")
NUMBER_KEYS = ("points",)
STRING_KEYS = ("grade_id", "checksum", "cell_type")


def metadata_problem(nb) -> str | None:
    """Why a (schema-valid) notebook's nbgrader cell metadata cannot be graded, or None."""
    for no, cell in enumerate(nb.cells, 1):
        md = cell.get("metadata", {})
        if not isinstance(md, dict):
            return f"cell {no}: metadata is not a mapping"
        if "nbgrader" not in md:
            continue
        meta = md["nbgrader"]
        if not isinstance(meta, dict):
            return f"cell {no}: nbgrader metadata is {type(meta).__name__}, not a mapping"
        for key in STRING_KEYS:
            if key in meta and not isinstance(meta[key], str):
                return f"cell {no}: nbgrader {key} is {type(meta[key]).__name__}, not text"
        if len(meta.get("grade_id", "")) > MAX_GRADE_ID:
            return f"cell {no}: nbgrader grade_id longer than {MAX_GRADE_ID} characters"
        for key in BOOL_KEYS:
            if key in meta and not isinstance(meta[key], bool):
                return f"cell {no}: nbgrader {key} is {type(meta[key]).__name__}, not true/false"
        for key in NUMBER_KEYS:
            if key in meta and (isinstance(meta[key], bool) or not isinstance(meta[key], (int, float))):
                return f"cell {no}: nbgrader {key} is {type(meta[key]).__name__}, not a number"
    return None


def check_notebook(path: Path, source_ids: set[str], parsed: dict | None = None) -> tuple[str, str]:
    """('ok'|'corrupted'|'foreign'|'missing', message) for one submitted notebook; a notebook
    read and valid is also put in ``parsed`` (path -> notebook), when given.

    Never raises: whatever is wrong with the file (not JSON, not a notebook, too big, odd
    nbgrader metadata, not a plain file) is the message of a 'corrupted' verdict.
    """
    import nbformat

    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "missing", f"no {path.name} in the submission"
    except OSError as exc:
        return "corrupted", f"{path.name} cannot be read ({type(exc).__name__})"
    if not stat.S_ISREG(info.st_mode):
        return "corrupted", f"{path.name} is not a plain file (a link?): refused"
    if info.st_size > MAX_NOTEBOOK_BYTES:
        return "corrupted", (
            f"{path.name} is {info.st_size / 2**20:.0f} MB, more than the "
            f"{MAX_NOTEBOOK_BYTES // 2**20} MB a notebook may have"
        )
    try:
        invalid = {}  # (nbformat's reading validates once, and records why it is invalid here)
        nb = nbformat.read(str(path), as_version=4, capture_validation_error=invalid)
        if invalid:
            raise invalid["ValidationError"]
    except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, never raised
        return "corrupted", f"{path.name} is not a valid notebook ({type(exc).__name__}: {str(exc)[:200]})"
    if parsed is not None:
        parsed[path] = nb
    problem = metadata_problem(nb)
    if problem:
        return "corrupted", f"{path.name} has malformed nbgrader metadata ({problem})"
    ids = {grading_id(c) for c in nb.cells} - {None}
    if not ids & source_ids:
        return "foreign", f"{path.name} has none of the assignment's cells (another notebook?)"
    return "ok", ""


def grading_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


def screen_submission(
    folder: Path, submitted: Path, notebooks: list[str], source_ids: set[str], parsed: dict | None = None
) -> tuple[str, str]:
    """(status, message) of one student's folder before grading: 'ok', 'foreign', or a
    refusal ('corrupted', 'missing'); the valid notebooks read go into ``parsed`` (path ->
    notebook), when given. Never raises: an unexpected failure is 'corrupted'."""
    from neurograder.intake import refused_entries

    try:
        refused = refused_entries(folder, submitted)
        if refused:
            return "corrupted", "refused: " + "; ".join(refused[:5])
        problems = [check_notebook(folder / f"{n}.ipynb", source_ids, parsed) for n in notebooks]
    except Exception as exc:  # noqa: BLE001 - one odd folder never stops the class
        return "corrupted", f"the submission could not be checked ({type(exc).__name__}: {exc})"
    bad = [(k, m) for k, m in problems if k in ("corrupted", "missing")]
    if bad:
        return bad[0][0], "; ".join(m for _, m in bad)
    foreign = [m for k, m in problems if k == "foreign"]
    if foreign:
        return "foreign", "; ".join(foreign)
    return "ok", ""


def heavy_modules(folder: Path, parsed: dict | None = None) -> tuple:
    """The course's prewarm modules (torch, scipy) the notebooks in a submission ``folder``
    mention (sorted; the sandbox's own text search, :func:`neurograder.inside.cells.mentioned`,
    over every code cell): the fork server a worker needs for this student. A hint for
    scheduling only; a file that cannot be read counts as needing none. ``parsed``: notebooks
    read already (path -> notebook, as the screening keeps them), not read again."""
    from neurograder.inside.cells import mentioned
    from neurograder.launch import PREWARM_MODULES

    cells = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            nb = (parsed or {}).get(path) or json.loads(path.read_text(encoding="utf-8"))
            for cell in nb.get("cells", []):
                if isinstance(cell, dict) and cell.get("cell_type") == "code":
                    src = cell.get("source", "")
                    cells.append({"source": "".join(src) if isinstance(src, list) else str(src)})
        except (OSError, ValueError, AttributeError, TypeError):
            continue
    return tuple(sorted({m.split(".")[0] for m in mentioned({"prewarm": PREWARM_MODULES, "cells": cells})}))


def zero_submission(api, assignment: str, student: str, notebooks: list[str], why: str):
    """A corrupted submission: zero for every graded cell, with the reason as a comment."""
    from nbgrader.api import Gradebook

    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        gb.update_or_create_student(student)
        sub = gb.update_or_create_submission(assignment, student)
        for nb in sub.notebooks:
            for grade in nb.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
            for comment in nb.comments:
                comment.auto_comment = why
        gb.db.commit()
