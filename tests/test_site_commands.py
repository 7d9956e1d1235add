"""Are `make book` and `make test` the commands the README gives, do they exist in the
Makefile and do what they claim, and does CI (.ci/run) run `make test` and nothing else?

Checked without running the pipelines (`make -n` prints the recipe, runs nothing).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from browser import REPO

README = REPO / "README.md"
MAKEFILE = REPO / "Makefile"
CI = REPO / ".ci" / "run"
# a command line in a code block ("make book", "$ make book", "make book  # comment")
# or inline code (`make book`)
COMMAND = re.compile(r"(?:^\s*(?:\$\s*)?|`)make\s+([A-Za-z][\w-]*)\s*(?:`|#|$)", re.M)


def readme_make_targets() -> list:
    assert README.is_file(), "README.md is missing: it must give the commands `make book` and `make test`"
    return COMMAND.findall(README.read_text(encoding="utf-8"))


def makefile_targets() -> set:
    text = MAKEFILE.read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, flags=re.M))


def dry_run(target: str) -> str:
    make = shutil.which("make")
    assert make, "GNU make is not installed"
    proc = subprocess.run([make, "-n", target], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"`make -n {target}` failed:\n{proc.stderr}"
    return proc.stdout


def test_readme_gives_make_book_and_make_test():
    """Does the README tell a reader to run `make book` and `make test`?"""
    targets = readme_make_targets()
    assert "book" in targets, f"README gives no `make book` command (found make targets {targets})"
    assert "test" in targets, f"README gives no `make test` command (found make targets {targets})"


def test_every_make_command_in_the_readme_exists():
    """Is every `make X` the README mentions a real Makefile target?"""
    missing = sorted(set(readme_make_targets()) - makefile_targets())
    assert not missing, f"README mentions make targets the Makefile lacks: {missing}"


@pytest.mark.parametrize(
    "target, must_run",
    [
        ("book", "jupyter-book build"),
        ("test", "pytest"),
    ],
)
def test_make_target_runs_what_it_claims(target, must_run):
    """Does `make book` build the book with jupyter-book, and `make test` run pytest?"""
    assert target in makefile_targets(), f"Makefile has no `{target}` target"
    assert must_run in dry_run(target), f"`make {target}` does not run {must_run!r}"


def test_ci_runs_make_test_and_nothing_else():
    """Is `make test` the only command .ci/run runs (besides shell setup: set, cd)?"""
    assert CI.is_file(), ".ci/run is missing"
    lines = [line.strip() for line in CI.read_text(encoding="utf-8").splitlines()]
    commands = [line for line in lines if line and not line.startswith("#")]
    work = [c for c in commands if not re.match(r"^(set\s|cd\s)", c)]
    assert work == ["make test"], f".ci/run runs {work}, expected only ['make test']"


def test_make_render_passes_only_arguments_the_render_command_takes(tmp_path):
    """With every variable an instructor may set (FORCE, SCHEDULER, ASSIGNMENT), does `make
    render` call the render command with arguments it accepts? (It parses them all and only
    then finds the folder is no course.)"""
    import shlex
    import sys

    make = shutil.which("make")
    assert make, "GNU make is not installed"
    proc = subprocess.run(
        [make, "-n", "render", "FORCE=1", "SCHEDULER=tcp://127.0.0.1:8786", "ASSIGNMENT=module1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if "-m neurograder.render" in ln)
    args = shlex.split(line)
    args = args[args.index("neurograder.render") + 1 :]
    args[args.index("--course") + 1] = str(tmp_path)  # no course there: nothing is rendered
    run = subprocess.run(
        [sys.executable, "-m", "neurograder.render", *args], capture_output=True, text=True, timeout=60
    )
    assert "unrecognized arguments" not in run.stderr, run.stderr
    assert "is not a course root" in run.stderr, run.stderr
