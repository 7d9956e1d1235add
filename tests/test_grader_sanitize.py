"""Does the sanitiser (neurograder.sanitize) keep ordinary answers exactly and leave nothing
that runs or fetches from another server?

Checked against html5lib, an independent HTML5 parser (what a browser builds from the page),
never against the sanitiser's own rules. The whole path in a real browser (formgrader,
feedback) is tested in tests/test_grader_html_safety.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import html5lib
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attacks import corpus  # noqa: E402

from neurograder import sanitize  # noqa: E402

ORDINARY = [
    "YOUR ANSWER HERE",
    "Inline $a < b$ and display $$\\sum_k x_k > 2 \\& y$$\n\n> a quote & more",
    "| tau | spikes |\n|:--|--:|\n| 1 | 7732 |\n| 16 | 0 |",
    "A **bold** claim, *emphasis*, `code`, [a link](https://example.org), <sub>2</sub>",
    "```python\nv = v + (i - v) / tau\n\nprint(v)\n```",
    "![my plot](figure.png) and ![inline](data:image/png;base64," + corpus.PNG_1x1 + ")",
    "\\begin{align} v_{k+1} &= v_k + \\frac{i_k - v_k}{\\tau} \\end{align}",
]
HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "[x](javascript:alert(1)) <a href=' JaVaScRiPt:alert(1)'>y</a>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe><object data='x.html'></object>",
    "<form action=javascript:alert(1)><button>go</button></form><base href='http://203.0.113.7/'>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'><link rel=stylesheet href=x.css>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<a href='data:text/html,<script>alert(1)</script>'>d</a><img src='data:image/svg+xml,<svg/>'>",
    "<img src='http://203.0.113.7/pixel.png'><img src='//203.0.113.7/p.png'>",
    "<div style='background:url(http://203.0.113.7/x)'>s</div><details open ontoggle=alert(1)>",
]
BAD_ELEMENTS = {
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "form",
    "base",
    "meta",
    "link",
    "svg",
    "math",
    "noscript",
    "template",
    "input",
    "button",
    "textarea",
}


def _elements(html: str):
    """Every element of ``html`` as a browser parses it: (tag, {attribute: value})."""
    root = html5lib.parseFragment(html, container="div", namespaceHTMLElements=False)
    for el in root.iter():
        if isinstance(el.tag, str):
            yield el.tag.split("}")[-1].lower(), {k.lower(): v for k, v in el.attrib.items()}


def _dangers(html: str) -> list[str]:
    """What in ``html`` could run code or fetch from another server (independent check)."""
    found = []
    for tag, attrs in _elements(html):
        if tag in BAD_ELEMENTS:
            found.append(f"<{tag}>")
        for name, value in attrs.items():
            url = "".join(value.split()).lower()
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                found.append(f"{tag} {name}")
            elif name in ("href", "src", "action", "data", "xlink:href"):
                if url.startswith(("javascript:", "vbscript:")):
                    found.append(f"{tag} {name}={value}")
                elif url.startswith("data:") and not (tag == "img" and url.startswith("data:image/png")):
                    found.append(f"{tag} {name}=data:")
                elif tag == "img" and (url.startswith("//") or url.startswith(("http:", "https:"))):
                    found.append(f"remote image {value}")
    return found


@pytest.mark.timeout(60)
@pytest.mark.parametrize("source", ORDINARY)
def test_sanitiser_keeps_ordinary_markdown_and_math_byte_for_byte(source):
    """An ordinary answer (math, tables, code, links, data: images) is kept exactly, so it
    renders as before and nbgrader's checksum of an unanswered cell still matches."""
    assert sanitize.sanitize_markdown(source) == source


@pytest.mark.timeout(60)
@pytest.mark.parametrize("source", HOSTILE)
def test_sanitiser_leaves_nothing_that_runs(source):
    """Script, handlers, javascript:/data: URLs, frames, forms, remote images: the rendered
    answer has none of them (checked with html5lib, not with the sanitiser)."""
    assert _dangers(sanitize.render_markdown(source)), "the hostile case is not hostile"
    cleaned = sanitize.sanitize_markdown(source)
    assert _dangers(sanitize.render_markdown(cleaned)) == []
    assert sanitize.sanitize_markdown(cleaned) == cleaned  # stable under a regrade


@pytest.mark.timeout(60)
def test_sanitiser_keeps_math_and_text_around_removed_html():
    """Removing a script keeps the answer's words and its TeX (as text MathJax will find)."""
    source = "Since $v_{k+1} = v_k + (i_k - v_k)/\\tau$ it averages.\n\n<script>alert(1)</script>"
    cleaned = sanitize.sanitize_markdown(source)
    text = "".join(html5lib.parseFragment(sanitize.render_markdown(cleaned)).itertext())
    assert "$v_{k+1} = v_k + (i_k - v_k)/\\tau$" in text and "it averages." in text
    assert "alert" not in text


@pytest.mark.timeout(60)
def test_outputs_keep_images_text_and_clean_html_only():
    """A display output keeps PNG, text and sanitised HTML; SVG and JavaScript are dropped."""
    data = {
        "image/png": corpus.PNG_1x1,
        "text/plain": "<Figure>",
        "text/html": "<table><tr><td>1</td></tr></table><script>alert(1)</script>",
        "image/svg+xml": "<svg onload=alert(1)/>",
        "application/javascript": "alert(1)",
        "application/vnd.jupyter.widget-view+json": {"model_id": "x"},
    }
    kept = sanitize.sanitize_output_data(data)
    assert set(kept) == {"image/png", "text/plain", "text/html"}
    assert kept["image/png"] == corpus.PNG_1x1 and kept["text/plain"] == "<Figure>"
    assert [t for t, _ in _elements(kept["text/html"])].count("td") == 1
    assert _dangers(kept["text/html"]) == []
