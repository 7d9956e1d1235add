"""Jupyter server extension: formgrader pages that cannot run a student's code, offline.

Enabled by ``grader/jupyter_server_config.py`` (load it after nbgrader's formgrader, which the
extensions' alphabetical order does). It

* serves the course's MathJax (:func:`neurograder.pages.mathjax_files`) at
  ``<base_url>/neurograder/mathjax/``, where our formgrade ``mathjax()`` macro points;
* gives each submission page (``/formgrader/submissions/<id>/``, the one page that shows a
  student's notebook) a Content-Security-Policy header that lets run only formgrader's own
  scripts: its script files, MathJax, and the inline scripts and ``onclick`` handlers of the
  formgrade template, by hash. The hashes are those of the same page rendered with an empty
  notebook (:func:`template_scripts`), so nothing a student wrote can ever be allowed;
* serves a submission's other files (images an answer links to) with a policy that runs
  nothing (``sandbox``: not even the server's origin), so an HTML file handed in cannot act
  as the instructor either;
* renders each submission page without nbconvert's second parse of it when there is
  nothing to edit but a figure's missing alt text (:func:`neurograder.pages.soup_when_needed`).
"""

from __future__ import annotations

import base64
import hashlib
import html.parser
import mimetypes

import nbformat
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

from . import pages

#: where the extension serves MathJax, below the server's base_url
MATHJAX_URL = "/neurograder/mathjax/"
#: policy of a student's files served by formgrader (images load; nothing runs)
STUDENT_FILES_POLICY = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"


class _InlineCode(html.parser.HTMLParser):
    """Collects the text of inline <script> elements and the values of on* attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts, self.handlers, self._open = [], [], None

    def handle_starttag(self, tag, attrs):
        self.handlers += [v for k, v in attrs if k.startswith("on") and v]
        if tag == "script" and not dict(attrs).get("src"):
            self._open = []

    def handle_data(self, data):
        if self._open is not None:
            self._open.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._open is not None:
            self.scripts.append("".join(self._open))
            self._open = None


def template_scripts(page: str) -> tuple[list[str], list[str]]:
    """(inline scripts, inline event handlers) of a page, as the browser hashes them."""
    parser = _InlineCode()
    parser.feed(page)
    parser.close()
    return parser.scripts, parser.handlers


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def formgrader_policy(origin: str, base_url: str, template_page: str) -> str:
    """Content-Security-Policy of a submission page whose template alone renders as
    ``template_page``: scripts from formgrader's static folder, our MathJax, and exactly the
    template's inline code; data only from the server itself."""
    scripts, handlers = template_scripts(template_page)
    script_src = [
        origin + url_path_join(base_url, "/formgrader/static/"),
        origin + url_path_join(base_url, MATHJAX_URL),
    ]
    script_src += sorted({_sha256(s) for s in scripts})
    if handlers:
        script_src += ["'unsafe-hashes'"] + sorted({_sha256(h) for h in handlers})
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(script_src),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


class _PolicyExporter:
    """nbgrader's HTML exporter for one request: renders the page, and sets the page's
    policy from the same template rendered with an empty notebook. Both are parsed again by
    nbconvert only when it has an edit to make beyond a figure's missing alt text
    (:func:`neurograder.pages.soup_when_needed`: ~0.1 instead of ~0.35 s of CPU per page)."""

    def __init__(self, handler, exporter):
        self.handler, self.exporter = handler, exporter

    def from_filename(self, filename, resources=None, **kw):
        with pages.soup_when_needed():
            page, out = self.exporter.from_filename(filename, resources=dict(resources or {}), **kw)
            bare, _ = self.exporter.from_notebook_node(nbformat.v4.new_notebook(), resources=dict(resources or {}))
        request = self.handler.request
        policy = formgrader_policy(f"{request.protocol}://{request.host}", self.handler.base_url or "/", bare)
        self.handler.set_header("Content-Security-Policy", policy)
        return page, out


def _handler_classes():
    from nbgrader.server_extensions.formgrader import handlers

    class SubmissionHandler(handlers.SubmissionHandler):
        """A student's notebook in formgrader, under its Content-Security-Policy."""

        @property
        def exporter(self):
            return _PolicyExporter(self, super().exporter)

    class SubmissionFilesHandler(handlers.SubmissionFilesHandler):
        """A student's other files: served under a policy that runs nothing."""

        def set_default_headers(self):
            super().set_default_headers()
            self.set_header("Content-Security-Policy", STUDENT_FILES_POLICY)

    return {handlers.SubmissionHandler: SubmissionHandler, handlers.SubmissionFilesHandler: SubmissionFilesHandler}


class MathJaxHandler(JupyterHandler):
    """The course's MathJax files (read-only, from :func:`neurograder.pages.mathjax_files`):
    public library code, served without login like formgrader's own static files."""

    def initialize(self, files):
        self.files = files

    @allow_unauthenticated
    def get(self, name):
        path = self.files.get(name)
        if path is None:
            raise web.HTTPError(404)
        self.set_header("Content-Type", mimetypes.guess_type(name)[0] or "application/octet-stream")
        self.set_header("Cache-Control", "max-age=3600")
        self.finish(path.read_bytes())


def _replace_targets(router, replacements) -> int:
    """Swap handler classes in tornado's routing rules (nested routers included)."""
    count = 0
    for rule in getattr(router, "rules", []):
        target = rule.target
        if isinstance(target, type) and target in replacements:
            rule.target = replacements[target]
            count += 1
        else:
            count += _replace_targets(target, replacements)
    return count


def _jupyter_server_extension_points():
    return [{"module": "neurograder.server"}]


def _load_jupyter_server_extension(serverapp):
    web_app = serverapp.web_app
    base_url = web_app.settings.get("base_url", "/")
    files = pages.mathjax_files()
    replaced = _replace_targets(web_app.default_router, _handler_classes())
    if replaced < 2:
        raise RuntimeError(
            "nbgrader's formgrader handlers were not found: enable "
            "nbgrader.server_extensions.formgrader (it must load first)"
        )
    web_app.add_handlers(".*$", [(url_path_join(base_url, MATHJAX_URL, "(.*)"), MathJaxHandler, {"files": files})])
    serverapp.log.info(
        "neurograder: formgrader submission pages carry a Content-Security-Policy; MathJax served from %s",
        pages.MATHJAX_DIR,
    )
