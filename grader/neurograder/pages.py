"""The HTML pages the grader shows: feedback (a file per student) and formgrader's.

* :func:`template_basedirs`: nbconvert looks for templates here first. Only the ``mathjax()``
  macro of nbgrader's ``feedback`` and ``formgrade`` templates is replaced
  (``templates/<name>/mathjax.html.j2``): MathJax from the course's own copy instead of a CDN,
  and, in the feedback, the page's Content-Security-Policy.
* :func:`mathjax_files`: that copy, the site's staged MathJax (``tools/stage_assets.py``,
  run by ``make book`` / ``make assets``: the npm ``mathjax`` package, its single-file TeX
  bundle and the fonts it loads) plus ``templates/mathjax-config.js`` (settings) and
  ``templates/mathjax2-compat.js`` (for formgrader's script, written for MathJax 2).
* :class:`FeedbackMathJax` (feedback step): writes those files next to each feedback page
  (``mathjax/``), so the page works offline and from a plain folder.
* :class:`MarkUngraded` (feedback step, after GetGrades): an answer graded by hand that nobody
  has graded yet says "to be graded by hand" instead of a score of 0.
* :class:`FeedbackAccessibility` (last feedback step): WCAG 2.1 AA repairs of nbgrader's
  feedback page: ``templates/feedback-a11y.css`` added after the page's own styles and
  ``templates/feedback-a11y.js`` (the page's language) written next to it and loaded by the
  ``mathjax()`` macro.
* The formgrader side (a Content-Security-Policy header built per page, MathJax served) is the
  server extension :mod:`neurograder.server`.
"""
from __future__ import annotations

from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parents[1]
#: templates that take precedence over nbgrader's (only their mathjax() macro)
TEMPLATES = PACKAGE / "templates"
#: the site's staged MathJax (made by `make book` or `make assets`)
MATHJAX_DIR = REPO / "_build" / "site_assets" / "vendor" / "mathjax"
#: MathJax's settings, loaded before the bundle (an external file: no inline script)
MATHJAX_CONFIG = TEMPLATES / "mathjax-config.js"
#: MathJax 2's startup signal, which formgrader's own script waits on, on top of MathJax 3
MATHJAX2_COMPAT = TEMPLATES / "mathjax2-compat.js"
#: folder of the MathJax files next to a feedback page (the feedback template's script URLs)
FEEDBACK_MATHJAX = "mathjax"
#: WCAG repairs of the feedback page: styles (inlined last) and a script (written beside it)
FEEDBACK_A11Y_CSS = TEMPLATES / "feedback-a11y.css"
FEEDBACK_A11Y_JS = TEMPLATES / "feedback-a11y.js"
#: what an answer graded by hand but not graded yet says instead of its score
UNGRADED = "To be graded by hand"


def template_basedirs() -> list[str]:
    """``HTMLExporter.extra_template_basedirs``: ours first, then nbgrader's own."""
    from nbgrader.server_extensions.formgrader import handlers
    return [str(TEMPLATES), handlers.template_path]


def mathjax_files(mathjax_dir: Path = MATHJAX_DIR) -> dict[str, Path]:
    """Relative URL path -> file of every MathJax file the grader's pages may load."""
    if not (mathjax_dir / "tex-chtml-full.js").is_file():
        raise FileNotFoundError(
            f"no staged MathJax in {mathjax_dir}: run `make assets` (or `make book`) in {REPO}")
    files = {p.relative_to(mathjax_dir).as_posix(): p
             for p in sorted(mathjax_dir.rglob("*")) if p.is_file()}
    files["config.js"] = MATHJAX_CONFIG
    files["mathjax2-compat.js"] = MATHJAX2_COMPAT
    return files


class FeedbackMathJax(NbGraderPreprocessor):
    """Feedback step: the MathJax files, written next to the feedback page."""

    mathjax_dir = Unicode(str(MATHJAX_DIR), help="Staged MathJax folder.").tag(config=True)

    def preprocess(self, nb, resources):
        outputs = resources.setdefault("outputs", {})
        for name, path in mathjax_files(Path(self.mathjax_dir)).items():
            outputs[f"{FEEDBACK_MATHJAX}/{name}"] = path.read_bytes()
        return nb, resources


def ungraded_comment(points: float) -> str:
    return f"**{UNGRADED}** ({points:g} points): not graded yet."


class MarkUngraded(NbGraderPreprocessor):
    """Feedback step: answers still waiting for a hand grade show no score (nbgrader's
    template would print 0) and say so in their comment."""

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook, MissingEntry
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            for cell in nb.cells:
                md = cell.metadata.get("nbgrader", {})
                if not (md.get("grade") and md.get("solution")):
                    continue
                try:
                    grade = gb.find_grade(md["grade_id"], info["notebook"], info["assignment"],
                                          info["student"])
                except MissingEntry:
                    continue
                if grade.needs_manual_grade and grade.manual_score is None:
                    md["grade"] = False      # the template then prints no score for it
                    note = ungraded_comment(grade.max_score)
                    md["comment"] = note + ("\n\n" + md["comment"] if md.get("comment") else "")
        return nb, resources


class FeedbackAccessibility(NbGraderPreprocessor):
    """Feedback step, after CSSHTMLHeaderPreprocessor (which sets the inlined styles): add
    the page's WCAG repairs (see the module docstring)."""

    def preprocess(self, nb, resources):
        inlining = resources.setdefault("inlining", {})
        inlining["css"] = list(inlining.get("css", [])) + [FEEDBACK_A11Y_CSS.read_text()]
        resources.setdefault("outputs", {})[FEEDBACK_A11Y_JS.name] = FEEDBACK_A11Y_JS.read_bytes()
        return nb, resources

