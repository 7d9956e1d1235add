"""The student notebook's environment cell: which packages it needs, pinned as the course
was tested (requirements.txt)."""

from __future__ import annotations

import re
from pathlib import Path

from course.manifest import ROOT

REQUIREMENTS = ROOT / "requirements.txt"  # pinned versions the environment cell names
#: Packages the student notebook needs (import name -> pip name); torch is optional.
STUDENT_PACKAGES = {"numpy": "numpy", "matplotlib": "matplotlib", "h5py": "h5py", "ipywidgets": "ipywidgets"}


def pinned_versions(path: Path = REQUIREMENTS) -> dict[str, str]:
    """{package: version} of the exact pins in requirements.txt."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def student_requirements() -> dict[str, str]:
    """{import name: pip requirement} of the packages the student notebook needs, pinned."""
    pins = pinned_versions()
    return {module: f"{pkg}=={pins[pkg]}" if pkg in pins else pkg for module, pkg in STUDENT_PACKAGES.items()}


def environment_cell_source() -> str:
    """The notebook's first code cell: says, per missing package, what to install."""
    needed = student_requirements()
    return f"""# Run this cell first: it checks that the packages this notebook needs are installed.
import importlib.util

NEEDED = {needed!r}  # import name -> pip requirement (the versions the course was tested with)
missing = [req for module, req in NEEDED.items() if importlib.util.find_spec(module) is None]
for req in missing:
    print(f"Missing package: run  %pip install {{req}}  in a new cell, then restart the kernel.")
if not missing:
    print("All packages found. PyTorch is optional: nothing in this notebook needs it.")"""
