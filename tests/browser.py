"""Reusable helpers for tests that look at the built site in a real browser.

Used by ``tests/conftest.py`` (fixtures ``site``, ``browser``, ``page``) and importable by any
test (``from browser import ...``; pytest puts ``tests/`` on ``sys.path``).

* :class:`SiteServer` serves a built site (``_build/html``) over http on 127.0.0.1 from a
  background thread, on a free port.
* :func:`launch_chromium` starts Debian's chromium through Playwright (never a downloaded one).
* :class:`PageRecord` wraps a Playwright page and records every request URL, console error,
  page error, failed request and HTTP error response, so a test can assert the page stayed on
  127.0.0.1 and was clean (:func:`assert_local_only`, :meth:`PageRecord.assert_clean`).
* :func:`open_page` loads a page and waits until MathJax, widgets and images have settled;
  :func:`built_page_paths` lists the pages of a built site, :func:`redirect_target` follows
  a meta-refresh page.
* :func:`axe_violations` runs axe-core's WCAG 2.0/2.1 A/AA rules on any open page (a site
  page, a feedback or report HTML file) and :func:`format_violations` lists them readably::

      violations = axe_violations(rec)
      assert not violations, format_violations("feedback.html", violations)

(Over 300 lines: one module that every browser test imports its helpers from, so a test reads
``from browser import ...`` whatever it needs; its sections are marked.)
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

REPO = Path(__file__).resolve().parents[1]
#: Environment variable naming another built site to test (the folder holding index.html).
SITE_DIR_ENV = "SITE_DIR"
DEFAULT_SITE_DIR = REPO / "_build" / "html"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOCAL_HOST = "127.0.0.1"
#: Longest wait (ms) for MathJax / widgets / late assets on a 2-core machine under load.
SETTLE_MS = 15_000
#: The colour modes every page is checked in (``color_scheme`` of the browser context).
MODES = ("light", "dark")
#: The window every built page is checked in (a desktop browser's)
PAGE_VIEWPORT = {"width": 1280, "height": 900}
REFRESH = re.compile(r'<meta\s+http-equiv="refresh"\s+content="[^"]*url=([^"]+)"', re.I)
#: URL schemes that never touch the network.
INERT_SCHEMES = {"data", "blob", "about", "javascript"}


def site_dir() -> Path:
    """The built site to test: ``$SITE_DIR`` if set, else ``<repo>/_build/html``."""
    return Path(os.environ.get(SITE_DIR_ENV) or DEFAULT_SITE_DIR).resolve()


def check_site_built(root: Path) -> None:
    """Raise a clear error when ``root`` is not a built site."""
    if not (root / "index.html").is_file():
        raise FileNotFoundError(
            f"No built site at {root} (no index.html). Build it first with `make book`, or "
            f"`.venv/bin/jupyter-book build . -W --keep-going --path-output /tmp/x` and "
            f"then set {SITE_DIR_ENV}=/tmp/x/_build/html."
        )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, no request log on stderr."""

    def log_message(self, format, *args):  # noqa: A002 (stdlib signature)
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    """Threaded server that does not print a traceback when the browser drops a connection
    it no longer needs (a cancelled font or image request)."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class SiteServer:
    """Serve ``root`` on http://127.0.0.1:<free port>/ from a daemon thread.

    Use as a context manager or call :meth:`start` / :meth:`stop`.
    """

    def __init__(self, root: Path | str, site: bool = True):
        self.root = Path(root).resolve()
        if site:  # a built site (index.html); False serves any folder, e.g. a report
            check_site_built(self.root)
        handler = functools.partial(_QuietHandler, directory=str(self.root))
        # port 0: the OS picks a free port
        self._httpd = _QuietServer((LOCAL_HOST, 0), handler)
        self.port = self._httpd.server_address[1]
        self.url = f"http://{LOCAL_HOST}:{self.port}/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"site-server-{self.port}", daemon=True)

    def start(self) -> "SiteServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "SiteServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def page_url(self, rel_path: str | Path) -> str:
        """URL of a file of the site given its path relative to the site root."""
        return self.url + Path(rel_path).as_posix().lstrip("/")


def free_port() -> int:
    """A TCP port on :data:`LOCAL_HOST` that no process listens on now, for a server started
    with ``--port`` (a server that fails to bind it fails its start, and the test says so)."""
    with socket.socket() as s:
        s.bind((LOCAL_HOST, 0))
        return s.getsockname()[1]


def launch_chromium(playwright, **kwargs):
    """Debian's headless chromium through Playwright (``playwright install`` is never used)."""
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(
            f"{CHROMIUM} not found: install Debian's chromium (`apt-get install -y chromium`), `make test-env` does it."
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), **kwargs)


def is_local(url: str) -> bool:
    """True when loading ``url`` does not leave 127.0.0.1 (data:, blob:, about: count as local)."""
    parts = urlsplit(url)
    if parts.scheme in INERT_SCHEMES:
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname == LOCAL_HOST


@dataclass
class PageRecord:
    """A Playwright page plus everything it did since it was created.

    ``requests``: every request URL; ``console_errors``: console messages of type error;
    ``page_errors``: uncaught exceptions; ``failed_requests``: requests that failed at the
    network level ("url: reason"); ``bad_responses``: HTTP status >= 400 ("status url").
    """

    page: object
    requests: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    console_messages: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    failed_requests: list = field(default_factory=list)
    bad_responses: list = field(default_factory=list)

    @classmethod
    def attach(cls, page) -> "PageRecord":
        rec = cls(page)
        page.on("request", lambda r: rec.requests.append(r.url))
        page.on("console", rec._on_console)
        page.on("pageerror", lambda e: rec.page_errors.append(str(e)))
        page.on("requestfailed", lambda r: rec.failed_requests.append(f"{r.url}: {r.failure}"))
        page.on(
            "response",
            lambda r: rec.bad_responses.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        return rec

    def _on_console(self, msg) -> None:
        text = f"[{msg.type}] {msg.text} ({msg.location.get('url', '')})"
        self.console_messages.append(text)
        if msg.type == "error":
            self.console_errors.append(text)

    def __getattr__(self, name):
        # convenience: rec.goto(...), rec.evaluate(...) go to the Playwright page
        return getattr(self.page, name)

    def remote_requests(self) -> list:
        return [u for u in self.requests if not is_local(u)]

    def problems(self) -> dict:
        """Everything that makes a page unclean, by kind (empty lists left out)."""
        found = {
            "requests leaving 127.0.0.1": self.remote_requests(),
            "console errors": self.console_errors,
            "page errors": self.page_errors,
            "failed requests": self.failed_requests,
            "HTTP errors": self.bad_responses,
        }
        return {k: v for k, v in found.items() if v}

    def assert_clean(self, where: str = "") -> None:
        """Fail listing every remote request, console/page error, failed or 4xx/5xx request."""
        problems = self.problems()
        assert not problems, _format_problems(where or self.page.url, problems)


def assert_local_only(record: PageRecord, where: str = "") -> None:
    """Fail if any request recorded by ``record`` left 127.0.0.1."""
    remote = record.remote_requests()
    assert not remote, _format_problems(where or record.page.url, {"requests leaving 127.0.0.1": remote})


def _format_problems(where: str, problems: dict) -> str:
    lines = [f"{where}:"]
    for kind, items in problems.items():
        lines.append(f"  {kind} ({len(items)}):")
        lines.extend(f"    {item}" for item in items[:20])
        if len(items) > 20:
            lines.append(f"    ... and {len(items) - 20} more")
    return "\n".join(lines)


def html_pages(root: Path) -> list:
    """Every content page of a built site, as paths relative to ``root`` (sorted).

    Discovered from the files, not from a list: every ``*.html`` (search and genindex included)
    except files under asset folders (``_static``, ``_sources``, ``_images``, ...).
    """
    skip_dirs = {"_static", "_sources", "_images", "_downloads", "vendor"}
    pages = []
    for path in sorted(root.rglob("*.html")):
        rel = path.relative_to(root)
        if skip_dirs.intersection(rel.parts[:-1]):
            continue
        pages.append(rel)
    return pages


# ---- accessibility: axe-core, injected from the npm package (never from a CDN) ----------
#: axe-core's browser bundle, installed by `npm ci` from package.json (pinned version).
AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"
#: The rule sets run: WCAG 2.0 and 2.1, levels A and AA (axe's tags for them).
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


def axe_version() -> str:
    """The installed axe-core version (from its package.json)."""
    return json.loads((AXE_JS.parent / "package.json").read_text(encoding="utf-8"))["version"]


def axe_violations(page, tags=AXE_TAGS, context=None) -> list:
    """Run axe-core on what ``page`` (a Playwright page or :class:`PageRecord`) shows now.

    axe-core is injected from ``node_modules/axe-core/axe.min.js`` (a clear error when it is
    not installed). ``context`` is an optional CSS selector to check only part of the page.
    Returns one dict per violated rule: ``id``, ``impact``, ``help``, ``url`` (axe's
    explanation) and ``nodes`` (CSS target and HTML snippet of every failing element).
    """
    page = getattr(page, "page", page)
    if not AXE_JS.is_file():
        raise FileNotFoundError(f"{AXE_JS} not found: run `npm ci` (or `make assets`) in {REPO}")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(
        """async ([tags, context]) => {
            const result = await axe.run(context || document,
                {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target.join(' '),
                                          html: n.html.slice(0, 160)})),
            }));
        }""",
        [list(tags), context],
    )


def format_violations(where: str, violations: list, max_nodes: int = 5) -> str:
    """A readable list of axe violations: rule, impact, what it asks, and the failing nodes."""
    lines = [f"{where}: {len(violations)} axe-core {axe_version()} WCAG 2.1 A/AA violation(s)"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} node(s), {v['url']})")
        for node in v["nodes"][:max_nodes]:
            lines.append(f"      {node['target']}   {node['html']}")
        if len(v["nodes"]) > max_nodes:
            lines.append(f"      ... and {len(v['nodes']) - max_nodes} more")
    return "\n".join(lines)


# ---- opening built pages ------------------------------------------------------------------
def built_page_paths(root: Path | None = None) -> list:
    """Every page of the built site as posix paths (for parametrising tests); ``[]`` when the
    site is not built."""
    root = root or site_dir()
    return [p.as_posix() for p in html_pages(root)] if (root / "index.html").is_file() else []


def redirect_target(root: Path, page_path: str) -> str | None:
    """Target of a ``<meta http-equiv="refresh">`` page (e.g. index.html), else None."""
    match = REFRESH.search((root / page_path).read_text(encoding="utf-8", errors="replace"))
    return match.group(1).strip() if match else None


def open_page(rec, url: str, redirect: str | None = None) -> None:
    """Load ``url`` (following a meta-refresh ``redirect``) and wait until fonts, MathJax and
    widgets have settled (no fixed sleep: waits for those events, at most ``SETTLE_MS``)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    if redirect:
        rec.goto(url, wait_until="commit")
        rec.page.wait_for_url(urljoin(url, redirect), wait_until="load", timeout=SETTLE_MS)
    else:
        rec.goto(url, wait_until="load")
    # lazy images would never load in a headless viewport: make them eager
    rec.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
    if not _has_work(rec):
        rec.wait_for_load_state("networkidle")
        return
    try:
        rec.wait_for_function(
            """() => {
                const math = document.querySelectorAll('.math');
                const done = [...math].every(m => m.querySelector('mjx-container'));
                const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
                const shown = [...views].every(s => s.parentElement.querySelector('.jupyter-widgets'));
                const imgs = [...document.images].every(i => i.complete);
                return done && shown && imgs;
            }""",
            timeout=SETTLE_MS,
            polling=100,
        )
    except PlaywrightTimeout:
        pass  # the assertions on the page report say what did not render, and why
    rec.wait_for_load_state("networkidle")  # late requests, e.g. fonts MathJax asks for


def _has_work(rec) -> bool:
    return rec.evaluate(
        "() => document.querySelector('.math, script[type=\"application/vnd.jupyter.widget-view+json\"], img') !== null"
    )
