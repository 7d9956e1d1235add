"""Static checks of the built site's HTML files (no browser): links, images, remote resources.

Which site: ``$SITE_DIR`` or ``_build/html`` (see tests/browser.py). Pages are discovered from
the built files, never listed by hand. The browser tests (test_site_browser.py) check what a
reader's browser actually does; these check every reference in every file, quickly.
"""

from __future__ import annotations

import html.parser
import re
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from browser import check_site_built, html_pages, site_dir

# tag -> attributes that load a resource (or, for <a>, navigate)
REF_ATTRS = {
    "a": ("href",),
    "img": ("src",),
    "script": ("src",),
    "link": ("href",),
    "source": ("src",),
    "iframe": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
}
# <link rel=...> values that do not load anything
NON_LOADING_LINK_RELS = {
    "canonical",
    "alternate",
    "index",
    "search",
    "next",
    "prev",
    "author",
    "help",
    "license",
    "top",
    "up",
    "first",
    "last",
}
INERT_SCHEMES = {"mailto", "data", "javascript", "blob", "tel"}
REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\";]+)", re.I)


class _Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set = set()
        self.refs: list = []  # (tag, attr, value, attrs-dict)
        self.imgs: list = []  # attrs dicts
        self.refresh: list = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "img":
            self.imgs.append(attrs)
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            match = REFRESH_URL.search(attrs.get("content") or "")
            if match:
                self.refresh.append(match.group(1).strip())
        for attr in REF_ATTRS.get(tag, ()):
            value = attrs.get(attr)
            if value is not None:
                self.refs.append((tag, attr, value.strip(), attrs))

    handle_startendtag = handle_starttag


def _parse(path: Path) -> _Collector:
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8", errors="replace"))
    return collector


@pytest.fixture(scope="module")
def built():
    """Parsed pages of the built site: {relative path: collector}."""
    root = site_dir()
    try:
        check_site_built(root)
    except FileNotFoundError as err:
        pytest.fail(str(err), pytrace=False)
    pages = {rel: _parse(root / rel) for rel in html_pages(root)}
    assert pages, f"no HTML pages under {root}"
    return root, pages


def _loads_resource(tag: str, attrs: dict) -> bool:
    if tag != "link":
        return tag != "a"
    rels = set((attrs.get("rel") or "").lower().split())
    return not rels or not rels <= NON_LOADING_LINK_RELS


def test_every_page_in_the_toc_was_built(built):
    """Are the pages _toc.yml lists all present in the built site (discovery sanity check)?"""
    root, pages = built
    toc = (Path(__file__).resolve().parents[1] / "_toc.yml").read_text(encoding="utf-8")
    files = re.findall(r"^\s*(?:-\s*)?(?:file|root):\s*(\S+)", toc, flags=re.M)
    assert files, "no file entries found in _toc.yml"
    missing = [
        f for f in files if PurePosixPath(f).with_suffix(".html") not in {PurePosixPath(p.as_posix()) for p in pages}
    ]
    assert not missing, f"pages in _toc.yml but not in {root}: {missing}"


def test_no_page_loads_anything_from_outside(built):
    """Does any tag that loads a resource (script, stylesheet, image, font preload, iframe)
    point to another host? Links a reader may click (<a href>, e.g. DOIs) are allowed."""
    root, pages = built
    remote = []
    for rel, doc in pages.items():
        for tag, attr, value, attrs in doc.refs:
            parts = urlsplit(value)
            if (parts.scheme in ("http", "https") or value.startswith("//")) and _loads_resource(tag, attrs):
                remote.append(f"{rel}: <{tag} {attr}={value!r}>")
    assert not remote, "resources loaded from outside the site:\n" + "\n".join(remote)


def test_internal_links_and_anchors_resolve(built):
    """Does every local href/src (pages, assets, downloads, redirects) name an existing file,
    and every #anchor into an HTML page an existing id?"""
    root, pages = built
    ids_cache = {rel.as_posix(): doc.ids for rel, doc in pages.items()}
    broken = []

    def check(rel: Path, value: str, what: str) -> None:
        parts = urlsplit(value)
        if parts.scheme in INERT_SCHEMES or parts.scheme in ("http", "https") or parts.netloc:
            return
        base = "http://site/" + rel.as_posix()
        target = urlsplit(urljoin(base, value))
        path = unquote(target.path).lstrip("/")
        if target.path.endswith("/") or path == "":
            path += "index.html"
        file = root / path
        if not file.is_file():
            broken.append(f"{rel}: {what} {value!r} -> missing {path}")
            return
        fragment = unquote(target.fragment)
        if fragment and path.endswith(".html"):
            if path not in ids_cache:
                ids_cache[path] = _parse(file).ids
            if fragment not in ids_cache[path]:
                broken.append(f"{rel}: {what} {value!r} -> no id {fragment!r} in {path}")

    for rel, doc in pages.items():
        for tag, attr, value, _ in doc.refs:
            if value in ("", "#"):
                continue
            check(rel, value, f"<{tag} {attr}>")
        for value in doc.refresh:
            check(rel, value, "<meta refresh>")
    assert not broken, f"{len(broken)} broken internal references:\n" + "\n".join(broken[:50])


def test_every_image_has_alt_text(built):
    """Does every <img> in the built HTML carry a non-empty alt text?"""
    root, pages = built
    missing = [
        f"{rel}: <img src={(attrs.get('src') or '')[:80]!r}>"
        for rel, doc in pages.items()
        for attrs in doc.imgs
        if not (attrs.get("alt") or "").strip()
    ]
    assert not missing, "images without alt text:\n" + "\n".join(missing)


def test_offline_assets_are_served_by_the_site(built):
    """Do pages with math or widgets load MathJax / the widget manager from the site itself
    (the vendor/ folder staged from npm), and do those files exist?"""
    root, pages = built
    needed = {"vendor/mathjax/tex-chtml-full.js", "vendor/html-manager/embed.js"}
    for asset in needed | {"favicon.ico"}:
        assert (root / asset).is_file(), f"{asset} missing from {root}: run `make assets`"
    for rel, doc in pages.items():
        scripts = [
            urlsplit(urljoin("http://site/" + rel.as_posix(), v)).path.lstrip("/")
            for tag, attr, v, _ in doc.refs
            if tag == "script"
        ]
        for script in scripts:
            name = PurePosixPath(script).name
            if name in (
                "tex-chtml-full.js",
                "tex-mml-chtml.js",
                "embed.js",
                "embed-amd.js",
                "require.min.js",
                "require.js",
            ):
                # PurePosixPath normalises "_static/../vendor" the way a browser does
                assert _normalise(script) in needed, f"{rel} loads {script} instead of {needed}"


def _normalise(path: str) -> str:
    out: list = []
    for part in path.split("/"):
        if part == "..":
            if out:
                out.pop()
        elif part not in ("", "."):
            out.append(part)
    return "/".join(out)
