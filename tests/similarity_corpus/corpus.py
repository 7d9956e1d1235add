"""Build a class of submissions for the similarity report from the ``*.md`` files here.

Each file is one student (its name without ``.md``). Its ``## <grade_id>`` sections are that
student's solution cells: for a function the body only (it goes into the released stub, in
place of ``# YOUR CODE HERE`` / ``raise NotImplementedError()``), for a written answer the
text. Every other code cell holds the course's reference solution, as in
``tests/attacks/corpus.py::honest_notebook`` (so those tasks are alike for everyone), except
the tasks other corpus students wrote and this one did not, which keep the stub; every other
written answer is left as the placeholder.

``hNN.md`` are independent honest solutions in different styles; ``cN.md`` are disguised
copies whose ``copy-of: <student> <grade_id> ...`` line names what they copied (the ground
truth the tests check the report against; the report never reads it).
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from attacks import corpus as attacks_corpus

HERE = Path(__file__).resolve().parent
STUB_TAIL = re.compile(r"^[ \t]*# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)[ \t]*\n?",
                       re.M)
FENCE = re.compile(r"^```(?:python)?\n(.*?)^```\s*$", re.S | re.M)


@dataclass
class Student:
    name: str
    cells: dict[str, str]
    copy_of: str | None = None
    copied: set[str] = field(default_factory=set)


def parse(path: Path) -> Student:
    text = path.read_text()
    parts = re.split(r"^## (\S+)[ \t]*\n", text, flags=re.M)
    head, cells = parts[0], {}
    for gid, body in zip(parts[1::2], parts[2::2]):
        fenced = FENCE.search(body)
        cells[gid] = fenced.group(1) if fenced else body.strip() + "\n"
    student = Student(path.stem, cells)
    m = re.search(r"^copy-of: (\S+) (.+)$", head, re.M)
    if m:
        student.copy_of, student.copied = m.group(1), set(m.group(2).split())
    return student


def students() -> list[Student]:
    return [parse(p) for p in sorted(HERE.glob("*.md"))]


def covered() -> set[str]:
    """Every grade_id some corpus student wrote."""
    return set().union(*(s.cells for s in students()))


def fill(stub: str, body: str) -> str:
    """The released stub with the student's body in place of the placeholder."""
    if not STUB_TAIL.search(stub):
        raise ValueError("stub has no '# YOUR CODE HERE' placeholder")
    return STUB_TAIL.sub(lambda _: body if body.endswith("\n") else body + "\n", stub, count=1)


def notebook(course: Path, student: Student):
    """The honest reference notebook with this student's cells written in."""
    release = nbformat.read(str(course / "release" / attacks_corpus.ASSIGNMENT
                                / attacks_corpus.NOTEBOOK), as_version=4)
    stubs = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in release.cells}
    nb = attacks_corpus.honest_notebook(course)
    for gid in covered() - set(student.cells):      # a task of the corpus this one skipped
        attacks_corpus.set_cell(nb, gid, stubs[gid].source)
    for gid, body in student.cells.items():
        stub = stubs[gid]
        attacks_corpus.set_cell(nb, gid, fill(stub.source, body) if stub.cell_type == "code"
                                else body)
    return nb


def make_class(dest: Path, course: Path = attacks_corpus.GRADER, extra: dict | None = None) -> Path:
    """A course folder at ``dest`` (the course's source and release, copied) with every corpus
    student submitted; ``extra`` maps more student names to notebooks (or raw bytes)."""
    for part in ("source", "release"):
        shutil.copytree(course / part, dest / part, dirs_exist_ok=True)
    for student in students():
        attacks_corpus.write_submission(dest, student.name, notebook(course, student))
    for name, nb in (extra or {}).items():
        if isinstance(nb, bytes):
            attacks_corpus.write_submission(dest, name, raw=nb)
        else:
            attacks_corpus.write_submission(dest, name, nb)
    return dest
