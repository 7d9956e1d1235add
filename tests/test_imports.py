"""Do imports run in the allowed directions between references, build code, pages and grader?

* the build code (``course/``), the pages (``book/``: Python files and the code cells of every
  MyST page) and the references (``solutions/``) import nothing from ``neurograder`` (its
  private modules included): the site build runs no hidden check;
* ``course/`` and ``neurograder`` import nothing from ``solutions/``: a module's Python is
  reached through its manifest only (the Python a manifest names is module content, exempt);
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


def manifest_named_files() -> set[Path]:
    """Files of the Python every module manifest names (module content)."""
    files = set()
    for m in manifest.modules():
        for role in m.python:
            path = m.code_file(role)
            if path is not None:
                files.add(path.resolve())
    return files


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_imports_reads_every_form():
    """Does the reader see plain, from- and nested imports (so the checks below can fail)?"""
    src = "import a.b\nfrom c import d\ndef f():\n    from e.f import g\n"
    assert imported(src) >= {"a.b", "c", "c.d", "e.f", "e.f.g"}


@pytest.mark.timeout(60)
def test_build_code_pages_and_references_import_no_grader():
    """Do course/, book/ and solutions/ import nothing from neurograder (the site runs no hidden check)?"""
    sources = {rel(p): p.read_text() for d in ("course", "solutions", "book") for p in (ROOT / d).rglob("*.py")}
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
