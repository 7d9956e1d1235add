"""The course's modules, each one folder with a ``module.toml`` manifest.

This is the only place that knows the layout: a module is a folder of ``book/`` that
``_toc.yml`` lists a page of and that holds a ``module.toml``. The manifest names
everything module-specific once (see ``book/module1/module.toml`` for every key):

* ``assignment`` (nbgrader assignment id), ``chapter`` (the one chapter source),
  ``notebook`` (the assignment's notebook name), ``answers`` (model answers);
* ``[python]``: where the reference functions, graded values, claims and hidden checks live.
  An entry ending in ``.py`` is a file of the module folder (loaded from there, so a new
  module can keep its Python beside its page); any other entry is a dotted module importable
  from the repository root (module 1 keeps its science in ``solutions/``, its checks in
  ``checks.py`` beside its page);
* ``[companions]``: files copied next to the notebook (path in the assignment = path here);
* ``[tasks]``: task number -> the ``prefix`` of its graded cells' grade_ids, and whether it
  is ``optional`` (extra credit). Task numbers come from here, never from parsing ids;
* ``[grading]``: ``heavy_modules``, the module's own imports the sandbox loads lazily;
* ``[build]``: ``inputs``, more files (globs) whose change makes the notebooks out of date.

Paths in a manifest are relative to its folder.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]  # the repository (course) root
TOC = ROOT / "_toc.yml"  # the site's table of contents: which pages (and so modules) exist
BOOK = ROOT / "book"  # the site's pages; a module folder is a folder below it
MANIFEST = "module.toml"  # the manifest's file name in a module folder
COURSE_DIR = ROOT / "grader"  # the nbgrader course root (source/, release/, gradebook.db)
DOWNLOADS = ROOT / "_build" / "downloads"  # <assignment>.zip, linked from the chapter


class ManifestError(ValueError):
    """A module manifest is missing a key, names a missing file, or clashes with another."""


@dataclass(frozen=True)
class Task:
    number: str  # "4.1": as the page and the points table write it
    prefix: str  # grade_ids of its graded cells start with this ("task41_")
    optional: bool = False  # extra credit: nbgrader points 0, points in the extra-credit field


@dataclass(frozen=True)
class Module:
    """One assignment: its folder and what its manifest names, paths resolved."""

    folder: Path
    assignment: str
    chapter: Path
    notebook: str
    answers: Path | None
    python: dict[str, str]  # role -> dotted module name or file path (resolved)
    companions: tuple[tuple[Path, str], ...]  # (file here, path in the assignment)
    tasks: tuple[Task, ...]
    heavy_modules: tuple[str, ...] = ()
    extra_inputs: tuple[Path, ...] = field(default=())

    # ---- where the generated copies go
    @property
    def source_dir(self) -> Path:
        return COURSE_DIR / "source" / self.assignment

    @property
    def release_dir(self) -> Path:
        return COURSE_DIR / "release" / self.assignment

    @property
    def download(self) -> Path:
        return DOWNLOADS / f"{self.assignment}.zip"

    @property
    def site_path(self) -> str:
        """The module folder's path on the site ("module1")."""
        return self.folder.relative_to(BOOK).as_posix()

    # ---- its Python, reached only through here
    def code(self, role: str, required: bool = True) -> ModuleType | None:
        """The Python module the manifest names for ``role`` (reference, values, claims, checks)."""
        entry = self.python.get(role)
        if entry is None:
            if required:
                raise ManifestError(f"{self.folder / MANIFEST}: [python] names no `{role}`")
            return None
        return _import(entry, f"course_module_{self.assignment}_{role}")

    def code_file(self, role: str) -> Path | None:
        """The file of the Python module named for ``role`` (None when it names none)."""
        mod = self.code(role, required=False)
        return Path(mod.__file__) if mod is not None and getattr(mod, "__file__", None) else None

    def checks(self) -> dict:
        """The hidden checks: ``CHECKS`` of the checks module (grade_id -> check)."""
        return self.code("checks").CHECKS

    # ---- tasks
    def task_of(self, grade_id: str) -> Task:
        """The task a graded cell belongs to: the task with the longest matching prefix."""
        found = [t for t in self.tasks if grade_id.startswith(t.prefix)]
        if not found:
            raise ManifestError(f"grade_id {grade_id!r} matches no task prefix in {self.folder / MANIFEST} [tasks]")
        return max(found, key=lambda t: len(t.prefix))

    def is_optional(self, grade_id: str) -> bool:
        return self.task_of(grade_id).optional

    @property
    def optional_tasks(self) -> set[str]:
        return {t.number for t in self.tasks if t.optional}


def _import(entry: str, file_name: str) -> ModuleType:
    if not entry.endswith(".py"):
        return importlib.import_module(entry)
    if file_name in sys.modules:
        return sys.modules[file_name]
    spec = importlib.util.spec_from_file_location(file_name, entry)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[file_name] = mod  # inspect.getsource and dataclasses look modules up here
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[file_name]
        raise
    return mod


def _need(data: dict, key: str, where: Path):
    if key not in data:
        raise ManifestError(f"{where}: missing `{key}`")
    return data[key]


def _existing(folder: Path, rel: str, where: Path) -> Path:
    path = (folder / rel).resolve()
    if not path.exists():
        raise ManifestError(f"{where}: `{rel}` does not exist ({path})")
    return path


def load(folder: Path) -> Module:
    """Read and check one module folder's manifest."""
    where = folder / MANIFEST
    try:
        data = tomllib.loads(where.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ManifestError(f"{where}: {err}") from None
    python = {
        role: entry if not entry.endswith(".py") else str(_existing(folder, entry, where))
        for role, entry in data.get("python", {}).items()
    }
    tasks = tuple(
        Task(str(num), _need(t, "prefix", where), bool(t.get("optional", False)))
        for num, t in data.get("tasks", {}).items()
    )
    extra = tuple(
        p.resolve() for pattern in data.get("build", {}).get("inputs", []) for p in sorted(folder.glob(pattern))
    )
    return Module(
        folder=folder.resolve(),
        assignment=_need(data, "assignment", where),
        chapter=_existing(folder, _need(data, "chapter", where), where),
        notebook=_need(data, "notebook", where),
        answers=_existing(folder, data["answers"], where) if "answers" in data else None,
        python=python,
        companions=tuple((_existing(folder, here, where), there) for there, here in data.get("companions", {}).items()),
        tasks=tasks,
        heavy_modules=tuple(data.get("grading", {}).get("heavy_modules", [])),
        extra_inputs=extra,
    )


def toc_pages(toc: Path = TOC) -> list[str]:
    """Every page ``_toc.yml`` lists (root, chapters, sections), in order."""
    import yaml

    data = yaml.safe_load(toc.read_text(encoding="utf-8")) or {}
    pages = [data["root"]] if data.get("root") else []

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("chapters"))
            walk(entry.get("sections"))

    for part in data.get("parts", []):
        walk(part.get("chapters"))
    walk(data.get("chapters"))
    return pages


@lru_cache(maxsize=None)
def modules(root: Path = ROOT) -> tuple[Module, ...]:
    """Every module of the course: folders of pages in ``_toc.yml`` that hold a manifest, in
    table-of-contents order. Assignment ids must be unique."""
    found, seen = [], {}
    for page in toc_pages(root / TOC.name):
        folder = (root / page).parent
        if (folder / MANIFEST).exists() and folder not in seen.values():
            module = load(folder)
            if module.assignment in seen:
                raise ManifestError(
                    f"assignment {module.assignment!r} is named by both {seen[module.assignment]} and {folder}"
                )
            seen[module.assignment] = folder
            found.append(module)
    return tuple(found)


def _some_modules() -> tuple[Module, ...]:
    every = modules()
    if not every:
        raise ManifestError(f"no module: no page of {TOC.name} is in a folder with a {MANIFEST}")
    return every


def default_assignment() -> str:
    """The assignment a command works on when given none: the first module's (table of contents order)."""
    return _some_modules()[0].assignment


def module(assignment: str | None = None) -> Module:
    """The module of an nbgrader assignment id; None: the module of the current folder (a page
    being built runs in its own folder), else the first module of the table of contents."""
    every = _some_modules()
    if assignment is None:
        here = Path.cwd().resolve()
        return next((m for m in every if here == m.folder or m.folder in here.parents), every[0])
    for m in every:
        if m.assignment == assignment:
            return m
    raise ManifestError(f"no module has assignment {assignment!r} (known: {', '.join(m.assignment for m in every)})")


if __name__ == "__main__":  # `python -m course.manifest`: every module's assignment id, one a line
    print("\n".join(m.assignment for m in modules()))
