"""Do imports run in the allowed directions between references, build code, pages and grader?

* the build code (``course/``), the pages (``book/``: Python files and the code cells of every
  MyST page) and the references (``solutions/``) import nothing from ``neurograder`` (its
  private modules included): the site build runs no hidden check;
* ``course/`` and ``neurograder`` import nothing from ``solutions/``: a module's Python is
  reached through its manifest only (the Python a manifest names is module content, exempt;
  a module's checks, grading content, may use the grading engine);
* ``neurograder`` imports no module content at all: nothing from ``book/`` or ``solutions/``,
  nothing of ``course/`` but the manifest, and no module's checks by name;
* the references import nothing from grading (``neurograder``, ``nbgrader``).

Imports are read with ``ast`` (every ``import`` / ``from ... import``, also inside functions).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from course import manifest

ROOT = Path(__file__).resolve().parents[1]
GRADER = ROOT / "grader" / "neurograder"
GRADING = ("neurograder", "nbgrader")
#: files that still reach module content directly, with the reason (each is a known debt)
KNOWN: dict[str, str] = {}
CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(?:---\n.*?\n---\n|(?::[^\n]*\n)*)(.*?)^```", re.S | re.M)


def imported(source: str) -> set[str]:
    """Every module name an import statement in ``source`` names (absolute imports only)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def page_code(md: Path) -> str:
    """The code cells of a MyST page, IPython magics dropped."""
    cells = CODE_CELL.findall(md.read_text(encoding="utf-8"))
    return "\n".join(ln for cell in cells for ln in cell.splitlines() if not ln.lstrip().startswith(("%", "!")))


def from_package(names: set[str], packages) -> set[str]:
    return {n for n in names if n.split(".")[0] in packages}


def manifest_named_files(roles=None) -> set[Path]:
    """Files of the Python every module manifest names (module content), or only for ``roles``."""
    files = set()
    for m in manifest.modules():
        for role in m.python:
            path = m.code_file(role) if roles is None or role in roles else None
            if path is not None:
                files.add(path.resolve())
    return files


def dotted_names() -> set[str]:
    """The dotted module names the manifests give (module content reached by name)."""
    return {entry for m in manifest.modules() for entry in m.python.values() if not entry.endswith(".py")}


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_imports_reads_every_form():
    """Does the reader see plain, from- and nested imports (so the checks below can fail)?"""
    src = "import a.b\nfrom c import d\ndef f():\n    from e.f import g\n"
    assert imported(src) >= {"a.b", "c", "c.d", "e.f", "e.f.g"}


@pytest.mark.timeout(60)
def test_build_code_pages_and_references_import_no_grader():
    """Do course/, book/ and solutions/ import nothing from neurograder (the site runs no hidden check)?"""
    checks = manifest_named_files({"checks"})
    sources = {
        rel(p): p.read_text()
        for d in ("course", "solutions", "book")
        for p in (ROOT / d).rglob("*.py")
        if p.resolve() not in checks
    }
    sources |= {rel(p): page_code(p) for p in (ROOT / "book").rglob("*.md")}
    assert any("run_check" not in s and "show_stub" in s for s in sources.values())  # pages were read
    bad = {path: sorted(from_package(imported(src), {"neurograder"})) for path, src in sources.items()}
    assert not {p: n for p, n in bad.items() if n}


@pytest.mark.timeout(60)
def test_course_and_grader_reach_references_only_through_manifests():
    """Do course/ and neurograder import nothing from solutions/, except the Python a manifest names?"""
    exempt = manifest_named_files()
    files = [p for p in [*(ROOT / "course").glob("*.py"), *GRADER.rglob("*.py")] if p.resolve() not in exempt]
    assert GRADER / "grading.py" in files
    bad = {rel(p): sorted(from_package(imported(p.read_text()), {"solutions"})) for p in files}
    bad = {p: n for p, n in bad.items() if n and p not in KNOWN}
    assert not bad


@pytest.mark.timeout(60)
def test_references_import_nothing_from_grading():
    """Does solutions/ import nothing from neurograder or nbgrader?"""
    bad = {rel(p): sorted(from_package(imported(p.read_text()), GRADING)) for p in (ROOT / "solutions").glob("*.py")}
    assert not {p: n for p, n in bad.items() if n}


def module_content(name: str, named: set[str]) -> bool:
    """Is the imported ``name`` a module's content (``named``: the manifests' dotted modules)?"""
    top = name.split(".")[0]
    return (
        top in ("book", "solutions")
        or (top == "course" and not name.startswith("course.manifest"))
        or any(name == n or name.startswith(n + ".") for n in named)
    )


@pytest.mark.timeout(60)
def test_module_content_is_recognised():
    """Would an engine importing references, build code or a named module be caught, and the
    manifest and the engine itself be allowed (so the test below can fail)?"""
    named = {"solutions.reference", "demo_checks"}
    assert all(module_content(n, named) for n in ("solutions.neurons", "course.cells", "demo_checks.CHECKS"))
    assert not any(
        module_content(n, named) for n in ("course.manifest", "course.manifest.module", "neurograder.checks", "numpy")
    )


@pytest.mark.timeout(60)
def test_grader_imports_no_module_content():
    """Do neurograder's files import nothing of a module (book/, solutions/, course/ but its
    manifest, a manifest's dotted modules), so every module's content is reached through its manifest?"""
    files = list(GRADER.rglob("*.py"))
    assert GRADER / "checks.py" in files and GRADER / "hidden.py" in files
    named = dotted_names()
    assert "solutions.reference" in named
    bad = {rel(p): sorted(n for n in imported(p.read_text()) if module_content(n, named)) for p in files}
    assert not {p: n for p, n in bad.items() if n}
