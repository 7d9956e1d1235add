"""A gradebook as nbgrader's SaveAutoGrades uses it, made cheap for one notebook: the
notebook's grade and comment rows loaded at once, and one commit when it closes.

Used by :class:`neurograder.preprocessors.SaveAutoGradesOnce`; nbgrader's own code decides
every score, comment and review flag.
"""

from __future__ import annotations


class OneTransaction:
    """A gradebook session whose ``commit()`` does nothing: the one real commit happens
    when the gradebook closes (``remove()``), so a notebook's grades are written at once."""

    def __init__(self, session):
        self._session = session

    def commit(self):
        pass

    def remove(self):
        try:
            self._session.commit()
        finally:
            self._session.remove()

    def __getattr__(self, name):
        return getattr(self._session, name)


class NotebookRows:
    """A gradebook whose ``find_grade``/``find_comment`` answer from one submitted notebook's
    grade and comment rows, loaded in two queries (nbgrader looks each cell up with a
    six-table join); anything else goes to the gradebook itself."""

    def __init__(self, gradebook, notebook, assignment, student):
        from nbgrader.api import Comment, Grade
        from sqlalchemy.orm import joinedload

        self._gradebook, self._key = gradebook, (notebook, assignment, student)
        sub = gradebook.find_submission_notebook(notebook, assignment, student)
        self._rows = {
            kind: {
                row.cell.name: row
                for row in gradebook.db.query(kind).options(joinedload(kind.cell)).filter(kind.notebook_id == sub.id)
            }
            for kind in (Grade, Comment)
        }

    def _find(self, kind, cell, notebook, assignment, student, fallback):
        row = self._rows[kind].get(cell) if (notebook, assignment, student) == self._key else None
        return row if row is not None else fallback(cell, notebook, assignment, student)

    def find_grade(self, cell, notebook, assignment, student):
        from nbgrader.api import Grade

        return self._find(Grade, cell, notebook, assignment, student, self._gradebook.find_grade)

    def find_comment(self, cell, notebook, assignment, student):
        from nbgrader.api import Comment

        return self._find(Comment, cell, notebook, assignment, student, self._gradebook.find_comment)

    def __getattr__(self, name):
        return getattr(self._gradebook, name)
