"""Running notebook cells: whole, or cut down to their definitions (imports, plain ``def``s,
constant assignments) when a cell stopped its loader; the trusted setup cells; and heavy
modules bound lazily or imported once before any student code runs."""

import ast
import re
import traceback

from .framing import short

#: AST nodes whose evaluation may call something (anything else is names, literals, arithmetic)
_CALLING = (
    ast.Call,
    ast.Lambda,
    ast.Await,
    ast.Yield,
    ast.YieldFrom,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.NamedExpr,
    ast.Subscript,
    ast.Attribute,
)


def _is_const_expr(node):
    """True if evaluating ``node`` cannot call anything (names, literals, arithmetic)."""
    return not any(isinstance(sub, _CALLING) for sub in ast.walk(node))


def _def_has_calls_at_definition(node):
    """Decorators, default values and annotations run when a ``def`` statement runs."""
    if isinstance(node, ast.ClassDef) or node.decorator_list:
        return True  # class bodies run at definition time; a decorator is a call
    args = node.args
    parts = list(args.defaults)
    parts += [d for d in args.kw_defaults if d is not None]
    every = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a is not None]
    parts += [a.annotation for a in every if a.annotation is not None]
    if node.returns is not None:
        parts.append(node.returns)
    return not all(_is_const_expr(p) for p in parts)


def _plain_target(t):
    return isinstance(t, ast.Name) or (
        isinstance(t, (ast.Tuple, ast.List)) and all(isinstance(e, ast.Name) for e in t.elts)
    )


def definitions_only(tree):
    """Statements of a cell that only *define* things: imports, plain ``def``s and constant
    assignments (annotations included in the test). Used for the trusted setup cells and for
    a student cell that stopped its loader (the cut-down cell)."""
    keep = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            keep.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not _def_has_calls_at_definition(node):
                keep.append(node)
        elif isinstance(node, ast.Assign):
            if _is_const_expr(node.value) and all(_plain_target(t) for t in node.targets):
                keep.append(node)
        elif isinstance(node, ast.AnnAssign):
            if (
                node.value is not None
                and _is_const_expr(node.value)
                and _is_const_expr(node.annotation)
                and isinstance(node.target, ast.Name)
            ):
                keep.append(node)
    return keep


class _Lazy:
    """Stand-in for a heavy module (torch, matplotlib...) imported by a setup cell: imports the
    real thing only if student code touches it, so honest numpy-only checks stay cheap."""

    def __init__(self, modname, attr=None):
        object.__setattr__(self, "_spec", (modname, attr))

    def _resolve(self):
        import importlib

        modname, attr = object.__getattribute__(self, "_spec")
        mod = importlib.import_module(modname)
        return getattr(mod, attr) if attr else mod

    def __getattr__(self, name):
        return getattr(self._resolve(), name)

    def __call__(self, *a, **k):
        return self._resolve()(*a, **k)


def _lazy_imports(node, heavy, ns):
    """Bind lazy stand-ins for imports of heavy modules; return False if not handled."""

    def is_heavy(name):
        return name.split(".")[0] in heavy

    if isinstance(node, ast.Import) and all(is_heavy(a.name) for a in node.names):
        for a in node.names:
            if a.asname:
                ns[a.asname] = _Lazy(a.name)
            else:
                ns[a.name.split(".")[0]] = _Lazy(a.name.split(".")[0])
        return True
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and is_heavy(node.module):
        for a in node.names:
            if a.name != "*":
                ns[a.asname or a.name] = _Lazy(node.module, a.name)
        return True
    return False


def run_statements(nodes, ns, filename, errors):
    """Run each statement on its own; a failing one is recorded and the next still runs."""
    for node in nodes:
        try:
            code = compile(ast.Module(body=[node], type_ignores=[]), filename, "exec")
            exec(code, ns)
        except BaseException as exc:  # noqa: BLE001 - any failure of one statement is recorded
            errors.append(
                "%s line %s: %s: %s" % (filename, getattr(node, "lineno", "?"), type(exc).__name__, short(str(exc)))
            )


def short_tb(exc):
    """Traceback lines of the student's own code only (frames from ``<cell ...>``)."""
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell")]
        lines = ["%s, line %s, in %s" % (f.filename, f.lineno, f.name) for f in frames[-3:]]
        lines.append("%s: %s" % (type(exc).__name__, short(str(exc))))
        return "\n".join(lines)
    except BaseException:  # noqa: BLE001 - a hostile __str__
        return "an exception that could not be shown"


def label(job, i):
    """The grade_id (or "added k") of the student's cell ``i``."""
    return job["cells"][i]["grade_id"]


def run_cell(job, i, mode, ns, errors):
    """Run student cell ``i`` in the loader: whole (``full``) or definitions only (``cut``).
    Parsing happens here, under the student's limits."""
    fname = "<cell %s>" % label(job, i)
    try:
        tree = ast.parse(job["cells"][i]["source"], fname)
    except BaseException as exc:  # noqa: BLE001 - SyntaxError, MemoryError, RecursionError
        errors.append("%s: %s: %s" % (fname, type(exc).__name__, short(str(exc))))
        return
    if mode == "full":
        try:
            exec(compile(tree, fname, "exec"), ns)
        except BaseException as exc:  # noqa: BLE001 - as nbgrader: the cell's error is shown
            errors.append(short_tb(exc))
    else:
        run_statements(definitions_only(tree), ns, fname, errors)


def setup_namespace(job):
    """The SOURCE notebook's locked cells, definitions only (trusted code), heavy imports
    bound lazily. Returns (namespace, errors)."""
    base_ns = {"__name__": "__main__", "__builtins__": __builtins__}
    setup_errors = []
    heavy = set(job.get("heavy", []))
    for k, code in enumerate(job["setup"]):
        try:
            tree = ast.parse(code)
        except SyntaxError as exc:
            setup_errors.append("setup %d: %s" % (k, exc))
            continue
        plain = [node for node in definitions_only(tree) if not _lazy_imports(node, heavy, base_ns)]
        run_statements(plain, base_ns, "<setup %d>" % k, setup_errors)
    return base_ns, setup_errors


def mentioned(job):
    """The modules of ``job["prewarm"]`` (and their submodules) the student's cells import or
    use, at most 20 per module. A plain text search (an import of the module, or an attribute
    of it such as ``torch.zeros``): student code is never parsed here. (The grader runs it too,
    to have a warm sandbox's fork server load them for the students after.)"""
    found = []
    for mod in job.get("prewarm", []):
        imports = re.compile(r"^[ \t]*(?:import|from)[ \t]+(%s(?:\.\w+)*)" % re.escape(mod), re.M)
        attribute = re.compile(r"\b%s[ \t]*\." % re.escape(mod))
        names = set()
        for cell in job["cells"]:
            names.update(imports.findall(cell["source"]))
            if attribute.search(cell["source"]):
                names.add(mod)
        found += sorted(names)[:20]
    return found


def prewarm(job):
    """Heavy modules the student's cells mention (:func:`mentioned`) are imported once here
    (the real module from the read-only venv, before any student code runs), not once per
    loader or check."""
    for name in mentioned(job):
        try:
            __import__(name)
        except Exception:
            pass
