"""Similarity across a class: which pairs of submissions a person may want to review.

``python -m neurograder.similarity --course grader`` (``make similarity``) reads every
``submitted/<student>/<assignment>/<notebook>``, compares every pair of students task by task
and writes one self-contained offline HTML page (``<course>/similarity/index.html``) plus
``pairs.csv``. Nothing leaves the machine and no student code runs.

Steps, one small function each (nbgrader's preprocessor style), one module per step;
``settings`` holds every tunable number, ``pipeline.analyse`` runs steps 1-5:

1. ``extract``: the student's solution cells, picked by the source notebook's grade_ids
   (:func:`neurograder.grading.student_solution_cells`), and written answers (markdown
   solution cells, by grade_id).
2. ``normalise``, remove what the course supplies: docstrings, the stub's
   ``raise NotImplementedError``, every line the released notebook itself contains (stub
   signatures, provided helpers, visible tests, setup cells), and for answers the placeholder
   and sentences quoted from the notebook.
3. ``normalise``, undo what copying disguises: comments and layout (the AST is unparsed), dead
   code (statements after return/raise, ``if False:`` blocks, unused local assignments, stray
   literals), the order of independent statements (a canonical topological order of each
   block) and identifier names (copydetect's filter turns every name into ``V``).
4. ``match``: code with copydetect (MOSS family): its filter (names -> ``V``, no comments or
   layout) and its winnowing of k-gram hashes (CRC-32, so every run picks the same); answers
   with TF-IDF cosine over stemmed words. All pairs of a task at once (sparse matrix products).
5. ``judge``, against the class: per task, each pair's robust z-score against all pairs of that
   task (median, and a spread that sees the upper tail); a task whose pairs are alike anyway
   (near-canonical answers) gets weight ``1 - median similarity``. A pair is *listed for
   review* when one task is both unusual for the class and high in absolute terms (code: over
   enough shared fingerprints); pairs linked through listed pairs form clusters.
6. ``report``: ranked pairs, clusters, per-task distributions (matplotlib), side-by-side views
   with the matching regions highlighted, and what was excluded and why. The report lists pairs
   for a person to review; it never says that anyone copied.
"""

from .extract import Submission, Task, load_class, read_notebook
from .judge import Pair, TaskStats, clusters, rank_pairs, task_rows
from .match import code_fingerprints, code_similarity, answer_similarity
from .normalise import (
    DeadCode,
    Reorder,
    Supplied,
    answer_terms,
    canonical_order,
    normalise_answer,
    normalise_code,
    supplied_material,
    unused_locals,
)
from .pipeline import Analysis, analyse, compare_task, normalise_class
from .report import render_html, write_csv, write_report
from .settings import (
    CLUSTER_SIZE,
    DEFAULT_ASSIGNMENT,
    FLAG_SIMILARITY,
    FLAG_Z,
    MIN_SHARED,
    MIN_WEIGHT,
    REPORT_DIR,
)

__all__ = [
    "Analysis",
    "CLUSTER_SIZE",
    "DEFAULT_ASSIGNMENT",
    "DeadCode",
    "FLAG_SIMILARITY",
    "FLAG_Z",
    "MIN_SHARED",
    "MIN_WEIGHT",
    "Pair",
    "REPORT_DIR",
    "Reorder",
    "Submission",
    "Supplied",
    "Task",
    "TaskStats",
    "analyse",
    "answer_similarity",
    "answer_terms",
    "canonical_order",
    "clusters",
    "code_fingerprints",
    "code_similarity",
    "compare_task",
    "load_class",
    "normalise_answer",
    "normalise_class",
    "normalise_code",
    "rank_pairs",
    "read_notebook",
    "render_html",
    "supplied_material",
    "task_rows",
    "unused_locals",
    "write_csv",
    "write_report",
]
