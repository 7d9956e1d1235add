"""Are the generated notebooks' cell ids stable, so a prose edit changes only what changed?

nbgrader and formgrader key hand grades on cells; random ids on every regeneration would make
every cell look new. Ids are derived from each cell's grade_id / role (course.notebooks.cell_id).
"""

from __future__ import annotations

import re

import nbformat
import pytest

from chapter_tools import nbgrader_meta
from course import notebooks

PROSE = "A filter lets some signals through and stops others."


def test_ids_are_unique_valid_and_derived_from_the_grade_id():
    """Does every cell have a valid nbformat id, unique, equal to its (sanitised) grade_id, or,
    for the chapter's prose (no nbgrader cell), to its place in the chapter?"""
    nb = notebooks.instructor_notebook()
    ids = [c.id for c in nb.cells]
    assert len(ids) == len(set(ids))
    for cell in nb.cells:
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cell.id)
        if "nbgrader" in cell.metadata:
            assert cell.id == notebooks.cell_id(nbgrader_meta(cell)["grade_id"])
        else:
            assert re.fullmatch(r"(markdown-\d{3}|code-\d{3}-description)", cell.id)


def test_prose_is_read_only_but_no_nbgrader_cell():
    """Is every Markdown cell that nbgrader does not record (the chapter's text) still read-only
    and undeletable in Jupyter, and is every code cell an nbgrader cell (restored at grading)?"""
    nb = notebooks.instructor_notebook()
    prose = [c for c in nb.cells if "nbgrader" not in c.metadata]
    assert prose and all(c.cell_type == "markdown" for c in prose)
    assert all(c.metadata.get("editable") is False and c.metadata.get("deletable") is False for c in prose)


def test_regeneration_gives_the_same_ids():
    """Two generations from the same chapter: identical notebooks, ids included?"""
    assert nbformat.writes(notebooks.instructor_notebook()) == nbformat.writes(notebooks.instructor_notebook())


@pytest.mark.timeout(300)
def test_one_word_prose_edit_changes_only_that_cell(tmp_path):
    """Edit one word of prose in a copy of the chapter and regenerate: are all ids unchanged, and is the
    edited cell the only one whose source changed?"""
    text = notebooks.CHAPTER.read_text()
    assert text.count(PROSE) == 1
    copy = tmp_path / "neurons.md"
    copy.write_text(text.replace(PROSE, PROSE.replace("stops", "blocks")))
    before = notebooks.instructor_notebook()
    after = notebooks.instructor_notebook(notebooks.read_chapter(copy))
    assert [c.id for c in before.cells] == [c.id for c in after.cells]
    changed = [b.id for b, a in zip(before.cells, after.cells) if b.source != a.source]
    assert len(changed) == 1
    assert "blocks others" in next(c.source for c in after.cells if c.id == changed[0])


def test_release_keeps_the_source_ids():
    """Does nbgrader's generate_assignment keep the generated ids in the student's notebook?"""
    path = notebooks.RELEASE_DIR / notebooks.NOTEBOOK
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make notebooks`")
    release = nbformat.read(path, as_version=4)
    source = nbformat.read(notebooks.SOURCE_DIR / notebooks.NOTEBOOK, as_version=4)
    assert [c.id for c in release.cells] == [c.id for c in source.cells]
