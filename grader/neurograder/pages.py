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
* :class:`MarkExtraCredit` (feedback step, after MarkUngraded) and :class:`FeedbackExporter`
  (``GenerateFeedback.exporter_class``): a graded cell of an optional task (0 points, its
  points are extra credit) shows the extra credit it earned ("2.0 extra credit") instead of
  nbgrader's "Score: 2.0 / 0.0", and the page's total says how much of it is extra credit,
  as the chapter's points table and ``nbgrader export`` count it.
* :func:`soup_when_needed` (the feedback exporter, formgrader's submission pages): nbconvert
  parses a rendered page again only when it has an edit to make beyond a figure's missing
  alt text (:class:`_SoupWhenNeeded`); the feedback exporter also highlights each code cell
  once for the class (:class:`_RememberedHighlight`).
* :class:`FeedbackAccessibility` (last feedback step): WCAG 2.1 AA repairs of nbgrader's
  feedback page: ``templates/feedback-a11y.css`` added after the page's own styles and
  ``templates/feedback-a11y.js`` (the page's language) written next to it and loaded by the
  ``mathjax()`` macro.
* The formgrader side (a Content-Security-Policy header built per page, MathJax served) is the
  server extension :mod:`neurograder.server`.
"""

from __future__ import annotations

import contextlib
import re
from html.parser import HTMLParser
from pathlib import Path

from nbconvert.exporters import HTMLExporter
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
#: what a graded cell of an optional task shows instead of "Score: <earned> / 0.0"
EXTRA_CREDIT = "{earned} extra credit"
#: key in resources["nbgrader"]: {grade_id: extra credit earned} of the optional tasks' cells
EXTRA_CREDIT_CELLS = "extra_credit_cells"


def template_basedirs() -> list[str]:
    """``HTMLExporter.extra_template_basedirs``: ours first, then nbgrader's own."""
    from nbgrader.server_extensions.formgrader import handlers

    return [str(TEMPLATES), handlers.template_path]


def mathjax_files(mathjax_dir: Path = MATHJAX_DIR) -> dict[str, Path]:
    """Relative URL path -> file of every MathJax file the grader's pages may load."""
    if not (mathjax_dir / "tex-chtml-full.js").is_file():
        raise FileNotFoundError(f"no staged MathJax in {mathjax_dir}: run `make assets` (or `make book`) in {REPO}")
    files = {p.relative_to(mathjax_dir).as_posix(): p for p in sorted(mathjax_dir.rglob("*")) if p.is_file()}
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
    worth = f"{points:g} points" if points else "extra credit"  # an optional task's cell has 0 points
    return f"**{UNGRADED}** ({worth}): not graded yet."


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
                    grade = gb.find_grade(md["grade_id"], info["notebook"], info["assignment"], info["student"])
                except MissingEntry:
                    continue
                if grade.needs_manual_grade and grade.manual_score is None:
                    md["grade"] = False  # the template then prints no score for it
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


def extra_credit_text(earned: float) -> str:
    """How the feedback shows an optional cell's extra credit (nbgrader's rounding: 2.0, 0.5)."""
    return EXTRA_CREDIT.format(earned=round(float(earned), 2))


class MarkExtraCredit(NbGraderPreprocessor):
    """Feedback step, after GetGrades and MarkUngraded: note each graded cell of an optional task
    (0 points) with the extra credit it earned (its score: nbgrader adds extra credit to it), for
    :class:`FeedbackExporter`. Cells still waiting for a hand grade are MarkUngraded's."""

    def preprocess(self, nb, resources):
        earned = {}
        for cell in nb.cells:
            md = cell.metadata.get("nbgrader", {})
            if md.get("grade") and "points" in md and float(md["points"]) == 0:
                earned[md["grade_id"]] = float(md.get("score") or 0)
        resources.setdefault("nbgrader", {})[EXTRA_CREDIT_CELLS] = earned
        return nb, resources


def _toc_score(grade_id: str) -> re.Pattern:
    return re.compile(rf'(<a href="#{re.escape(grade_id)}">[^<]*</a>) \(Score: [^)<]*\)')


def _cell_score(grade_id: str) -> re.Pattern:
    # the cell's heading: its anchor, then the first score before any other cell's anchor
    return re.compile(
        rf'(<a name="{re.escape(grade_id)}"></a>(?:(?!<a name=)[\s\S])*?)'
        r"Score: [0-9.]+ / [0-9.]+",
        re.S,
    )


TOTAL = re.compile(r"(<h4>[^<]*\(Score: [0-9.]+ / [0-9.]+)\)")


def show_extra_credit(html: str, earned: dict[str, float]) -> tuple[str, list[str]]:
    """nbgrader's feedback page with each optional cell's score shown as extra credit (in the
    list at the top and in the cell's heading) and the total's share of extra credit named.
    Returns the page and the grade_ids whose score was not found (the page is left as it was
    for them)."""
    missing = []
    for grade_id, credit in earned.items():
        text = extra_credit_text(credit)
        html, in_toc = _toc_score(grade_id).subn(rf"\1 ({text})", html, count=1)
        html, in_cell = _cell_score(grade_id).subn(rf"\g<1>{text}", html, count=1)
        if not (in_toc and in_cell):
            missing.append(grade_id)
    total = sum(earned.values())
    if total:
        html = TOTAL.sub(rf"\1, including {extra_credit_text(total)})", html, count=1)
    return html, missing


#: the selectors nbconvert's HTMLExporter edits a rendered page by -> a quick test on the page's
#: text that is false only when the selector cannot match
_MAY_MATCH = {
    ".jp-Notebook div.jp-Cell-inputWrapper": lambda markup: "jp-Cell-inputWrapper" in markup,
    ".jp-Notebook div.jp-OutputArea-output": lambda markup: "jp-OutputArea-output" in markup,
}
#: the selector of the images nbconvert gives a placeholder alt text
_NO_ALT = "img:not([alt])"
#: an image the notebook template writes for a figure output: a data URI and nothing else
_FIGURE = re.compile(r'<img src="(data:image/(?:png|jpeg);base64,[A-Za-z0-9+/=\s]*)"\s*>')
#: an attribute value BeautifulSoup writes as it is, between double quotes
_PLAIN_VALUE = re.compile(r'[^&<>"]*')


class _StartTag(HTMLParser):
    def handle_starttag(self, tag, attrs):
        self.found = {name for name, _ in attrs}


def _img_tags(markup: str):
    """(start, end, attribute names) of each ``<img`` start tag of ``markup``: the tag is
    ``markup[start:end]``, its attributes as Python's HTML parser reads them (a tag it cannot
    read has none, as if it had no alt text)."""
    for match in re.finditer(r"<img\b", markup, re.I):
        end, quote = match.end(), None
        while end < len(markup) and (quote or markup[end] != ">"):
            if markup[end] in "\"'":
                quote = None if quote == markup[end] else quote or markup[end]
            end += 1
        parser = _StartTag()
        parser.found = set()
        parser.feed(markup[match.start() : end + 1])
        yield match.start(), end + 1, parser.found


class _Figure:
    """A figure's image (:data:`_FIGURE`) as nbconvert's exporter selects it: the attributes
    it edits, and the tag as BeautifulSoup writes it (attributes in name order, ``/>``)."""

    def __init__(self, start: int, end: int, src: str):
        self.start, self.end, self.attrs = start, end, {"src": src}

    def written(self) -> str | None:
        """The edited tag; None when a value would need escaping (the page is parsed then)."""
        if not all(isinstance(v, str) and _PLAIN_VALUE.fullmatch(v) for v in self.attrs.values()):
            return None
        return "<img " + " ".join(f'{name}="{value}"' for name, value in sorted(self.attrs.items())) + "/>"


class _SoupWhenNeeded:
    """BeautifulSoup as nbconvert's ``HTMLExporter.from_notebook_node`` uses it: parse the
    rendered page, ``select`` the images without alt text (to give them a placeholder) and
    JupyterLab's cells (to make them focusable), and ``str`` it back. Python's HTML parser
    took ~0.18 s of CPU to read and write back a 270 kB feedback page, 40 % of the page's
    export. Here the page is parsed only when a selector can match something other than a
    figure's image (:data:`_MAY_MATCH`, :data:`_FIGURE`); the placeholder is written into
    those images as BeautifulSoup writes them, and the rest of the page is left as rendered,
    which BeautifulSoup writes back unchanged (tests/test_grader_pages.py)."""

    def __init__(self, markup, *args, **kw):
        self._markup, self._args, self._kw = markup, args, kw
        self._soup, self._figures = None, []

    def _parsed(self):
        """The real soup, with the edits already made to the figures handed out."""
        if self._soup is None:
            from bs4 import BeautifulSoup

            self._soup = BeautifulSoup(self._markup, *self._args, **self._kw)
            if self._figures:  # (nbconvert gives every image without alt text the same one)
                edits = {name: value for name, value in self._figures[0].attrs.items() if name != "src"}
                for image in self._soup.select(_NO_ALT):
                    image.attrs.update(edits)
        return self._soup

    def select(self, selector):
        if self._soup is not None:
            return self._soup.select(selector)
        if selector == _NO_ALT and not self._figures:
            lacking = [(start, end) for start, end, names in _img_tags(self._markup) if "alt" not in names]
            found = [_FIGURE.fullmatch(self._markup, start, end) for start, end in lacking]
            if all(found):
                self._figures = [_Figure(m.start(), m.end(), m.group(1)) for m in found]
                return self._figures
        elif not _MAY_MATCH.get(selector, lambda markup: True)(self._markup):
            return []
        return self._parsed().select(selector)

    def __str__(self):
        if self._soup is None and all(figure.written() for figure in self._figures):
            parts, at = [], 0
            for figure in self._figures:
                parts += [self._markup[at : figure.start], figure.written()]
                at = figure.end
            return "".join(parts) + self._markup[at:]
        return str(self._parsed())


class _RememberedHighlight:
    """nbconvert's code highlighting (``Highlight2HTML``) remembered: a class's feedback pages
    repeat the notebook's own code cells, each highlighted once per exporter instead of once
    per page. What nbconvert's highlighting reads of a cell: its source, the language, and
    its metadata's ``magics_language``."""

    #: highlighted cells kept (beyond them, the oldest half is forgotten)
    KEEP = 4096

    def __init__(self, highlight):
        self.highlight, self.seen = highlight, {}

    def __call__(self, source, language=None, metadata=None):
        magics = (metadata or {}).get("magics_language")
        key = (source, language, magics)
        if key not in self.seen:
            if len(self.seen) >= self.KEEP:
                self.seen = dict(list(self.seen.items())[self.KEEP // 2 :])
            self.seen[key] = self.highlight(source, language, {"magics_language": magics} if magics else None)
        return self.seen[key]


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback exporter (HTML, its ``feedback`` template) that shows optional tasks'
    cells as extra credit (:func:`show_extra_credit`, with what :class:`MarkExtraCredit` noted),
    parses a rendered page again only when nbconvert has something to edit in it
    (:class:`_SoupWhenNeeded`), and highlights each code cell once for all the pages it
    writes (:class:`_RememberedHighlight`, unless ``highlight_code`` is configured)."""

    def from_notebook_node(self, nb, resources=None, **kw):
        from nbconvert.filters.highlight import Highlight2HTML

        if not hasattr(self, "_highlights"):
            self._highlights = None if "highlight_code" in self.filters else {}
        if self._highlights is not None:  # (the lexer as nbconvert's exporter picks it)
            info = nb.metadata.get("language_info", {})
            lexer = info.get("pygments_lexer", info.get("name", None))
            if lexer not in self._highlights:
                self._highlights[lexer] = _RememberedHighlight(Highlight2HTML(pygments_lexer=lexer, parent=self))
            if self.filters.get("highlight_code") is not self._highlights[lexer]:  # (a new value
                self.filters = {**self.filters, "highlight_code": self._highlights[lexer]}  # rebuilds jinja)
        with soup_when_needed():
            html, resources = super().from_notebook_node(nb, resources, **kw)
        html, missing = show_extra_credit(html, resources.get("nbgrader", {}).get(EXTRA_CREDIT_CELLS, {}))
        if missing:
            self.log.warning("feedback: no score found to show as extra credit for %s", ", ".join(missing))
        return html, resources


@contextlib.contextmanager
def soup_when_needed():
    """nbconvert's HTML exporter module uses :class:`_SoupWhenNeeded` meanwhile (the feedback
    exporter; formgrader's submission pages, :mod:`neurograder.server`)."""
    from nbconvert.exporters import html as module

    original, module.BeautifulSoup = module.BeautifulSoup, _SoupWhenNeeded
    try:
        yield
    finally:
        module.BeautifulSoup = original
