"""nbgrader preprocessors that put the sandbox into ``nbgrader autograde`` / ``generate_feedback``.

Wired in by ``grader/nbgrader_config.py``:

* :class:`NormalizeSubmission` (sanitize step; replaces ClearOutput, DeduplicateIds and
  OverwriteCells): every nbgrader cell of the submission gets the SOURCE notebook's metadata;
  locked cells get the source text (test cells with their hidden-test regions removed, so
  the autograded notebook, and hence the feedback, never contains hidden tests); cells with an
  unknown, duplicated or retyped grade_id become ordinary cells; deleted nbgrader cells are put
  back; the student's own outputs keep only images, short text and sanitised HTML/Markdown
  (their plots stay in the feedback; no JavaScript or SVG, nothing on grade cells); every
  Markdown and raw cell the student wrote is sanitised (:mod:`neurograder.sanitize`).
* :class:`SandboxExecute` (autograde step; replaces Execute): runs all checks of the notebook
  in one sandbox (:mod:`neurograder.sandbox`), judges the outputs here, and writes each test
  cell's output: ``passed`` on stdout, or an error output with the check's message. nbgrader's
  own SaveAutoGrades then scores the cells (error -> 0, otherwise full points).
* :class:`SaveAutoGradesOnce` (autograde step; replaces SaveAutoGrades): nbgrader's own
  SaveAutoGrades with one commit per notebook instead of one per cell.
* :func:`in_one_transaction` (autograde step): the steps that write a notebook's results to
  the gradebook (scores, extra credit, hand grades followed, extensions, late penalty) run
  one after the other in one gradebook transaction.
* :class:`StripHiddenTests` (feedback step): a safety net removing any hidden-test region.
  (Feedback steps derive from NbGraderPreprocessor: nbgrader registers its preprocessors
  without enabling them, and a plain nbconvert Preprocessor is disabled by default.)
* :class:`SanitizeStudentHTML` (feedback step): the same sanitising again, for notebooks
  autograded another way (e.g. ``NEUROGRADER_PLAIN=1``).
"""

from __future__ import annotations

import copy
from pathlib import Path

from nbformat import NotebookNode, from_dict
from nbformat.v4 import new_output
from traitlets import Bool, Float, Integer, Unicode

from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor, SaveAutoGrades

from . import grading, sandbox, sanitize
from .gradebook_rows import NotebookRows, OneTransaction

MAX_TEXT = sanitize.MAX_TEXT  # characters of plain text kept per student output
MAX_PNG = sanitize.MAX_IMAGE  # base64 characters of one kept image


def _source_paths(config, resources):
    """SOURCE notebook and released assignment folder for this notebook (trusted paths)."""
    cd = CourseDirectory(config=config)
    assignment = resources["nbgrader"]["assignment"]
    notebook = resources["nbgrader"]["notebook"]
    src = Path(cd.format_path(cd.source_directory, ".", assignment)) / f"{notebook}.ipynb"
    rel = Path(cd.format_path(cd.release_directory, ".", assignment))
    return src, (str(rel) if rel.is_dir() else None)


def clean_outputs(outputs) -> list:
    """The student's own outputs, reduced to what is safe to show: stdout text, and images,
    plain text and sanitised HTML/Markdown of display outputs."""
    kept = []
    for out in outputs or []:
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") == "stdout":
            text = out.get("text", "")
            text = text if isinstance(text, str) else "".join(text)
            kept.append(new_output("stream", name="stdout", text=text[:MAX_TEXT]))
        elif kind in ("display_data", "execute_result"):
            new = sanitize.sanitize_output_data(out.get("data", {}))
            if new:
                kept.append(new_output("display_data", data=new))
    return kept


def sanitize_cell(cell):
    """``cell`` with its Markdown/raw HTML and the MIME data of its display outputs
    sanitised, in place (text, stream and error outputs are shown escaped: kept)."""
    if cell.cell_type == "markdown":
        cell.source = sanitize.sanitize_markdown(cell.source)
    elif cell.cell_type == "raw" and not sanitize.is_allowed(cell.source):
        cell.source = sanitize.clean_html(cell.source)
    elif cell.cell_type == "code":
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") in ("display_data", "execute_result"):
                out["data"] = sanitize.sanitize_output_data(out.get("data", {}))
                if not out["data"]:
                    continue
            kept.append(out)
        cell.outputs = kept
    return cell


#: (gradebook, assignment, notebook, grade_ids, source notebook's mtime) -> {grade_id:
#: (checksum, released source)}: the released cells, read from the gradebook once per process
_RELEASED: dict = {}


class NormalizeSubmission(NbGraderPreprocessor):
    """Make the submission's nbgrader structure exactly the SOURCE notebook's."""

    def preprocess(self, nb, resources):
        src_path, _ = _source_paths(self.config, resources)
        spec = grading.load_spec(src_path)
        source_cells = [c for c in spec.nb.cells if grading.nbg(c).get("grade_id")]
        by_id = {grading.nbg(c)["grade_id"]: c for c in source_cells}
        checksums = self._checksums(resources, by_id, src_path.stat().st_mtime_ns)
        seen = set()
        new_cells = []
        for cell in nb.cells:
            md = grading.nbg(cell)
            gid = md.get("grade_id")
            ref = by_id.get(gid)
            if md and (ref is None or gid in seen or ref.cell_type != cell.cell_type):
                # unknown, duplicated or retyped nbgrader cell: an ordinary cell from now on
                if ref is not None and gid not in seen and ref.cell_type != cell.cell_type:
                    self.log.warning("cell %s changed type; restored from source", gid)
                    new_cells.append(self._from_source(ref, checksums.get(gid)))
                    seen.add(gid)
                    continue
                self.log.warning(
                    "cell with grade_id %r is not a (unique) source cell; treated as an ordinary cell", gid
                )
                cell.metadata.pop("nbgrader", None)
                md, gid, ref = {}, None, None
            if ref is not None:
                seen.add(gid)
                rmd = grading.nbg(ref)
                if rmd.get("grade") and not rmd.get("solution"):
                    new_cells.append(self._from_source(ref, checksums.get(gid)))
                    continue
                if rmd.get("locked"):
                    # source text; the student's own (sanitized) outputs, e.g. their plots
                    restored = self._from_source(ref, checksums.get(gid))
                    if restored.cell_type == "code":
                        restored.outputs = clean_outputs(cell.get("outputs"))
                    new_cells.append(restored)
                    continue
                cell.metadata["nbgrader"] = copy.deepcopy(rmd)
                if gid in checksums:  # what "no response" is measured against
                    cell.metadata["nbgrader"]["checksum"] = checksums[gid][0]
            # (the submission's own cells are changed in place: the notebook is this
            # conversion's own, nbconvert's copy or one read for it alone, and nb.cells is
            # replaced below)
            if cell.cell_type == "code":
                cell.outputs = clean_outputs(cell.get("outputs"))
                cell.execution_count = None
            new_cells.append(sanitize_cell(cell))
        # deleted nbgrader cells come back after the cell that precedes them in the source
        for k, ref in enumerate(source_cells):
            gid = grading.nbg(ref)["grade_id"]
            if gid in seen:
                continue
            rmd = grading.nbg(ref)
            if rmd.get("solution") and ref.cell_type == "code":
                # the student's answer lost its metadata (e.g. a copied cell): adopt the last
                # ordinary cell that defines what the solution cell defines
                wanted = grading.defined_names(ref.source)
                found = [
                    c
                    for c in new_cells
                    if c.cell_type == "code" and not grading.nbg(c) and wanted & grading.defined_names(c.source)
                ]
                if wanted and found:
                    self.log.warning("solution cell %s found by the names it defines", gid)
                    found[-1].metadata["nbgrader"] = copy.deepcopy(rmd)
                    if gid in checksums:
                        found[-1].metadata["nbgrader"]["checksum"] = checksums[gid][0]
                    seen.add(gid)
                    continue
            self.log.warning("cell %s was missing from the submission; restored", gid)
            pos = 0
            for prev in reversed(source_cells[:k]):
                pid = grading.nbg(prev)["grade_id"]
                hits = [i for i, c in enumerate(new_cells) if grading.nbg(c).get("grade_id") == pid]
                if hits:
                    pos = hits[0] + 1
                    break
            new_cells.insert(pos, self._from_source(ref, checksums.get(gid)))
            seen.add(gid)
        nb.cells = new_cells
        return nb, resources

    @staticmethod
    def _checksums(resources, by_id, source_version):
        """The gradebook's checksums of the released cells (nbgrader's 'no response' test),
        read once per process for each version of the source notebook (``generate_assignment``
        writes them from it; they do not change while students are graded)."""
        from nbgrader.api import Gradebook, MissingEntry

        info = resources["nbgrader"]
        key = (info["db_url"], info["assignment"], info["notebook"], frozenset(by_id), source_version)
        if key in _RELEASED:
            return _RELEASED[key]
        out = {}
        with Gradebook(info["db_url"]) as gb:
            for gid in by_id:
                try:
                    sc = gb.find_source_cell(gid, info["notebook"], info["assignment"])
                    out[gid] = (sc.checksum, sc.source)
                except MissingEntry:
                    pass
        if len(_RELEASED) > 64:
            _RELEASED.clear()
        _RELEASED[key] = out
        return out

    @staticmethod
    def _from_source(ref, released=None):
        """A cell as released: metadata and text from the source/gradebook, no outputs."""
        cell = copy.deepcopy(ref)
        md = grading.nbg(cell)
        if released:
            md["checksum"] = released[0]
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if md.get("grade") and not md.get("solution"):
                cell.source = grading.strip_hidden(cell.source)
        if md.get("solution"):
            # a missing answer is the released stub ("no response"), never the reference
            cell.source = released[1] if released else ""
        return cell


def graded_output(**fields) -> NotebookNode:
    """A test cell's output, as ``nbformat.v4.new_output`` makes it from ``fields``, but not
    checked against nbformat's schema on its own: the exporter validates the whole notebook
    after the autograding pass, so an invalid output still fails the notebook."""
    return from_dict(fields)


class SandboxExecute(NbGraderPreprocessor):
    """Grade every test cell with the sandboxed checks; write their outputs."""

    timeout = Float(10.0, help="Wall-clock seconds per graded check.").tag(config=True)
    cpu_seconds = Integer(10, help="CPU seconds per graded check.").tag(config=True)
    memory_mb = Integer(1024, help="Address space per check, MB.").tag(config=True)
    checks_module = Unicode(
        "", help="Module with CHECKS (default $NEUROGRADER_CHECKS, or the one the assignment's manifest names)."
    ).tag(config=True)
    sandbox_mode = Unicode("", help="'bwrap', 'fallback' or '' (auto).").tag(config=True)
    warm = Bool(
        True,
        help="Fork each student's sandbox from a fork server of this process and start the next "
        "one ahead (neurograder.launch.keep_warm); False: a cold sandbox per student.",
    ).tag(config=True)

    def limits(self):
        return sandbox.Limits(timeout=self.timeout, cpu=self.cpu_seconds, mem_mb=self.memory_mb)

    def preprocess(self, nb, resources):
        sandbox.keep_warm(self.warm)
        src_path, release_dir = _source_paths(self.config, resources)
        spec = grading.load_spec(src_path)
        checks, failed = grading.load_checks(self.checks_module or None, resources["nbgrader"]["assignment"])
        outcomes, info = grading.grade_notebook(
            nb, spec, checks, failed, self.limits(), assignment_dir=release_dir, mode=self.sandbox_mode or None
        )
        if info["error"]:
            self.log.error("sandbox failed for %s: %s", resources["nbgrader"].get("student"), info["error"])
        for note in info["notes"]:
            self.log.warning(note)
        resources.setdefault("neurograder", {})[resources["nbgrader"]["notebook"]] = {
            "outcomes": {g: vars(o) for g, o in outcomes.items()},
            **info,
        }
        count = 0
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            md = grading.nbg(cell)
            gid = md.get("grade_id")
            if md.get("grade") and not md.get("solution") and gid in outcomes:
                count += 1
                cell.execution_count = count
                o = outcomes[gid]
                if o.passed:
                    cell.outputs = [
                        graded_output(
                            output_type="stream",
                            name="stdout",
                            text=f"passed: {o.name} ({o.points:g} of {o.points:g} points)\n"
                            + ("" if o.message == "passed" else o.message + "\n"),
                        )
                    ]
                else:
                    cell.outputs = [
                        graded_output(
                            output_type="error",
                            ename=f"Test failed: {o.name}",
                            evalue=f"0 of {o.points:g} points",
                            traceback=[f"FAILED: {o.name} (0 of {o.points:g} points)", o.message],
                        )
                    ]
        return nb, resources


class StripHiddenTests(NbGraderPreprocessor):
    """Feedback safety net: no hidden-test region ever reaches the HTML."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and "HIDDEN TESTS" in cell.source:
            cell.source = grading.strip_hidden(cell.source)
        return cell, resources


class SanitizeStudentHTML(NbGraderPreprocessor):
    """Feedback step: every cell a student could have written sanitised. Locked cells are
    the source notebook's text (autograde restores them, ours and plain nbgrader's alike);
    their outputs are still sanitised."""

    def preprocess_cell(self, cell, resources, index):
        md = grading.nbg(cell)
        if md.get("locked") and not md.get("solution") and cell.cell_type != "code":
            return cell, resources
        return sanitize_cell(cell), resources


class SaveAutoGradesOnce(SaveAutoGrades):
    """nbgrader's SaveAutoGrades (same scores, comments and review flags), with the
    notebook's grade and comment rows loaded at once and committed once per notebook
    instead of once per cell: on SQLite each commit is a disk sync."""

    def preprocess_cell(self, cell, resources, index):
        if not isinstance(self.gradebook, NotebookRows):
            self.gradebook.db = OneTransaction(self.gradebook.db)
            self.gradebook = NotebookRows(self.gradebook, self.notebook_id, self.assignment_id, self.student_id)
        return super().preprocess_cell(cell, resources, index)


def in_one_transaction(*steps):
    """An autograde step running ``steps`` (preprocessor classes, each made as nbconvert
    makes a chain's steps) in order, with every gradebook write of theirs in one
    transaction (:func:`neurograder.warm.one_transaction`): a student's results are in the
    gradebook all together or, if a step fails, not at all (the student is graded again on
    the next run). Each step decides what it writes exactly as in a chain of its own."""

    class InOneTransaction(NbGraderPreprocessor):
        STEPS = steps

        def preprocess(self, nb, resources):
            from .warm import one_transaction

            if not hasattr(self, "_steps"):
                self._steps = [step(parent=self.parent) for step in self.STEPS]
            with one_transaction(resources["nbgrader"]["db_url"]):
                for step in self._steps:
                    if step.enabled:
                        nb, resources = step.preprocess(nb, resources)
            return nb, resources

    InOneTransaction.__name__ = InOneTransaction.__qualname__ = "SaveResults"
    return InOneTransaction
