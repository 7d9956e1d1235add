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


def notebook_rows(gradebook, kind, notebook, assignment, student) -> dict:
    """{cell name: row} of ``kind`` (Grade or Comment) of one submitted notebook, with their
    cells, in one query. The submitted notebook is found by joins in the same query (as
    nbgrader's ``find_submission_notebook`` finds it), never loaded: nbgrader's
    SubmittedNotebook row carries eleven score aggregates, each a subquery."""
    from nbgrader.api import Assignment, Notebook, Student, SubmittedAssignment, SubmittedNotebook
    from sqlalchemy.orm import joinedload

    query = (
        gradebook.db.query(kind)
        .options(joinedload(kind.cell))
        .join(SubmittedNotebook, SubmittedNotebook.id == kind.notebook_id)
        .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
        .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)
        .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
        .join(Student, Student.id == SubmittedAssignment.student_id)
        .filter(Notebook.name == notebook, Assignment.name == assignment, Student.id == student)
    )
    return {row.cell.name: row for row in query}


class NotebookRows:
    """A gradebook whose ``find_grade``/``find_comment`` answer from one submitted notebook's
    grade and comment rows, loaded in one query each (nbgrader looks each cell up with a
    six-table join); anything else goes to the gradebook itself."""

    def __init__(self, gradebook, notebook, assignment, student):
        from nbgrader.api import Comment, Grade

        self._gradebook, self._key = gradebook, (notebook, assignment, student)
        self._rows = {kind: notebook_rows(gradebook, kind, notebook, assignment, student) for kind in (Grade, Comment)}
        if not any(self._rows.values()):  # no such notebook: nbgrader's MissingEntry, as before
            gradebook.find_submission_notebook(notebook, assignment, student)

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


class ClassSubmissions:
    """A gradebook whose ``find_submission`` answers from every submission of the class,
    loaded in one query with the aggregates a class table reads (score, maximum, late
    penalty, needs manual grade: nbgrader's own column expressions, each a subquery that
    nbgrader otherwise runs on first access) and each submission's assignment; anything else
    goes to the gradebook itself. For reading a whole class (the grades CSV, the report):
    nbgrader asks once per student and aggregate, several queries each."""

    def __init__(self, gradebook):
        from nbgrader.api import SubmittedAssignment
        from sqlalchemy.orm import joinedload, undefer

        self._gradebook = gradebook
        query = gradebook.db.query(SubmittedAssignment).options(
            joinedload(SubmittedAssignment.assignment),
            undefer(SubmittedAssignment.score),
            undefer(SubmittedAssignment.max_score),
            undefer(SubmittedAssignment.late_submission_penalty),
            undefer(SubmittedAssignment.needs_manual_grade),
        )
        self._rows = {(sub.assignment.name, sub.student_id): sub for sub in query}

    def find_submission(self, assignment: str, student: str):
        from nbgrader.api import MissingEntry

        try:
            return self._rows[(assignment, student)]
        except KeyError:
            raise MissingEntry(f"No such submission: {assignment} for {student}") from None

    def __getattr__(self, name):
        return getattr(self._gradebook, name)
