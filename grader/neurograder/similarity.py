"""Similarity across a class: which pairs of submissions a person may want to review.

``python -m neurograder.similarity --course grader`` (``make similarity``) reads every
``submitted/<student>/<assignment>/<notebook>``, compares every pair of students task by task
and writes one self-contained offline HTML page (``<course>/similarity/index.html``) plus
``pairs.csv``. Nothing leaves the machine and no student code runs.

Steps, one small function each (nbgrader's preprocessor style):

1. **extract**: the student's solution cells, picked by the source notebook's grade_ids
   (:func:`neurograder.grading.student_solution_cells`), and written answers (markdown
   solution cells, by grade_id).
2. **remove what the course supplies**: docstrings, the stub's ``raise NotImplementedError``,
   every line the released notebook itself contains (stub signatures, provided helpers, visible
   tests, setup cells), and for answers the placeholder and sentences quoted from the notebook.
3. **normalise what copying disguises**: comments and layout (the AST is unparsed), dead code
   (statements after return/raise, ``if False:`` blocks, unused local assignments, stray
   literals), the order of independent statements (a canonical topological order of each block)
   and identifier names (copydetect's filter turns every name into ``V``).
4. **match**: code with copydetect (MOSS family): its filter (names -> ``V``, no comments or
   layout) and its winnowing of k-gram hashes (CRC-32, so every run picks the same); answers
   with TF-IDF cosine over stemmed words. All pairs of a task at once (sparse matrix products).
5. **judge against the class**: per task, each pair's robust z-score against all pairs of that
   task (median, and a spread that sees the upper tail); a task whose pairs are alike anyway
   (near-canonical answers) gets weight ``1 - median similarity``. A pair is *listed for
   review* when one task is both unusual for the class and high in absolute terms (code: over
   enough shared fingerprints); pairs linked through listed pairs form clusters.
6. **report**: ranked pairs, clusters, per-task distributions (matplotlib), side-by-side views
   with the matching regions highlighted, and what was excluded and why. The report lists pairs
   for a person to review; it never says that anyone copied.
"""
from __future__ import annotations

import argparse
import ast
import base64
import csv
import functools
import html
import io
import json
import math
import re
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .grading import SourceSpec, nbg, student_solution_cells

# ---- settings (every tunable number lives here) ----------------------------------------------
#: characters of copydetect-filtered code per k-gram (one name is one character ``V``, so 12
#: characters is a few tokens, e.g. ``V=V+(V[V]-V)``): short enough for ten-line functions
FINGERPRINT_K = 12
#: winnowing window (k-grams); every shared run of ``K + WINDOW - 1`` characters is detected
WINNOW_WINDOW = 3
#: a task's code with fewer fingerprints than this is too short to tell copying from chance
MIN_FINGERPRINTS = 6
#: a code match listed for review covers at least this many shared fingerprints (a one-line
#: answer inside a longer one is common and honest; a copied function shares dozens)
MIN_SHARED = 12
#: a written answer with fewer distinct content words than this is not compared
MIN_ANSWER_TERMS = 8
#: spread of a task's pair similarities: the larger of 1.4826 x MAD and (the TAIL_QUANTILE
#: quantile - median) / TAIL_Z (both are the standard deviation for normal data; the second
#: also sees the long upper tail that short code has), never below SPREAD_FLOOR
TAIL_QUANTILE = 0.9
TAIL_Z = 1.2816
SPREAD_FLOOR = 0.03
#: robust z-score a task's similarity must reach for the pair to be listed for review
FLAG_Z = 4.0
#: ... and the similarity itself must reach this (code: share of fingerprints; answers: cosine)
FLAG_SIMILARITY = {"code": 0.75, "answer": 0.5}
#: tasks weighted below this (pairs alike anyway: median similarity above 0.8) never list a pair
MIN_WEIGHT = 0.2
#: smallest group of students linked through listed pairs that is shown as a cluster
CLUSTER_SIZE = 3
#: pairs shown in the ranked table at least (listed ones first; pairs.csv has all of them)
TOP_PAIRS = 40
#: listed pairs given a side-by-side view on the page (all of them are in pairs.csv)
MAX_SIDE_BY_SIDE = 100
#: words too common to say anything about who wrote an answer
STOPWORDS = frozenset("""a about above after again all also an and any are as at be because been
before being below between both but by can could did do does doing down during each few for from
further had has have having here how i if in into is it its itself just more most much my no nor
not of off on once only or other our out over own same so some such than that the their them
then there these they this those through to too under until up very was we were what when where
which while who why will with would you your one two thus get gets makes make""".split())
#: bins of the per-task similarity histograms on the page
HIST_BINS = 40
#: output folder of the report, relative to the course
REPORT_DIR = "similarity"
DEFAULT_ASSIGNMENT = "module1"
PLACEHOLDERS = ("YOUR ANSWER HERE", "YOUR CODE HERE")

EXCLUDED_WHY = [
    ("Docstrings and comments", "the stubs' docstrings are handed out; comments are free to add "
     "or change, so copying hides behind them"),
    ("Every line the released notebook contains", "function signatures, provided helpers, "
     "setup and visible test cells are the same for everyone"),
    ("The stub's <code>raise NotImplementedError()</code> and answer placeholders",
     "left in by students who did not attempt the task"),
    ("Dead code", "statements after return/raise, <code>if False:</code> blocks, unused local "
     "assignments and stray literals change nothing and are a common disguise"),
    ("Names and statement order", "every identifier counts as the same symbol and independent "
     "statements are put in one canonical order, so renaming and reordering do not hide a match"),
    ("Sentences quoted from the notebook", "a written answer may repeat the question"),
]


# ---- step 1: extract ------------------------------------------------------------------------
@dataclass
class Task:
    grade_id: str
    kind: str                      # "code" or "answer"


@dataclass
class Submission:
    student: str
    cells: dict[str, str] = field(default_factory=dict)   # grade_id -> raw source
    problem: str | None = None                             # why it is not compared at all


def course_tasks(spec: SourceSpec) -> list[Task]:
    """Every solution cell of the source notebook, in notebook order: code or written answer."""
    tasks = []
    for cell in spec.nb.cells:
        md = nbg(cell)
        if md.get("solution") and md.get("grade_id"):
            tasks.append(Task(md["grade_id"], "code" if cell.cell_type == "code" else "answer"))
    return tasks


def read_notebook(path: Path):
    """The notebook's cells at ``path`` (``nb.cells``, each source one string), or a ValueError
    saying why it is unusable.

    Not validated against the schema (a student's stray metadata must not stop the report),
    and outputs are left as read (only sources are compared)."""
    import nbformat
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot be read as a notebook ({type(exc).__name__})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ValueError("is not a Jupyter notebook (no list of cells)")
    cells = []
    for cell in data["cells"]:
        if not isinstance(cell, dict):
            raise ValueError("is not a Jupyter notebook (a cell is not an object)")
        cell = nbformat.NotebookNode(cell)
        if isinstance(cell.get("source"), list):       # as nbformat.read joins them
            cell["source"] = "".join(str(line) for line in cell["source"])
        cells.append(cell)
    return nbformat.NotebookNode(cells=cells)


def _text(source) -> str:
    """A cell source as one string, whatever a hand-edited notebook holds there."""
    if isinstance(source, str):
        return source
    if isinstance(source, list):
        return "".join(str(line) for line in source)
    return "" if source is None else str(source)


def student_answers(nb, tasks: list[Task]) -> dict[str, str]:
    """The student's markdown answer cells, by grade_id (first match)."""
    wanted = {t.grade_id for t in tasks if t.kind == "answer"}
    found = {}
    for cell in nb.cells:
        gid = nbg(cell).get("grade_id")
        if gid in wanted and gid not in found and cell.get("cell_type") == "markdown":
            found[gid] = _text(cell.get("source", ""))
    return found


def load_submission(path: Path, student: str, spec: SourceSpec, tasks: list[Task]) -> Submission:
    """One student's cells; a missing or unreadable notebook is kept with the reason."""
    sub = Submission(student)
    if not path.is_file():
        sub.problem = "no notebook submitted"
        return sub
    try:
        nb = read_notebook(path)
        cells, _ = student_solution_cells(nb, spec)
    except (ValueError, AttributeError, TypeError) as exc:
        sub.problem = f"notebook {exc}" if isinstance(exc, ValueError) else \
            f"notebook has an unexpected structure ({type(exc).__name__})"
        return sub
    sub.cells = {c["grade_id"]: _text(c["source"]) for c in cells}
    sub.cells.update(student_answers(nb, tasks))
    return sub


# ---- step 2 and 3: remove what the course supplies, normalise ---------------------------------
def _unparse_lines(source: str) -> list[str]:
    try:
        return [ln.strip() for ln in ast.unparse(ast.parse(source)).splitlines() if ln.strip()]
    except (SyntaxError, ValueError, RecursionError):
        return [ln.strip() for ln in source.splitlines() if ln.strip()]


@dataclass(frozen=True)
class Supplied:
    """What the released notebook gives every student."""
    code_lines: frozenset[str]      # normalised (unparsed) lines of every code cell
    sentences: frozenset[str]       # normalised sentences of every markdown cell


def supplied_material(release_nb) -> Supplied:
    lines, sentences = set(), set()
    for cell in release_nb.cells:
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        if cell.get("cell_type") == "code":
            lines.update(_unparse_lines(_strip_docstrings_text(src)))
        elif cell.get("cell_type") == "markdown":
            sentences.update(_sentences(src))
    return Supplied(frozenset(lines), frozenset(s for s in sentences if s))


def _strip_docstrings_text(source: str) -> str:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return source
    return ast.unparse(DeadCode(local_names=frozenset()).visit(tree))


def _is_literal_stmt(node) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def _is_false(test) -> bool:
    return isinstance(test, ast.Constant) and not test.value


def _is_not_implemented(node) -> bool:
    exc = getattr(node, "exc", None)
    if isinstance(exc, ast.Call):
        exc = exc.func
    return isinstance(node, ast.Raise) and isinstance(exc, ast.Name) \
        and exc.id == "NotImplementedError"


class DeadCode(ast.NodeTransformer):
    """Drop what changes nothing: literals as statements (docstrings), the stub's raise,
    ``if False:`` bodies, statements after return/raise/continue/break, and assignments to
    the names in ``local_names`` (function locals never read)."""

    def __init__(self, local_names: frozenset[str]):
        self.local_names = local_names

    def _block(self, body):
        out = []
        for stmt in body:
            if _is_literal_stmt(stmt) or _is_not_implemented(stmt) or isinstance(stmt, ast.Pass):
                continue
            if isinstance(stmt, (ast.If, ast.While)) and _is_false(stmt.test):
                out.extend(self._block(stmt.orelse) if isinstance(stmt, ast.If) else [])
                continue
            if isinstance(stmt, ast.Assign) and all(
                    isinstance(t, ast.Name) and t.id in self.local_names for t in stmt.targets):
                continue
            stmt = self.visit(stmt)
            out.append(stmt)
            if isinstance(stmt, (ast.Return, ast.Raise, ast.Continue, ast.Break)):
                break
        return out

    def generic_visit(self, node):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(node, name, self._block(block) or [ast.Pass()])
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                handler.body = self._block(handler.body) or [ast.Pass()]
        return node

    def visit_Module(self, node):
        node.body = self._block(node.body)
        return node


def unused_locals(tree) -> frozenset[str]:
    """Names assigned inside a function but never read anywhere in the cell (one walk)."""
    stored, loaded, top = set(), set(), set()
    for stmt in getattr(tree, "body", []):
        in_function = isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name):
                if not isinstance(node.ctx, ast.Store):
                    loaded.add(node.id)
                elif in_function:
                    stored.add(node.id)
                else:
                    top.add(node.id)
    return frozenset(stored - loaded - top)


#: statements that may leave the block they are in
LEAVING = (ast.Return, ast.Raise, ast.Break, ast.Continue, ast.Yield, ast.YieldFrom, ast.Global,
           ast.Nonlocal, ast.Assert)


def _is_constant_store(stmt) -> bool:
    """``name = <literal>``: cannot raise and has no effect but the name."""
    value = getattr(stmt, "value", None)
    if isinstance(value, ast.UnaryOp):
        value = value.operand
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
    return isinstance(stmt, (ast.Assign, ast.AnnAssign)) and isinstance(value, ast.Constant) \
        and all(isinstance(t, ast.Name) for t in targets)


def effects(stmt, local_names=frozenset()) -> tuple[set[str], set[str], bool, bool, str]:
    """(names read, names written, leaves, movable, shape) of a statement, in one walk.

    Writing ``a[i]``/``a.x`` counts as writing ``a``, and so does calling a method ``a.f(...)``
    when ``a`` is one of ``local_names`` (``np.zeros`` does not change ``np``); ``leaves``: it
    may leave the block (return, raise, break, continue, yield, assert); ``movable``: it is a
    :func:`_is_constant_store`, which may cross a statement that leaves; ``shape``: its node
    types, attributes and literals in walk order, with every name erased (so renaming cannot
    change it)."""
    reads, writes, leaves, shape = set(), set(), False, []
    for node in ast.walk(stmt):
        shape.append(type(node).__name__)
        if isinstance(node, ast.Constant):
            shape.append(repr(node.value))
        elif isinstance(node, ast.Attribute):
            shape.append(node.attr)
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Store):
                reads.add(node.id)
            if not isinstance(node.ctx, ast.Load):
                writes.add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, ast.Store):
            base = node.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                writes.add(base.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id in local_names:
            writes.add(node.func.value.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            writes.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            writes.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, LEAVING):
            leaves = True
    return reads, writes, leaves, _is_constant_store(stmt), " ".join(shape)


def conflict(a, b) -> bool:
    """Whether two statements' :func:`effects` forbid swapping them: one writes what the other
    reads or writes, or one may leave the block and the other is not movable (anything else
    may raise, or do something the guard protects it from)."""
    ra, wa, la, ma = a[:4]
    rb, wb, lb, mb = b[:4]
    return bool(wa & (rb | wb) or ra & wb or (la and not mb) or (lb and not ma))


def canonical_order(body: list, local_names=frozenset()) -> list:
    """The block's statements in one canonical order that keeps every dependency.

    Of the statements whose earlier conflicting statements (:func:`conflict`) are all placed,
    the smallest by shape (see :func:`effects`) goes next. The relation is symmetric, so any
    reordering of independent statements gives the same result."""
    if len(body) < 2:
        return body
    info = [effects(s, local_names) for s in body]
    deps = [{i for i in range(j) if conflict(info[i], info[j])} for j in range(len(body))]
    keys = [i[4] for i in info]
    placed, order = set(), []
    while len(order) < len(body):
        ready = [j for j in range(len(body)) if j not in placed and deps[j] <= placed]
        nxt = min(ready, key=lambda j: (keys[j], j))
        placed.add(nxt)
        order.append(body[nxt])
    return order


class Reorder(ast.NodeTransformer):
    """Put every block of the tree in :func:`canonical_order`."""

    def __init__(self, tree):
        self.local_names = frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                                     and isinstance(n.ctx, ast.Store))

    def generic_visit(self, node):
        super().generic_visit(node)
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(node, name, canonical_order(block, self.local_names))
        return node


@functools.lru_cache(maxsize=4096)       # a class hands in many identical cells (stubs, one-liners)
def normalise_code(source: str, supplied: Supplied) -> str:
    """Student-written code only, in canonical form (see the module docstring, steps 2-3).

    Code that does not parse keeps its own lines, minus comments and supplied lines."""
    try:
        tree = ast.parse(source)
        tree = DeadCode(unused_locals(tree)).visit(tree)
        tree = DeadCode(unused_locals(tree)).visit(tree)     # a second pass frees chains
        lines = ast.unparse(Reorder(tree).visit(tree)).splitlines()
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        lines = [re.sub(r"#.*", "", ln) for ln in source.splitlines()]
    kept = [ln for ln in lines if ln.strip() and ln.strip() not in supplied.code_lines
            and not any(p in ln for p in PLACEHOLDERS)]
    return "\n".join(kept)


def _sentences(text: str) -> list[str]:
    return [" ".join(s.lower().split()) for s in re.split(r"(?<=[.!?])\s+|\n\s*\n", text)]


def normalise_answer(text: str, supplied: Supplied) -> str:
    """The written answer minus placeholders and sentences quoted from the notebook."""
    kept = [s for s in _sentences(text) if s and s not in supplied.sentences
            and not any(p.lower() in s for p in PLACEHOLDERS)]
    return " ".join(kept)


def stem(word: str) -> str:
    """A crude suffix stripper: enough to match 'spikes'/'spiking'/'spiked' for cosine."""
    for suffix in ("ations", "ation", "ingly", "ings", "ing", "edly", "ed", "ies", "es", "ly",
                   "er", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def answer_terms(text: str) -> list[str]:
    return [stem(w) for w in re.findall(r"[a-z][a-z0-9]*", text.lower()) if w not in STOPWORDS]


# ---- step 4: match (all pairs of a task at once) -----------------------------------------------
def kgram_hashes(text: str, k: int) -> np.ndarray:
    """CRC-32 of every k-gram of ``text``: the same in every run (copydetect's own
    ``hashed_kgrams`` uses Python's ``hash``, salted per process, so its picks would vary)."""
    data = text.encode("utf-8", "surrogatepass")
    return np.array([zlib.crc32(data[i:i + k]) for i in range(len(data) - k + 1)],
                    dtype=np.int64)


@functools.lru_cache(maxsize=4096)
def code_fingerprints(code: str) -> tuple[str, frozenset, dict]:
    """copydetect's filtered text (names -> V, no comments/space), the hashes copydetect's
    winnowing keeps, and where each occurs (hash -> k-gram starts)."""
    from copydetect.utils import filter_code, winnow
    filtered, _ = filter_code(code, "cell.py", language="python")
    if len(filtered.encode("utf-8", "surrogatepass")) < FINGERPRINT_K:
        return filtered, frozenset(), {}
    hashes, idx = winnow(kgram_hashes(filtered, FINGERPRINT_K), WINNOW_WINDOW,
                         remove_duplicates=False)
    index: dict = {}
    for h, i in zip(hashes.tolist(), idx.tolist()):
        index.setdefault(h, []).append(i)
    return filtered, frozenset(index), index


def _incidence(sets: list) -> "object":
    """Sparse students x features 0/1 matrix of a list of sets."""
    from scipy import sparse
    vocab = {}
    rows, cols = [], []
    for r, items in enumerate(sets):
        for item in items:
            rows.append(r)
            cols.append(vocab.setdefault(item, len(vocab)))
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)),
                             shape=(len(sets), max(len(vocab), 1)))


def code_similarity(fingerprints: list[set]) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise share of shared fingerprints, mean of |A&B|/|A| and |A&B|/|B| (NaN where a side
    is too short to compare), and the number shared |A&B|."""
    m = _incidence(fingerprints)
    shared = (m @ m.T).toarray()
    sizes = np.array([len(f) for f in fingerprints], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = 0.5 * (shared / sizes[:, None] + shared / sizes[None, :])
    short = sizes < MIN_FINGERPRINTS
    sim[short, :] = np.nan
    sim[:, short] = np.nan
    return sim, shared


def answer_similarity(term_lists: list[list[str]]) -> np.ndarray:
    """TF-IDF (smoothed idf, sublinear tf) cosine between answers; NaN for too-short ones."""
    from scipy import sparse
    vocab = {}
    rows, cols, vals = [], [], []
    for r, terms in enumerate(term_lists):
        counts = {}
        for t in terms:
            counts[t] = counts.get(t, 0) + 1
        for t, c in counts.items():
            rows.append(r)
            cols.append(vocab.setdefault(t, len(vocab)))
            vals.append(1.0 + math.log(c))
    n = len(term_lists)
    tf = sparse.csr_matrix((vals, (rows, cols)), shape=(n, max(len(vocab), 1)))
    df = np.asarray((tf > 0).sum(axis=0)).ravel()
    idf = np.log((1 + n) / (1 + df)) + 1.0
    x = tf.multiply(idf[None, :]).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    x = sparse.diags(1.0 / norms) @ x
    sim = (x @ x.T).toarray()
    short = np.array([len(set(t)) < MIN_ANSWER_TERMS for t in term_lists], dtype=bool)
    sim[short, :] = np.nan
    sim[:, short] = np.nan
    return sim


# ---- step 5: judge against the class -------------------------------------------------------
@dataclass
class TaskStats:
    task: Task
    compared: int                 # students with enough own work to compare
    median: float
    spread: float                 # robust standard deviation (see TAIL_QUANTILE)
    weight: float
    sims: np.ndarray = field(repr=False)     # students x students, NaN where not compared
    z: np.ndarray = field(repr=False)
    shared: np.ndarray | None = field(default=None, repr=False)   # code: fingerprints shared
    notable: np.ndarray | None = field(default=None, repr=False)  # see notable_matrix


def task_stats(task: Task, sim: np.ndarray) -> TaskStats:
    """Median and spread of the task's pair similarities, each pair's z, the task weight."""
    n = sim.shape[0]
    iu = np.triu_indices(n, 1)
    values = sim[iu]
    values = values[~np.isnan(values)]
    compared = int((~np.isnan(np.diag(sim))).sum()) if n else 0
    if values.size == 0:
        return TaskStats(task, compared, float("nan"), float("nan"), 0.0, sim,
                         np.full_like(sim, np.nan))
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median)))
    tail = (float(np.quantile(values, TAIL_QUANTILE)) - median) / TAIL_Z
    spread = max(1.4826 * mad, tail, SPREAD_FLOOR)
    z = (sim - median) / spread
    return TaskStats(task, compared, median, spread, float(np.clip(1.0 - median, 0.0, 1.0)),
                     sim, z)


@dataclass
class Pair:
    a: str
    b: str
    score: float                  # most unusual weighted task z of the pair
    listed: bool                  # listed for a person to review
    i: int                        # the students' rows in the task matrices
    j: int


def notable_matrix(st: TaskStats) -> np.ndarray:
    """Pairs whose similarity on this task is unusual and high enough to list."""
    sims = np.nan_to_num(st.sims, nan=-1.0)
    z = np.nan_to_num(st.z, nan=-np.inf)
    notable = (z >= FLAG_Z) & (sims >= FLAG_SIMILARITY[st.task.kind]) & (st.weight >= MIN_WEIGHT)
    if st.shared is not None:
        notable &= st.shared >= MIN_SHARED
    return notable


def rank_pairs(students: list[str], stats: list[TaskStats]) -> list[Pair]:
    """Every pair with at least one compared task, listed ones first, then most unusual
    (largest weight x z over the pair's tasks); all tasks at once as matrices."""
    n = len(students)
    score = np.full((n, n), -np.inf)
    listed = np.zeros((n, n), dtype=bool)
    compared = np.zeros((n, n), dtype=bool)
    for st in stats:
        valid = ~np.isnan(st.sims)
        compared |= valid
        score = np.maximum(score, np.where(valid, st.weight * np.nan_to_num(st.z), -np.inf))
        listed |= st.notable
    ii, jj = np.triu_indices(n, 1)
    keep = compared[ii, jj]
    ii, jj = ii[keep], jj[keep]
    pairs = [Pair(students[i], students[j], sc, li, i, j) for i, j, sc, li in
             zip(ii.tolist(), jj.tolist(), score[ii, jj].tolist(), listed[ii, jj].tolist())]
    pairs.sort(key=lambda p: (not p.listed, -p.score, p.a, p.b))
    return pairs


def task_rows(stats: list[TaskStats], p: Pair) -> list[tuple]:
    """(grade_id, similarity, z, weight, notable) of every task compared for the pair."""
    rows = []
    for st in stats:
        s = float(st.sims[p.i, p.j])
        if not math.isnan(s):
            rows.append((st.task.grade_id, s, float(st.z[p.i, p.j]), st.weight,
                         bool(st.notable[p.i, p.j])))
    return rows


def clusters(pairs: list[Pair]) -> list[list[str]]:
    """Groups of CLUSTER_SIZE+ students connected through listed pairs (union-find)."""
    parent = {}

    def root(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        if p.listed:
            parent[root(p.a)] = root(p.b)
    groups = {}
    for x in list(parent):
        groups.setdefault(root(x), []).append(x)
    return sorted((sorted(g) for g in groups.values() if len(g) >= CLUSTER_SIZE),
                  key=lambda g: (-len(g), g))


# ---- orchestrator ----------------------------------------------------------------------------
@dataclass
class Analysis:
    assignment: str
    students: list[str]
    problems: dict[str, str]              # student -> why not compared
    tasks: list[Task]
    stats: list[TaskStats]
    pairs: list[Pair]
    clusters: list[list[str]]
    normalised: dict = field(repr=False)  # (student, grade_id) -> normalised text
    raw: dict = field(repr=False)         # (student, grade_id) -> raw source
    seconds: float = 0.0


def normalise_class(subs: list[Submission], tasks: list[Task], supplied: Supplied) -> dict:
    """(student, grade_id) -> normalised code or answer text, for every compared submission."""
    out = {}
    for sub in subs:
        for task in tasks:
            raw = sub.cells.get(task.grade_id, "")
            out[sub.student, task.grade_id] = (normalise_code(raw, supplied) if task.kind == "code"
                                               else normalise_answer(raw, supplied))
    return out


def compare_task(task: Task, students: list[str], normalised: dict) -> TaskStats:
    texts = [normalised[s, task.grade_id] for s in students]
    if task.kind == "code":
        sim, shared = code_similarity([code_fingerprints(t)[1] for t in texts])
        stats = task_stats(task, sim)
        stats.shared = shared
    else:
        stats = task_stats(task, answer_similarity([answer_terms(t) for t in texts]))
    stats.notable = notable_matrix(stats)
    return stats


def load_class(course: Path, assignment: str, notebook: str | None = None):
    """(spec, tasks, supplied, submissions) of an nbgrader course folder."""
    course = Path(course)
    nb_name = notebook or _only_notebook(course / "source" / assignment)
    spec = SourceSpec.load(course / "source" / assignment / nb_name)
    release = course / "release" / assignment / nb_name
    if not release.is_file():
        raise FileNotFoundError(f"{release} is missing: run `make notebooks` (or nbgrader "
                                "generate_assignment) first; it says what the course supplies")
    supplied = supplied_material(read_notebook(release))
    tasks = course_tasks(spec)
    root = course / "submitted"
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    subs = [load_submission(p / assignment / nb_name, p.name, spec, tasks) for p in folders]
    return spec, tasks, supplied, subs


def _only_notebook(folder: Path) -> str:
    found = sorted(p.name for p in folder.glob("*.ipynb"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected one notebook in {folder}, found {found or 'none'} "
                                "(pass --notebook)")
    return found[0]


def analyse(course: Path, assignment: str = DEFAULT_ASSIGNMENT,
            notebook: str | None = None) -> Analysis:
    """Read, normalise, compare and rank a whole class (no report written)."""
    start = time.perf_counter()
    _, tasks, supplied, subs = load_class(course, assignment, notebook)
    problems = {s.student: s.problem for s in subs if s.problem}
    ok = [s for s in subs if not s.problem]
    students = [s.student for s in ok]
    normalised = normalise_class(ok, tasks, supplied)
    stats = [compare_task(t, students, normalised) for t in tasks]
    pairs = rank_pairs(students, stats)
    raw = {(s.student, g): src for s in ok for g, src in s.cells.items()}
    return Analysis(assignment, students, problems, tasks, stats, pairs, clusters(pairs),
                    normalised, raw, time.perf_counter() - start)


# ---- step 6: report -----------------------------------------------------------------------------
def highlighted_pair(left: str, right: str) -> tuple[str, str]:
    """Both normalised codes as HTML with the regions copydetect matches marked (its own
    ``compare_files``, which maps the matches back from the filtered text)."""
    from copydetect.detector import CodeFingerprint, compare_files
    from copydetect.utils import highlight_overlap
    prints = [CodeFingerprint("cell.py", FINGERPRINT_K, WINNOW_WINDOW, language="python",
                              fp=io.StringIO(doc)) for doc in (left, right)]
    _, _, slices = compare_files(*prints)
    out = []
    for doc, cut in zip((left, right), slices):
        if len(cut) == 0 or np.asarray(cut).shape[-1] == 0:
            out.append(html.escape(doc))
            continue
        marked, _ = highlight_overlap(doc, np.asarray(cut), "\x00", "\x01", escape_html=True)
        out.append(marked.replace("\x00", "<mark>").replace("\x01", "</mark>"))
    return out[0], out[1]


def answer_marked(left: str, right: str) -> tuple[str, str]:
    """Both answers as HTML with the words (stems) the other one also uses marked."""
    sl, sr = set(answer_terms(left)), set(answer_terms(right))

    def mark(text, other):
        def one(m):
            w = m.group(0)
            hit = w.lower() not in STOPWORDS and stem(w.lower()) in other
            return f"<mark>{html.escape(w)}</mark>" if hit else html.escape(w)
        return re.sub(r"[A-Za-z][A-Za-z0-9]*|[^A-Za-z]+", one, text)

    return mark(left, sr), mark(right, sl)


def distribution_png(stats: list[TaskStats]) -> str:
    """One histogram per task that can list a pair (pair similarities on a log scale, and the
    review line), as a PNG data URI; "" when there is none."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker
    shown = [s for s in stats if not math.isnan(s.median) and s.weight >= MIN_WEIGHT]
    if not shown:
        return ""
    cols = min(3, len(shown))
    rows = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.7 * cols, 2.7 * rows), squeeze=False)
    for ax, st in zip(axes.ravel(), shown):
        vals = st.sims[np.triu_indices(st.sims.shape[0], 1)]
        counts, edges = np.histogram(vals[~np.isnan(vals)], bins=HIST_BINS, range=(0, 1))
        ax.stairs(counts, edges, fill=True, color="#4a6fa5")     # one artist: fast to draw
        line = max(st.median + FLAG_Z * st.spread, FLAG_SIMILARITY[st.task.kind])
        ax.axvline(line, color="#b03030", ls="--", lw=1)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))  # no mathtext
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_title(f"{st.task.grade_id} (weight {st.weight:.2f})", fontsize=9)
        ax.set_xlabel("pair similarity", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(shown):]:
        ax.axis("off")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.16 / rows, top=1 - 0.1 / rows,
                        wspace=0.3, hspace=0.7)   # fixed margins: tight_layout is slow
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


CSS = """body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:75rem;padding:0 1rem;
color:#1b1b1b;background:#fff;line-height:1.45}table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #999;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#e8e8e8}.num{text-align:right;font-variant-numeric:tabular-nums}
.side{display:grid;grid-template-columns:1fr 1fr;gap:1rem}pre{background:#f4f4f4;padding:.5rem;
overflow-x:auto;white-space:pre-wrap;font-size:.85rem;border:1px solid #ccc}
mark{background:#ffd54f;color:#000}.note{border-left:4px solid #4a6fa5;padding:.5rem 1rem;
background:#eef3fa}summary{cursor:pointer;font-weight:600}"""


def _e(x) -> str:
    return html.escape(str(x))


def render_html(an: Analysis) -> str:
    """The whole report as one self-contained page (inline CSS and image, no script)."""
    listed = [p for p in an.pairs if p.listed]
    shown = an.pairs[: max(TOP_PAIRS, min(len(listed), MAX_SIDE_BY_SIDE))]
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
           f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
           f"<link rel='icon' href='data:,'>"   # no favicon request: the page is all there is
           f"<title>Similarity report: {_e(an.assignment)}</title><style>{CSS}</style></head>"
           f"<body><header><h1>Similarity report: {_e(an.assignment)}</h1></header><main>"]
    out.append(
        "<p class='note'>This page lists pairs of submissions whose work is more alike than the "
        "class usually is. A listed pair is a reason for a person to look at both notebooks, "
        "not a finding: similar work has honest explanations (working together as allowed, the "
        "same tutorial, a short task with one natural answer). Computed on this machine; no "
        "submission was sent anywhere.</p>")
    out.append(f"<p>{len(an.students)} submissions compared, {len(an.pairs)} pairs, "
               f"{len(listed)} listed for review, {len(an.clusters)} groups of "
               f"{CLUSTER_SIZE} or more; {an.seconds:.1f} s.</p>")
    out.append("<section aria-labelledby='excluded'><h2 id='excluded'>What was left out, and why"
               "</h2><ul>")
    out += [f"<li><strong>{what}</strong>: {why}.</li>" for what, why in EXCLUDED_WHY]
    out.append("</ul>")
    if an.problems:
        out.append("<p>Submissions not compared:</p><ul>")
        out += [f"<li>{_e(s)}: {_e(why)}</li>" for s, why in sorted(an.problems.items())]
        out.append("</ul>")
    out.append("</section>")
    out.append(_tasks_section(an))
    out.append(_pairs_section(shown, an.stats, len(an.pairs)))
    out.append(_clusters_section(an))
    out.append(_details_section(an, listed))
    out.append("</main></body></html>")
    return "\n".join(out)


def _tasks_section(an: Analysis) -> str:
    rows = []
    for st in an.stats:
        if math.isnan(st.median):
            why = "not compared: no student has enough own work here (too short or not attempted)"
            rows.append(f"<tr><td>{_e(st.task.grade_id)}</td><td>{st.task.kind}</td>"
                        f"<td class='num'>{st.compared}</td><td colspan='3'>{why}</td></tr>")
            continue
        note = " (alike anyway: never lists a pair)" if st.weight < MIN_WEIGHT else ""
        rows.append(f"<tr><td>{_e(st.task.grade_id)}</td><td>{st.task.kind}</td>"
                    f"<td class='num'>{st.compared}</td><td class='num'>{st.median:.2f}</td>"
                    f"<td class='num'>{st.spread:.2f}</td>"
                    f"<td class='num'>{st.weight:.2f}{note}</td></tr>")
    png = distribution_png(an.stats)
    img = (f"<figure><img src='{png}' alt='Histograms of pair similarity for each task that can "
           f"list a pair, log scale; "
           f"the dashed line is where a pair becomes unusual enough to list'><figcaption>Pair "
           f"similarity per task across the class (log counts). Dashed: review line.</figcaption>"
           f"</figure>") if png else ""
    return ("<section aria-labelledby='tasks'><h2 id='tasks'>Tasks and how alike the class is"
            "</h2><p>Each pair is judged against all pairs of the same task: z is how many "
            f"robust standard deviations (spread: the larger of 1.4826 MAD and the distance "
            f"from the "
            f"median to the {TAIL_QUANTILE:.0%} quantile over {TAIL_Z:g}) above the median its "
            "similarity lies. A task whose "
            "honest answers look alike anyway (high median) counts less: weight = 1 - median. "
            f"A pair is listed when one task has z &ge; {FLAG_Z:g}, similarity &ge; "
            f"{FLAG_SIMILARITY['code']:g} (code, with at least {MIN_SHARED} shared fingerprints) "
            f"or {FLAG_SIMILARITY['answer']:g} (written), and weight &ge; {MIN_WEIGHT:g}. Code "
            f"similarity: the share of winnowed fingerprints (copydetect, {FINGERPRINT_K}-grams "
            f"of the filtered code) both have; written: TF-IDF cosine of stemmed words.</p>"
            "<table><caption>Per-task distribution</caption>"
            "<thead><tr><th scope='col'>task</th><th scope='col'>kind</th><th scope='col'>"
            "compared</th><th scope='col'>median</th><th scope='col'>spread</th><th scope='col'>"
            "weight</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>" + img +
            "</section>")


def _pair_id(p: Pair) -> str:
    return "pair-" + re.sub(r"[^A-Za-z0-9_-]", "_", f"{p.a}--{p.b}")


def _pairs_section(shown: list[Pair], stats: list[TaskStats], total: int) -> str:
    rows = []
    for rank, p in enumerate(shown, 1):
        top = max(task_rows(stats, p), key=lambda t: t[3] * t[2])
        who = (f"<a href='#{_pair_id(p)}'>{_e(p.a)} &amp; {_e(p.b)}</a>"
               if p.listed and rank <= MAX_SIDE_BY_SIDE else f"{_e(p.a)} &amp; {_e(p.b)}")
        rows.append(f"<tr><td class='num'>{rank}</td><td>{who}</td><td class='num'>{p.score:.1f}"
                    f"</td><td>{_e(top[0])} (similarity {top[1]:.2f}, z {top[2]:.1f})</td>"
                    f"<td>{'review' if p.listed else ''}</td></tr>")
    return ("<section aria-labelledby='pairs'><h2 id='pairs'>Pairs, most unusual first</h2>"
            f"<p>The first {len(shown)} of {total} pairs; every pair is in pairs.csv next to "
            "this page.</p>"
            "<table><caption>Score: the largest weight &times; z over the pair's tasks</caption>"
            "<thead><tr><th scope='col'>rank</th><th scope='col'>students</th><th scope='col'>"
            "score</th><th scope='col'>most unusual task</th><th scope='col'>listed</th></tr>"
            "</thead><tbody>" + "".join(rows) + "</tbody></table></section>")


def _clusters_section(an: Analysis) -> str:
    if not an.clusters:
        body = f"<p>No group of {CLUSTER_SIZE} or more students is linked by listed pairs.</p>"
    else:
        body = "<ul>" + "".join(f"<li>{', '.join(_e(s) for s in g)}</li>" for g in an.clusters) \
               + "</ul>"
    return ("<section aria-labelledby='clusters'><h2 id='clusters'>Groups linked by listed pairs"
            "</h2>" + body + "</section>")


def _details_section(an: Analysis, listed: list[Pair]) -> str:
    parts = ["<section aria-labelledby='side'><h2 id='side'>Side by side</h2><p>Own code after "
             "removing what the course supplies and normalising (names are kept here so it stays "
             "readable, but they are not compared). Highlighted: the regions the fingerprints "
             "match. Written answers: the shared content words.</p>"]
    if not listed:
        parts.append("<p>No pair is listed for review.</p>")
    if len(listed) > MAX_SIDE_BY_SIDE:
        parts.append(f"<p>The first {MAX_SIDE_BY_SIDE} of {len(listed)} listed pairs; every pair "
                     "is in pairs.csv next to this page.</p>")
    for p in listed[:MAX_SIDE_BY_SIDE]:
        parts.append(f"<article id='{_pair_id(p)}'><h3>{_e(p.a)} &amp; {_e(p.b)}</h3>")
        for gid, sim, z, weight, notable in sorted(task_rows(an.stats, p),
                                                   key=lambda t: -t[3] * t[2]):
            if not notable:
                continue
            kind = next(t.kind for t in an.tasks if t.grade_id == gid)
            left, right = an.normalised[p.a, gid], an.normalised[p.b, gid]
            if kind == "code":
                hl, hr = highlighted_pair(left, right)
            else:
                hl, hr = answer_marked(left, right)
            parts.append(
                f"<h4>{_e(gid)}: similarity {sim:.2f}, z {z:.1f}, weight {weight:.2f}</h4>"
                f"<div class='side'><div><p>{_e(p.a)}</p><pre>{hl}</pre></div>"
                f"<div><p>{_e(p.b)}</p><pre>{hr}</pre></div></div>"
                f"<details><summary>As submitted: {_e(gid)}</summary><div class='side'>"
                f"<pre>{_e(an.raw.get((p.a, gid), ''))}</pre>"
                f"<pre>{_e(an.raw.get((p.b, gid), ''))}</pre></div></details>")
        parts.append("</article>")
    parts.append("</section>")
    return "".join(parts)


def write_csv(an: Analysis, path: Path) -> None:
    """Every pair, in rank order: one row each, similarity and z of every compared task."""
    tasks = [st for st in an.stats if not math.isnan(st.median)]
    ii = np.array([p.i for p in an.pairs], dtype=int)
    jj = np.array([p.j for p in an.pairs], dtype=int)
    columns = []
    for st in tasks:
        sims, zs = st.sims[ii, jj].tolist(), st.z[ii, jj].tolist()
        columns.append(["" if math.isnan(s) else f"{s:.3f}" for s in sims])
        columns.append(["" if math.isnan(s) else f"{z:.2f}" for s, z in zip(sims, zs)])
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["rank", "student_a", "student_b", "score", "listed_for_review"]
                   + [f"{st.task.grade_id} {what}" for st in tasks for what in ("similarity", "z")])
        for rank, (p, *cells) in enumerate(zip(an.pairs, *columns), 1):
            w.writerow([rank, p.a, p.b, f"{p.score:.3f}", int(p.listed), *cells])


def write_report(an: Analysis, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "index.html"
    page.write_text(render_html(an), encoding="utf-8")
    write_csv(an, out_dir / "pairs.csv")
    return page


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--course", type=Path, default=Path(__file__).resolve().parents[1])
    ap.add_argument("--assignment", default=DEFAULT_ASSIGNMENT)
    ap.add_argument("--notebook", default=None, help="notebook name (default: the only one)")
    ap.add_argument("--out", type=Path, default=None, help=f"default <course>/{REPORT_DIR}")
    args = ap.parse_args(argv)
    try:
        an = analyse(args.course, args.assignment, args.notebook)
    except FileNotFoundError as exc:
        print(f"similarity: {exc}", file=sys.stderr)
        return 2
    page = write_report(an, args.out or args.course / REPORT_DIR)
    listed = sum(p.listed for p in an.pairs)
    print(f"{len(an.students)} submissions, {len(an.pairs)} pairs, {listed} listed for review, "
          f"{len(an.clusters)} groups; {an.seconds:.1f} s\nreport: {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
