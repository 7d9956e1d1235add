"""Is the chapter one source, and are its generated views current and safe?

The book page, the instructor notebook and the student release are all made
from book/module1/neurons.md + solutions/. These tests check the generated
copies against their sources (stubs vs nbgrader's real output, constants vs
solutions.filters), that the student-facing site and download leak no solution,
and that the student notebook runs offline with nothing but the stubs failing.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from chapter_tools import nbgrader_meta
from kernels import RUN_NOTEBOOK_SCRIPT
from course import notebooks, stubs
from course.manifest import module
from solutions import filters, reference

ROOT = Path(__file__).resolve().parents[1]
CHECKS = module("module1").checks()  # module 1's hidden checks, through its manifest
SITE = Path(os.environ.get("SITE_DIR", ROOT / "_build" / "html"))  # as tests/conftest.py
CONTRACT_NAMES = {"input_data", "leaky_integrator", "leaky_integrate_and_fire"}


@pytest.fixture(scope="module")
def instructor():
    return notebooks.instructor_notebook()


def _solution_cells(nb):
    return {
        nbgrader_meta(c)["grade_id"]: c for c in nb.cells if nbgrader_meta(c).get("solution") and c.cell_type == "code"
    }


def test_release_is_current_with_the_chapter_source(instructor):
    """Was grader/source generated from the chapter as it is now (no stale copy)?"""
    on_disk = nbformat.read(notebooks.SOURCE_DIR / notebooks.NOTEBOOK, as_version=4)
    assert [c.source for c in on_disk.cells] == [c.source for c in instructor.cells]


def test_contract_names_are_graded(instructor):
    """Are the contract's fixed names (book/contract.md) each a solution cell with a hidden check?"""
    graded_names = {c.name for c in CHECKS.values()}
    assert CONTRACT_NAMES <= graded_names
    sources = "\n".join(c.source for c in _solution_cells(instructor).values())
    assert "def leaky_integrator(input_data, tau):" in sources
    assert "def leaky_integrate_and_fire(input_data, tau, threshold):" in sources
    assert re.search(r"^input_data = ", sources, re.M)


def test_every_check_has_exactly_one_hidden_cell_and_back(instructor):
    """Is each hidden check called by one test cell, with the check's points, and no cell calls a missing one?"""
    hidden = {nbgrader_meta(c)["grade_id"]: c for c in instructor.cells if "BEGIN HIDDEN TESTS" in c.source}
    assert set(hidden) == set(CHECKS)
    for gid, cell in hidden.items():
        # an optional task's check is extra credit: 0 nbgrader points, its points in the metadata
        points = cell.metadata.get(notebooks.EXTRA_CREDIT_KEY, nbgrader_meta(cell)["points"])
        assert points == CHECKS[gid].points
        assert (nbgrader_meta(cell)["points"] == 0) == CHECKS[gid].bonus
        assert f"run_check({gid!r}, globals())" in cell.source


def test_release_stubs_match_what_the_book_shows(release):
    """Does nbgrader's real ClearSolutions turn each solution into exactly the stub the book displays?"""
    cells = _solution_cells(release)
    functions = 0
    for gid, cell in cells.items():
        m = re.match(r"def (\w+)\(", cell.source)
        if m:
            functions += 1
            assert cell.source == stubs.stub_source(getattr(reference, m.group(1))), gid
        elif nbgrader_meta(cell).get("grade"):  # a code answer graded by hand
            assert stubs.STUB_LINES[1] in cell.source
        else:
            assert cell.source == stubs.value_stub_source(), gid
    assert functions == 6


def test_instructor_solutions_are_the_reference_code(instructor):
    """Is every solution function in the notebook, markers removed, the source of solutions.reference?"""
    for gid, cell in _solution_cells(instructor).items():
        m = re.match(r"def (\w+)\(", cell.source)
        if m:
            unmarked = "\n".join(ln for ln in cell.source.splitlines() if ln.strip() not in (stubs.BEGIN, stubs.END))
            assert unmarked == inspect.getsource(getattr(reference, m.group(1))).rstrip(), gid


def test_task3_neuron_in_the_notebook_is_the_solutions_neuron():
    """Do the Task 3 constants written in the chapter equal solutions.filters' (the grader uses those)?"""
    text = notebooks.CHAPTER.read_text()
    m = re.search(r"^TASK3_TAU, TASK3_THRESHOLD = (.+)$", text, re.M)
    assert m, "the chapter lost its Task 3 constants line"
    assert eval(m.group(1)) == (filters.TASK3_TAU, filters.TASK3_THRESHOLD)  # noqa: S307 - our own file


def _solution_lines():
    """Lines that only a solution or a model answer contains."""
    lines = set()
    for name in [
        "leaky_integrator",
        "leaky_integrate_and_fire",
        "band_pass",
        "li_time_surface",
        "lif_time_surface",
        "cosine_signal",
    ]:
        _, body, _ = stubs._split_function(getattr(reference, name))
        lines |= {
            ln.strip()
            for ln in body.splitlines()
            if len(ln.strip()) > 24 and not ln.strip().startswith(("#", "raise", "return"))
        }
    for answer in notebooks.model_answers().values():
        lines |= {s.strip() for s in re.split(r"[.:;]\s", answer) if len(s.strip()) > 40}
    return lines


def _site_text_files():
    for path in SITE.rglob("*"):
        if (
            path.is_file()
            and path.suffix in {".html", ".md", ".ipynb", ".txt", ".js", ".json", ".py"}
            and "_static" not in path.parts
            and path.name not in {"embed.js"}
        ):
            yield path


def test_built_site_leaks_no_solution_or_model_answer():
    """Does no page, page source or search index of the built site contain solution code or a model answer?"""
    if not SITE.exists():
        pytest.fail("the site is not built: run `make book`")
    secrets = _solution_lines()
    assert len(secrets) > 20
    leaks = []
    for path in _site_text_files():
        text = path.read_text(errors="replace")
        leaks += [f"{path.relative_to(SITE)}: {s[:60]}" for s in secrets if s in text]
        for marker in ["BEGIN SOLUTION", "BEGIN HIDDEN TESTS"]:
            if marker in text:
                leaks.append(f"{path.relative_to(SITE)}: {marker}")
    assert not leaks, leaks[:10]


def test_download_is_the_release_with_its_data():
    """Does the zip the chapter links hold the release notebook, the loader and the data, and nothing else?"""
    with zipfile.ZipFile(notebooks.DOWNLOAD) as zf:
        names = set(zf.namelist())
        assert names == {"module1/neurons.ipynb", "module1/shd_data.py", "module1/data/shd_sample.h5"}
        assert zf.read("module1/neurons.ipynb") == (notebooks.RELEASE_DIR / notebooks.NOTEBOOK).read_bytes()
    linked = list(SITE.glob("_downloads/*/module1.zip"))
    assert linked and linked[0].read_bytes() == notebooks.DOWNLOAD.read_bytes()


def test_student_notebook_runs_offline_and_only_stubs_fail(tmp_path):
    """Run the released notebook with no network (a new, empty network namespace): does every cell
    that is not a stub or a graded test run without error?"""
    work = tmp_path / "module1"
    shutil.copytree(notebooks.RELEASE_DIR, work)
    (tmp_path / "run.py").write_text(RUN_NOTEBOOK_SCRIPT)
    tests = str(Path(__file__).resolve().parent)
    cmd = [sys.executable, str(tmp_path / "run.py"), str(work / notebooks.NOTEBOOK), str(work), "allow-errors", tests]
    offline = ["unshare", "--net", "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "offline"]
    probe = subprocess.run(offline + ["true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a network namespace here: {probe.stderr.decode()[:200]}")
    done = subprocess.run(offline + cmd, capture_output=True, text=True, timeout=600, env=notebooks.venv_env())
    assert done.returncode == 0, done.stderr[-3000:]
    nb = nbformat.read(work / notebooks.NOTEBOOK, as_version=4)
    failing = []
    for cell in nb.cells:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        meta = nbgrader_meta(cell)
        if errors and not (meta.get("solution") or meta.get("grade")):
            failing.append(f"{meta.get('grade_id')}: {errors[0]['ename']}: {errors[0]['evalue']}")
        if errors and meta.get("solution") and not meta.get("grade"):
            assert errors[0]["ename"] == "NotImplementedError", meta.get("grade_id")
    assert not failing, failing
    outputs = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "Not drawn yet" in outputs  # the plotting cells explain instead of crashing
    assert "the word 'seven'" in outputs  # the data loads next to the notebook


def test_figure_captions_quote_the_parameters_the_figures_use():
    """Captions are text, not code: do the parameters they quote still equal solutions.filters' constants,
    and do they quote the computed cutoffs as claims (tests/test_claims.py checks those)?"""
    text = notebooks.CHAPTER.read_text()
    low, high = filters.LOW_CUTOFF, filters.HIGH_CUTOFF
    quoted = [
        f"$\\tau = {low.tau:g}$ and threshold {low.threshold:g}",
        "cutoff (a pulse every {glue:text}`event_cutoff_period` steps)",
        f"($\\tau = {filters.TASK3_TAU:g}$, threshold {filters.TASK3_THRESHOLD:g})",
        f"($x_{{\\max}} = {filters.TASK3_SPIKING_MAX_X / 3.141592653589793:g}\\pi$)",
        f"low cutoff ($\\tau = {low.tau:g}$, threshold {low.threshold:g})",
        f"high cutoff ($\\tau = {high.tau:g}$, threshold {high.threshold:g})",
        "(a pulse every {glue:text}`band_pass_band` steps)",
    ]
    missing = [q for q in quoted if " ".join(q.split()) not in " ".join(text.split())]
    assert not missing, missing


def test_notebook_markdown_has_no_myst_only_markup(release):
    """Would Jupyter show raw MyST ({math} blocks, {eq}/{doc}/{numref} roles, ::: fences) to a student?"""
    leftovers = []
    for cell in release.cells:
        if cell.cell_type == "markdown":
            for pattern in [r"```\{", r"\{(eq|doc|numref|cite|download|ref)(:\w+)?\}`", r"^:::", r"^\(\S+\)=$"]:
                if re.search(pattern, cell.source, re.M):
                    leftovers.append(f"{pattern}: {cell.source[:80]!r}")
    assert not leftovers, leftovers
    text = "\n".join(c.source for c in release.cells if c.cell_type == "markdown")
    assert "\\tag{1}" in text and "Eq. (1)" in text  # numbered equations survive as LaTeX


def test_an_optional_code_answer_outside_a_function_is_refused():
    """An optional task's hand-graded code cell without a function: its stub would raise at top level
    and stop Restart & Run All. Is the chapter refused with the cell named, instead?"""
    chapter = notebooks.read_chapter()
    for cell in chapter.cells:
        if cell.metadata.get("course") == "manual":
            cell.metadata.pop("function", None)
    with pytest.raises(notebooks.SourceError, match="needs `function`"):
        notebooks.instructor_notebook(chapter)
