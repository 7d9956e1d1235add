"""Steps 2-3: remove what the course supplies, normalise what copying disguises."""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass

from .settings import PLACEHOLDERS, STOPWORDS


def _unparse_lines(source: str) -> list[str]:
    try:
        return [ln.strip() for ln in ast.unparse(ast.parse(source)).splitlines() if ln.strip()]
    except (SyntaxError, ValueError, RecursionError):
        return [ln.strip() for ln in source.splitlines() if ln.strip()]


@dataclass(frozen=True)
class Supplied:
    """What the released notebook gives every student."""

    code_lines: frozenset[str]  # normalised (unparsed) lines of every code cell
    sentences: frozenset[str]  # normalised sentences of every markdown cell


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
    return isinstance(node, ast.Raise) and isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


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
                isinstance(t, ast.Name) and t.id in self.local_names for t in stmt.targets
            ):
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
LEAVING = (
    ast.Return,
    ast.Raise,
    ast.Break,
    ast.Continue,
    ast.Yield,
    ast.YieldFrom,
    ast.Global,
    ast.Nonlocal,
    ast.Assert,
)


def _is_constant_store(stmt) -> bool:
    """``name = <literal>``: cannot raise and has no effect but the name."""
    value = getattr(stmt, "value", None)
    if isinstance(value, ast.UnaryOp):
        value = value.operand
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
    return (
        isinstance(stmt, (ast.Assign, ast.AnnAssign))
        and isinstance(value, ast.Constant)
        and all(isinstance(t, ast.Name) for t in targets)
    )


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
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in local_names
        ):
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
        self.local_names = frozenset(
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        )

    def generic_visit(self, node):
        super().generic_visit(node)
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(node, name, canonical_order(block, self.local_names))
        return node


@functools.lru_cache(maxsize=4096)  # a class hands in many identical cells (stubs, one-liners)
def normalise_code(source: str, supplied: Supplied) -> str:
    """Student-written code only, in canonical form (see the module docstring, steps 2-3).

    Code that does not parse keeps its own lines, minus comments and supplied lines."""
    try:
        tree = ast.parse(source)
        tree = DeadCode(unused_locals(tree)).visit(tree)
        tree = DeadCode(unused_locals(tree)).visit(tree)  # a second pass frees chains
        lines = ast.unparse(Reorder(tree).visit(tree)).splitlines()
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        lines = [re.sub(r"#.*", "", ln) for ln in source.splitlines()]
    kept = [
        ln
        for ln in lines
        if ln.strip() and ln.strip() not in supplied.code_lines and not any(p in ln for p in PLACEHOLDERS)
    ]
    return "\n".join(kept)


def _sentences(text: str) -> list[str]:
    return [" ".join(s.lower().split()) for s in re.split(r"(?<=[.!?])\s+|\n\s*\n", text)]


def normalise_answer(text: str, supplied: Supplied) -> str:
    """The written answer minus placeholders and sentences quoted from the notebook."""
    kept = [
        s
        for s in _sentences(text)
        if s and s not in supplied.sentences and not any(p.lower() in s for p in PLACEHOLDERS)
    ]
    return " ".join(kept)


def stem(word: str) -> str:
    """A crude suffix stripper: enough to match 'spikes'/'spiking'/'spiked' for cosine."""
    for suffix in ("ations", "ation", "ingly", "ings", "ing", "edly", "ed", "ies", "es", "ly", "er", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def answer_terms(text: str) -> list[str]:
    return [stem(w) for w in re.findall(r"[a-z][a-z0-9]*", text.lower()) if w not in STOPWORDS]
