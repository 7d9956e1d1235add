"""Make every module's assignment notebooks from its one chapter source.

A module is a folder with a manifest (:mod:`course.manifest`); its chapter
(``book/module1/neurons.md``) is the book page *and* the source of the assignment.
The pieces, one job each:

* :mod:`course.manifest` - the modules, what each names, where its generated copies go;
* :mod:`course.chapter` - reading the chapter, model answers, MyST -> Jupyter Markdown;
* :mod:`course.cells` - the instructor notebook, one handler per cell role (the table of
  roles is there);
* :mod:`course.points` - the points table (page, notebook) from the manifest's tasks;
* :mod:`course.environment` - the notebook's environment cell;
* :mod:`course.guards` - hand edits and structural changes refused before anything is lost;
* :mod:`course.build` - the pipeline: guard, source, release, download (skipped when the
  hash of the inputs is unchanged).

This module is their command line (``python -m course.notebooks build``) and the names the
book pages and tests use, for the module of the current page (the first module when run
elsewhere).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course import build as _build
from course import cells, chapter, manifest, points
from course.cells import cell_id, manual_cell_source, skipped_message  # noqa: F401 (public names)
from course.chapter import (
    SourceError,
    course_links,  # noqa: F401
    equation_numbers,  # noqa: F401
    figure_description,  # noqa: F401
    site_url,  # noqa: F401
)
from course.environment import (
    REQUIREMENTS,  # noqa: F401
    STUDENT_PACKAGES,  # noqa: F401
    environment_cell_source,  # noqa: F401
    pinned_versions,  # noqa: F401
    student_requirements,
)
from course.guards import GuardError
from course.links import launch_links, launch_links_html  # noqa: F401
from course.manifest import COURSE_DIR, ManifestError  # noqa: F401
from course.points import EXTRA_CREDIT_KEY, POINTS_HEADER, POINTS_MARK  # noqa: F401
from course.build import venv_env  # noqa: F401

#: The default module's settings, read from its manifest when first used (so a broken
#: manifest is reported by the command line, not at import): name -> Module attribute.
DEFAULT_MODULE_NAMES = {
    "CHAPTER": "chapter",  # the one source
    "ASSIGNMENT": "assignment",  # nbgrader assignment id
    "NOTEBOOK": "notebook",  # notebook name
    "SOURCE_DIR": "source_dir",
    "RELEASE_DIR": "release_dir",
    "DOWNLOAD": "download",  # linked from the chapter
    "ANSWERS": "answers",  # model answers of the written questions
    "OPTIONAL_TASKS": "optional_tasks",  # optional tasks (extra credit), from [tasks]
}


def __getattr__(name: str):
    if name in DEFAULT_MODULE_NAMES:
        return getattr(manifest.module(), DEFAULT_MODULE_NAMES[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _module(module=None) -> manifest.Module:
    return module if isinstance(module, manifest.Module) else manifest.module(module)


def read_chapter(path: Path | None = None):
    return chapter.read_chapter(path or _module().chapter)


def model_answers(module=None) -> dict[str, str]:
    return chapter.model_answers(_module(module))


def myst_to_jupyter(text: str, equations: dict[str, int], base_url: str | None = None, module=None) -> str:
    return chapter.myst_to_jupyter(text, equations, _module(module), base_url)


def instructor_notebook(chapter_nb=None, module=None):
    return cells.instructor_notebook(_module(module), chapter_nb)


def task_of(grade_id: str, module=None) -> str:
    """The task number of a graded cell, from the module manifest's ``[tasks]``."""
    try:
        return _module(module).task_of(grade_id).number
    except ManifestError as err:
        raise SourceError(str(err)) from None


def points_by_task(cells_, module=None):
    return points.points_by_task(cells_, _module(module))


def points_rows(cells_=None, module=None):
    """The points table's rows, the required total and the extra-credit total."""
    m = _module(module)
    return points.points_rows(cells_ if cells_ is not None else cells.instructor_notebook(m).cells, m)


def points_table_markdown(cells_=None, module=None) -> str:
    m = _module(module)
    return points.points_table_markdown(cells_ if cells_ is not None else cells.instructor_notebook(m).cells, m)


def points_table_html(cells_=None, module=None) -> str:
    """The points table of the page being built (its folder's module) as HTML."""
    m = _module(module)
    return points.points_table_html(cells_ if cells_ is not None else cells.instructor_notebook(m).cells, m)


def write_source(dest: Path, module=None) -> Path:
    return _build.write_source(_module(module), Path(dest))


def build(force: bool = False, assignment: str | None = None, discard_edits: bool = False) -> None:
    """Build every module's notebooks (or one assignment's)."""
    for m in manifest.modules() if assignment is None else [manifest.module(assignment)]:
        _build.build(m, force=force, discard_edits=discard_edits)


def _source_errors() -> tuple[type, ...]:
    """Errors that mean "fix the source": the chapter's, the manifests', the claims'."""
    claims = [m.code("claims", required=False) for m in manifest.modules()]
    return (SourceError, ManifestError, *{c.ClaimError for c in claims if c is not None and hasattr(c, "ClaimError")})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "command",
        choices=["build", "source", "student-requirements"],
        help="build: all steps; source: write the instructor notebook only; "
        "student-requirements: print the pip requirements the student "
        "notebook's environment cell names",
    )
    parser.add_argument("--assignment", help="only this module's assignment (default: every module)")
    parser.add_argument("--force", action="store_true", help="rebuild even if inputs are unchanged")
    parser.add_argument(
        "--discard-edits", action="store_true", help="overwrite a hand-edited instructor notebook (the edit is lost)"
    )
    args = parser.parse_args(argv)
    try:
        errors = _source_errors()
    except ManifestError as err:
        print(f"[notebooks] error: {err}", file=sys.stderr)
        return 2
    try:
        if args.command == "student-requirements":
            print(" ".join(student_requirements().values()))
        elif args.command == "source":
            for m in manifest.modules() if args.assignment is None else [manifest.module(args.assignment)]:
                _build.step_source(m)
        else:
            build(force=args.force, assignment=args.assignment, discard_edits=args.discard_edits)
    except GuardError as err:
        print(f"[notebooks] stopped: {err}", file=sys.stderr)
        return 3
    except errors as err:
        print(f"[notebooks] error: {err}; fix the chapter, its manifest or its claims", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
