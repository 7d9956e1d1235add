"""Allowlist sanitising of the student-authored HTML the grader keeps.

Formgrader and the feedback render a Markdown cell with nbconvert's ``markdown2html`` and put
HTML outputs in the page as they are, in the instructor's (or student's) browser. Everything a
student wrote goes through here first (:class:`neurograder.preprocessors.NormalizeSubmission`
and the feedback chain):

* :func:`clean_html`: the maintained sanitiser ``nh3`` (Rust's ammonia, a spec-compliant HTML5
  parser) with the allowlist below: ordinary text markup, tables, images (from the
  submission's folder or ``data:``, never another server), links; no script, no event
  handler, no ``javascript:`` URL, no style sheet, no form, no frame, no SVG.
* :func:`sanitize_markdown`: a Markdown cell whose rendered HTML is already allowed is kept
  byte for byte (its Markdown and its ``$...$`` math untouched, so nbgrader's checksum of an
  unanswered cell still matches); otherwise the cell becomes the sanitised rendering (one
  line of HTML, so it stays one HTML block when rendered again; math survives as text).
* :func:`sanitize_output_data`: a code cell output keeps PNG/JPEG, plain text, sanitised HTML
  and Markdown; SVG, JavaScript, widget views and every other MIME type are dropped.

"Already allowed" is decided by parsing the rendered HTML and its sanitised form with html5lib
(the HTML5 parsing algorithm browsers use) and comparing the two trees, never by a pattern.
"""

from __future__ import annotations

import functools

import html5lib
import nh3
from html5lib.serializer import HTMLSerializer
from nbconvert.filters import markdown2html

#: elements a student's answer may contain: nh3's maintained default allowlist (text markup,
#: lists, tables, images, links), nothing added
TAGS = set(nh3.ALLOWED_TAGS)
#: attributes per element: nh3's defaults, plus what nbconvert's Markdown rendering makes
#: (``class`` of code highlighting and heading anchors, ``id`` of headings), ``title`` for
#: tooltips and ``style`` on table cells (only ``text-align``, below)
ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
for _tag in ("div", "span", "pre", "code", "a"):
    ATTRIBUTES.setdefault(_tag, set()).add("class")
for _tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
    ATTRIBUTES.setdefault(_tag, set()).add("id")
for _tag in ("a", "abbr", "img"):
    ATTRIBUTES.setdefault(_tag, set()).add("title")
for _tag in ("td", "th"):
    ATTRIBUTES[_tag].add("style")
#: the only CSS property kept in a ``style`` attribute (Markdown table column alignment)
STYLE_PROPERTIES = {"text-align"}
#: URL schemes of links and images: nh3's defaults (no javascript:, vbscript:, file:) plus
#: ``data:``, which :func:`_keep_attribute` allows only as an image source (and images only
#: from ``data:`` or relative URLs)
URL_SCHEMES = set(nh3.ALLOWED_URL_SCHEMES) | {"data"}
#: attributes holding a URL (checked by :func:`_keep_attribute`)
URL_ATTRIBUTES = {"href", "src", "cite"}
#: image types kept from a code cell's outputs, by how their base64 text starts (the file
#: signature), up to MAX_IMAGE base64 characters each
IMAGE_TYPES = {"image/png": "iVBOR", "image/jpeg": "/9j/"}
MAX_IMAGE = 3_000_000
#: characters of plain text, HTML or Markdown kept per output
MAX_TEXT = 4000


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """nh3 attribute filter for URLs: an image comes from the submission's own folder or a
    ``data:image/`` URL (not SVG), never from another server; ``data:`` is allowed nowhere
    else."""
    if attribute not in URL_ATTRIBUTES:
        return value
    url = value.strip().lower()
    if tag == "img" and attribute == "src":
        if url.startswith("data:"):
            return value if url.startswith("data:image/") and not url.startswith("data:image/svg") else None
        remote = url.startswith("//") or ":" in url.split("/", 1)[0]
        return None if remote else value
    return None if url.startswith("data:") else value


def clean_html(html: str) -> str:
    """``html`` with everything outside the allowlist removed (script contents too)."""
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        attribute_filter=_keep_attribute,
        filter_style_properties=STYLE_PROPERTIES,
        link_rel=None,
        strip_comments=True,
    )


def _tree(html: str) -> str:
    """Canonical text of ``html`` parsed as a browser parses a fragment inside a ``<div>``."""
    fragment = html5lib.parseFragment(html, container="div", namespaceHTMLElements=False)
    walker = html5lib.getTreeWalker("etree")
    serializer = HTMLSerializer(
        quote_attr_values="always",
        alphabetical_attributes=True,
        omit_optional_tags=False,
        minimize_boolean_attributes=False,
        use_trailing_solidus=False,
        resolve_entities=False,
    )
    return serializer.render(walker(fragment))


def is_allowed(html: str) -> bool:
    """True when sanitising ``html`` removes nothing: both parse to the same tree (the
    parse is skipped when the sanitiser returns the text unchanged)."""
    cleaned = clean_html(html)
    return cleaned == html or _tree(html) == _tree(cleaned)


def render_markdown(source: str) -> str:
    """The HTML formgrader and the feedback make of a Markdown cell (nbconvert's filter)."""
    return markdown2html(source)


def _one_block(html: str) -> str:
    """Sanitised HTML as one line inside a ``<div>``: Markdown renders it again unchanged
    (an HTML block ends at a blank line; newlines in text become character references)."""
    return "<div>" + html.replace("\r", "").replace("\n", "&#10;") + "</div>"


#: Markdown texts whose sanitised form a process remembers (most of a class's Markdown cells
#: are the chapter's own text, the same in every submission), and the longest one remembered
MARKDOWN_CACHE = 4096
MARKDOWN_CACHE_CHARS = 20_000


def sanitize_markdown(source: str) -> str:
    """A Markdown cell's source that renders to allowed HTML only (see the module doc). A pure
    function of ``source``: a text seen before gets the answer it got then."""
    if isinstance(source, str) and len(source) <= MARKDOWN_CACHE_CHARS:
        return _sanitize_markdown_cached(source)
    return _sanitize_markdown(source)


def _sanitize_markdown(source: str) -> str:
    html = render_markdown(source)
    if is_allowed(html):
        return source
    return _one_block(clean_html(html))


_sanitize_markdown_cached = functools.lru_cache(maxsize=MARKDOWN_CACHE)(_sanitize_markdown)


def _text(value) -> str | None:
    if isinstance(value, list):
        value = "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else None


def sanitize_output_data(data: dict) -> dict:
    """The MIME bundle of one output reduced to what may be shown (see the module doc)."""
    kept = {}
    for mime, signature in IMAGE_TYPES.items():
        image = _text(data.get(mime))
        if image is not None and len(image) <= MAX_IMAGE and image.strip().startswith(signature):
            kept[mime] = image
    html = _text(data.get("text/html"))
    if html is not None:
        kept["text/html"] = clean_html(html[:MAX_TEXT])
    markdown = _text(data.get("text/markdown"))
    if markdown is not None:
        kept["text/markdown"] = sanitize_markdown(markdown[:MAX_TEXT])
    plain = _text(data.get("text/plain"))
    if plain is not None:
        kept["text/plain"] = plain[:MAX_TEXT]
    return kept
