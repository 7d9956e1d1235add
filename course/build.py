"""The notebook build of one module, steps in order (``python -m course.notebooks build``):

1. ``guard``: stop if the instructor notebook was edited by hand (course.guards);
2. (skip everything when the hash of the inputs is unchanged and the outputs exist);
3. ``generate``: the instructor notebook in memory, then refuse a structural change that
   nbgrader cannot take after submissions (course.guards) - before anything is written;
4. ``source``: write ``grader/source/<assignment>/<notebook>``, record its digest, copy the
   companion files next to it;
5. ``release``: ``nbgrader generate_assignment <assignment>`` (the real CLI);
6. ``download``: zip the release into ``_build/downloads/<assignment>.zip``, which the chapter links.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat

from course import guards
from course.cells import instructor_notebook
from course.chapter import SourceError
from course.environment import REQUIREMENTS
from course.manifest import COURSE_DIR, MANIFEST, ROOT, Module

#: Course-wide inputs whose change makes every module's notebooks out of date (each module
#: adds its manifest, chapter, answers, companions, Python and [build] inputs).
COURSE_INPUTS = [
    REQUIREMENTS,
    ROOT / "_config.yml",
    COURSE_DIR / "nbgrader_config.py",
    *sorted((ROOT / "course").glob("*.py")),
]
STAMPS = ROOT / ".stamps"  # marker files (never committed), as in the Makefile
ZIP_DATE = (2026, 1, 1, 0, 0, 0)  # every zip entry's date: rebuilds are byte-identical


def inputs(module: Module) -> list[Path]:
    code = [module.code_file(role) for role in module.python]
    return [
        *COURSE_INPUTS,
        module.folder / MANIFEST,
        module.chapter,
        *([module.answers] if module.answers else []),
        *(src for src, _ in module.companions),
        *module.extra_inputs,
        *(p for p in code if p),
    ]


def digest(module: Module) -> str:
    h = hashlib.sha256()
    for path in inputs(module):
        h.update(path.name.encode())
        h.update(path.read_bytes() if path.exists() else b"<missing>")
    return h.hexdigest()


def stamp(module: Module) -> Path:
    return STAMPS / f"notebooks-{module.assignment}.sha256"


def up_to_date(module: Module, wanted: str) -> bool:
    outputs = [module.source_dir / module.notebook, module.release_dir / module.notebook, module.download]
    return stamp(module).exists() and stamp(module).read_text() == wanted and all(p.exists() for p in outputs)


def write_source(module: Module, dest: Path, nb=None) -> Path:
    """Write the instructor notebook (``nb`` or a fresh one) and its companion files into ``dest``."""
    for src, _ in module.companions:
        if not src.exists():
            raise SourceError(f"{src} is missing; the notebook needs it")
    nb = nb if nb is not None else instructor_notebook(module)
    dest.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest / module.notebook)
    for src, rel in module.companions:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest / rel)
    return dest / module.notebook


def step_source(module: Module, nb=None) -> None:
    write_source(module, module.source_dir, nb)
    guards.record_generated(module)
    print(f"[notebooks] wrote {module.source_dir.relative_to(ROOT)}/{module.notebook}", flush=True)


def venv_env() -> dict:
    """The environment with this interpreter's bin/ first on PATH: nbgrader runs
    `alembic` from PATH when it creates a gradebook."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def step_release(module: Module) -> None:
    cmd = [
        str(Path(sys.executable).with_name("nbgrader")),
        "generate_assignment",
        module.assignment,
        "--force",
        "--log-level=WARN",
    ]
    print(f"[notebooks] {' '.join(cmd[1:])} (in grader/)", flush=True)
    subprocess.run(cmd, cwd=COURSE_DIR, check=True, env=venv_env())


def step_download(module: Module) -> None:
    out = module.download
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(module.release_dir.rglob("*")):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts:
                info = zipfile.ZipInfo(
                    f"{module.assignment}/{path.relative_to(module.release_dir)}", date_time=ZIP_DATE
                )
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
    tmp.replace(out)
    print(f"[notebooks] wrote {out.relative_to(ROOT)}", flush=True)


def build(module: Module, force: bool = False, discard_edits: bool = False) -> None:
    if not discard_edits:
        guards.check_not_hand_edited(module)
    wanted = digest(module)
    if not (force or discard_edits) and up_to_date(module, wanted):
        print(f"[notebooks] {module.assignment}: up to date", flush=True)
        return
    nb = instructor_notebook(module)
    guards.check_structure(module, nb)
    step_source(module, nb)
    step_release(module)
    step_download(module)
    stamp(module).parent.mkdir(exist_ok=True)
    stamp(module).write_text(wanted)
