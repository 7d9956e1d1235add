"""Does every built page render its equations, code and tables right, in a real browser?

Questions answered, for every page of the built site (discovered from its files):
* are the numbered equations numbered (1), (2), ... from 1 on each page, and does every
  "Eq. N" reference point at the equation that shows (N)?
* is no code block clipped: a code block or cell output wider than its box must scroll
  (overflow auto/scroll), never be cut off by its own or an ancestor's overflow: hidden,
  on a wide and on a phone-sized window?
* is no Markdown table left as raw text (a rendered paragraph or cell output starting with
  "| ")?

Fixtures and the page list come from tests/conftest.py, helpers from tests/browser.py. Each
page is loaded once per window width (``opened``): the checks only read it.
"""

from __future__ import annotations

import pytest

from browser import PAGE_VIEWPORT, PageRecord, open_page, redirect_target

CHAPTER = "book/module1/neurons.html"
WIDTHS = (PAGE_VIEWPORT["width"], 400)  # a desktop window and a phone
HEIGHT = PAGE_VIEWPORT["height"]


@pytest.fixture(scope="module")
def opened(site, browser, loaded_pages):
    """``opened(page_path, width)``: the page loaded and settled in a window ``width`` px
    wide, once per module (its own browser context); the checks only read the page, and
    opening collapsed cells (the clipping check) changes no text, number or table. In the
    desktop window it is the light page of ``loaded_pages``, shared with the page's other
    readers (axe, the offline check: tests/parallel.py groups them), which run before these
    checks (collection order)."""
    contexts, loaded = [], {}

    def get(page_path, width=WIDTHS[0]) -> PageRecord:
        if width == PAGE_VIEWPORT["width"]:
            return loaded_pages(page_path, "light")
        if (page_path, width) not in loaded:
            context = browser.new_context(viewport={"width": width, "height": HEIGHT})
            contexts.append(context)
            rec = PageRecord.attach(context.new_page())
            open_page(rec, site.page_url(page_path), redirect=redirect_target(site.root, page_path))
            loaded[page_path, width] = rec
        return loaded[page_path, width]

    yield get
    for context in contexts:
        context.close()


@pytest.mark.timeout(120)
def test_equations_are_numbered_from_one_on_each_page(opened, page_path):
    """Are this page's equation numbers (1), (2), ... in page order, and does each "Eq. N"
    link lead to the equation numbered (N)?"""
    rec = opened(page_path)
    found = rec.evaluate(
        """() => ({
            numbers: [...document.querySelectorAll('.eqno')]
                .map(e => (e.firstChild && e.firstChild.textContent || '').trim()),
            // references to an equation of this page (not the equations' own "#" links)
            refs: [...document.querySelectorAll('a.reference[href^="#equation-"]')].map(a => {
                const id = decodeURIComponent(a.getAttribute('href').split('#')[1]);
                const eq = document.getElementById(id);
                const no = eq && eq.querySelector('.eqno');
                return {text: a.textContent.trim(), target: no ? no.firstChild.textContent.trim() : null};
            }),
        })"""
    )
    want = [f"({k})" for k in range(1, len(found["numbers"]) + 1)]
    assert found["numbers"] == want, f"{page_path}: equation numbers {found['numbers']}, expected {want}"
    for ref in found["refs"]:
        number = ref["text"].split()[-1]
        assert ref["target"] == f"({number})", f"{page_path}: reference {ref} points elsewhere"


# every block that shows code or a cell's text output, and every ancestor up to the article:
# a block wider than its box must scroll; no box that clips may be overflowed
JS_CLIPPED = """() => {
    const blocks = [...document.querySelectorAll(
        'article pre, article div.highlight, article div.cell_output, article div.output')];
    const clips = el => ['hidden', 'clip'].includes(getComputedStyle(el).overflowX);
    const over = el => el.scrollWidth > el.clientWidth + 1;
    const found = [];
    for (const b of blocks) {
        if (!b.getClientRects().length) continue;
        for (let el = b; el && el.tagName !== 'ARTICLE'; el = el.parentElement) {
            if (over(el) && clips(el)) {
                found.push(`${b.tagName.toLowerCase()} "${b.textContent.trim().slice(0, 40)}" cut by ` +
                           `<${el.tagName.toLowerCase()} class="${el.className}"> ` +
                           `(${el.scrollWidth} px of content in ${el.clientWidth} px, overflow hidden)`);
                break;
            }
        }
    }
    return {blocks: blocks.length, clipped: found};
}"""


@pytest.mark.timeout(180)
@pytest.mark.parametrize("width", WIDTHS)
def test_no_code_block_is_clipped(opened, page_path, width):
    """Does every code block and cell output of this page wrap or scroll instead of being cut
    off, in a window `width` px wide (collapsed code cells opened)?"""
    rec = opened(page_path, width)
    rec.evaluate("() => document.querySelectorAll('article details').forEach(d => d.open = true)")
    found = rec.evaluate(JS_CLIPPED)
    assert not found["clipped"], f"{page_path} at {width} px: clipped code: {found['clipped']}"


@pytest.mark.timeout(120)
def test_no_markdown_table_is_left_as_raw_text(opened, page_path):
    """Is every Markdown table rendered as a table, none left as raw "| a | b |" text in a
    paragraph or a cell output?"""
    rec = opened(page_path)
    raw = rec.evaluate(
        r"""() => [...document.querySelectorAll('article p, article div.cell_output pre, article div.output pre')]
            .filter(e => !e.closest('div.cell_input'))
            .map(e => e.textContent.trim()).filter(t => /^\|\s/.test(t)).map(t => t.slice(0, 60))"""
    )
    assert not raw, f"{page_path}: raw Markdown table text: {raw}"
