"""Accessibility of the built site (WCAG 2.1 AA) in headless Debian chromium, offline.

Questions answered:
* does axe-core (from npm, ``node_modules/axe-core``, injected from that file) find any WCAG
  2.0/2.1 level A or AA violation on any built page, in light or in dark mode?
* can a screen reader use the tau sliders: is each range input named "time constant tau"
  (as computed from the accessibility tree), does its value text read the tau with its
  unit, and does the picture's alt text follow the slider?
* can the chapter be used with the keyboard alone: does Tab reach every control in document
  order, is the focus always visible (the pixels around the focused control change when it
  gets focus) and inside the window, is there no trap, and are the download link, the
  page-download menu and the search reachable and usable?

Fixtures come from tests/conftest.py, helpers (``axe_violations``, ``open_page``) from
tests/browser.py.
"""

from __future__ import annotations

import base64
import re

import pytest

from browser import MODES, PAGE_VIEWPORT, SETTLE_MS, PageRecord, axe_violations, format_violations, open_page

CHAPTER = "book/module1/neurons.html"
N_SLIDERS = 4  # the chapter's tau sliders (course/sliders.py)
SLIDER_NAME = "time constant tau"
VIEWPORT = PAGE_VIEWPORT
# "tau = 8 steps" or "tau = 8 steps (8 ms)": the tau with its unit
TAU_TEXT = re.compile(r"^tau = \d+(\.\d+)? steps?( \(\d+(\.\d+)? m?s\))?$")
FOCUS_MARGIN_PX = 6  # a focus ring is drawn around the element: look that far out


@pytest.mark.timeout(180)
@pytest.mark.parametrize("mode", MODES)
def test_page_has_no_wcag_a_aa_violations(loaded_pages, page_path, mode):
    """Does axe-core find no WCAG 2.0/2.1 A/AA violation on this page in light/dark mode?"""
    violations = axe_violations(loaded_pages(page_path, mode))
    assert not violations, format_violations(f"{page_path} ({mode} mode)", violations)


# ---- the tau sliders for a screen reader ------------------------------------------------------
@pytest.mark.timeout(180)
def test_tau_sliders_have_a_name_and_read_tau_with_its_unit(site, page):
    """Is every tau range input found by its role and accessible name "time constant tau",
    does its value text read the tau with its unit (the label of the drop-down twin), and do
    the value text and the shown picture's alt text follow a key press?"""
    rec = page(viewport=VIEWPORT)
    open_page(rec, site.page_url(CHAPTER))
    sliders = rec.page.get_by_role("slider", name=SLIDER_NAME, exact=True)
    assert sliders.count() == N_SLIDERS, (
        f"{CHAPTER}: {sliders.count()} sliders named {SLIDER_NAME!r}, expected {N_SLIDERS}"
    )
    shown = """h => {
        const box = h.closest('.tau-slider');
        const img = [...box.querySelectorAll('img.tau-frame')].find(i => i.offsetParent !== null);
        const sel = box.querySelector('select');
        return {text: h.getAttribute('aria-valuetext'), alt: img ? img.alt : null,
                choice: sel.options[sel.selectedIndex].text.replace(/\\u00a0/g, ' ')};
    }"""
    for i in range(N_SLIDERS):
        handle = sliders.nth(i)
        before = handle.evaluate(shown)
        assert TAU_TEXT.match(before["text"] or ""), (
            f"slider {i}: value text {before['text']!r} does not read a tau with its unit"
        )
        assert before["text"] == before["choice"], f"slider {i}: {before} (value text != readout)"
        assert before["text"] in before["alt"], f"slider {i}: alt text does not name the tau: {before}"
        handle.focus()
        rec.page.keyboard.press("ArrowRight")
        try:  # until value text, drop-down and picture have all moved on (they update in turn)
            rec.page.wait_for_function(
                f"""([h, old]) => {{ const s = ({shown})(h);
                    return s.text !== old && s.text === s.choice && (s.alt || '').includes(s.text); }}""",
                arg=[handle.element_handle(), before["text"]],
                timeout=SETTLE_MS,
            )
        except Exception:
            pass  # the assertions below say what disagrees
        after = handle.evaluate(shown)
        assert TAU_TEXT.match(after["text"]) and after["text"] != before["text"], (before, after)
        assert after["text"] == after["choice"] and after["text"] in after["alt"], (
            f"slider {i} after ArrowRight: value text, readout and picture disagree: {after}"
        )
    rec.assert_clean(f"{CHAPTER} after moving the sliders")


# ---- keyboard-only walk of the chapter --------------------------------------------------------
# Everything a keyboard user should reach with Tab: rendered, enabled, not taken out of the
# tab order. Chromium also stops on scrollable code blocks; those are welcome extras.
JS_TABBABLE = """() => {
    const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, ' +
                '[tabindex], [contenteditable=true]';
    return [...document.querySelectorAll(sel)].filter(e =>
        e.tabIndex >= 0 && !e.disabled && !e.closest('[inert]') &&
        e.checkVisibility({visibilityProperty: true}) &&
        (e.getClientRects().length > 0)
    ).map(e => { e.dataset.kbWalk = e.dataset.kbWalk || String(Math.random()).slice(2); return e.dataset.kbWalk; });
}"""

# The focused element: its walk id (given to it when first seen), a description, whether it
# is inside the window, and the box to look at for its focus ring (itself and descendants).
JS_FOCUSED = """() => {
    const e = document.activeElement;
    if (!e || e === document.body || e === document.documentElement) return null;
    e.dataset.kbWalk = e.dataset.kbWalk || String(Math.random()).slice(2);
    const rects = [e, ...e.querySelectorAll('*')].flatMap(n => [...n.getClientRects()])
        .filter(r => r.width > 0 && r.height > 0);
    const r = e.getBoundingClientRect();
    const box = rects.reduce((b, q) => ({left: Math.min(b.left, q.left), top: Math.min(b.top, q.top),
        right: Math.max(b.right, q.right), bottom: Math.max(b.bottom, q.bottom)}),
        {left: r.left, top: r.top, right: r.right, bottom: r.bottom});
    const label = (e.getAttribute('aria-label') || e.innerText || e.textContent || '').trim()
        .replace(/\\s+/g, ' ').slice(0, 50);
    return {id: e.dataset.kbWalk, what: `<${e.tagName.toLowerCase()}${e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).slice(0, 2).join('.') : ''}> ${label}`,
            href: e.getAttribute('href') || '', box,
            inView: box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth,
            scroll: [scrollX, scrollY]};
}"""

# A still page: no transitions, animations or blinking text caret, so a screenshot shows the
# settled focus state (a caret is no focus ring).
NO_MOTION_CSS = (
    "*, *::before, *::after { transition: none !important; animation: none !important;"
    " caret-color: transparent !important; }"
)


def _clip_png(cdp, clip: dict, scroll: list) -> bytes:
    """PNG of ``clip`` (CSS px in the window) straight from chromium's DevTools protocol: one
    round trip, the same pixels as Playwright's screenshot (which also waits for fonts and
    hides the caret: the still page has both settled). The protocol's clip is in page
    coordinates, hence the window's ``scroll`` offset."""
    region = {**clip, "x": clip["x"] + scroll[0], "y": clip["y"] + scroll[1], "scale": 1}
    return base64.b64decode(cdp.send("Page.captureScreenshot", {"format": "png", "clip": region})["data"])


def _focus_ring_shows(rec, cdp, focused_now: dict) -> bool:
    """Do the pixels around the focused element's box differ between the element focused and
    not focused?"""
    box = focused_now["box"]
    vw, vh = VIEWPORT["width"], VIEWPORT["height"]
    left, top = max(0, box["left"] - FOCUS_MARGIN_PX), max(0, box["top"] - FOCUS_MARGIN_PX)
    right, bottom = min(vw, box["right"] + FOCUS_MARGIN_PX), min(vh, box["bottom"] + FOCUS_MARGIN_PX)
    clip = {"x": left, "y": top, "width": max(1, right - left), "height": max(1, bottom - top)}
    focused = _clip_png(cdp, clip, focused_now["scroll"])
    rec.evaluate("() => { window.__kbWalkEl = document.activeElement; document.activeElement.blur(); }")
    unfocused = _clip_png(cdp, clip, focused_now["scroll"])
    rec.evaluate("() => window.__kbWalkEl.focus()")
    return focused != unfocused


def _walk(rec, cdp, max_steps: int) -> list:
    """Press Tab from the top of the page until the focus leaves the page or comes back to
    where it started; return what was focused at each step."""
    steps = []
    for _ in range(max_steps):
        rec.page.keyboard.press("Tab")
        now = rec.evaluate(JS_FOCUSED)
        if now is None or (steps and now["id"] == steps[0]["id"]):
            return steps
        now["ringShows"] = _focus_ring_shows(rec, cdp, now)
        steps.append(now)
    raise AssertionError(
        f"keyboard trap: after {max_steps} Tab presses the focus has not left the page; last "
        f"stops: {[s['what'] for s in steps[-5:]]}"
    )


@pytest.fixture(scope="module", params=MODES)
def chapter_walk(site, browser, request):
    """The Tab walk of the chapter (once per colour mode): what Tab reached, in order, and
    what should have been reached."""
    context = browser.new_context(viewport=VIEWPORT, color_scheme=request.param)
    rec = PageRecord.attach(context.new_page())
    open_page(rec, site.page_url(CHAPTER))
    rec.page.add_style_tag(content=NO_MOTION_CSS)
    tabbable = rec.evaluate(JS_TABBABLE)
    steps = _walk(rec, context.new_cdp_session(rec.page), max_steps=2 * len(tabbable) + 20)
    in_dom_order = rec.evaluate(
        """ids => ids.slice(1).every((id, k) => {
            const a = document.querySelector(`[data-kb-walk="${ids[k]}"]`);
            const b = document.querySelector(`[data-kb-walk="${id}"]`);
            return a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING;
        })""",
        [s["id"] for s in steps],
    )
    yield {"rec": rec, "tabbable": tabbable, "steps": steps, "in_dom_order": in_dom_order}
    context.close()


@pytest.mark.timeout(300)
def test_tab_reaches_every_control_in_order_without_trap(chapter_walk):
    """Does Tab reach every control of the chapter, once each, in document order, and then
    leave the page (no trap)?"""
    steps, tabbable = chapter_walk["steps"], chapter_walk["tabbable"]
    ids = [s["id"] for s in steps]
    assert len(ids) == len(set(ids)), "an element was focused twice in one Tab walk"
    missed = set(tabbable) - set(ids)
    rec = chapter_walk["rec"]
    names = rec.evaluate(
        'ids => ids.map(id => document.querySelector(`[data-kb-walk="${id}"]`).outerHTML.slice(0, 120))', sorted(missed)
    )
    assert not missed, f"{len(missed)} control(s) Tab never reached: {names}"
    assert chapter_walk["in_dom_order"], "Tab does not follow the document order: " + " -> ".join(
        s["what"] for s in steps
    )
    assert sum(s["what"].startswith("<div.noUi-handle") for s in steps) == N_SLIDERS
    assert sum(s["what"].startswith("<select") for s in steps) == N_SLIDERS


@pytest.mark.timeout(300)
def test_focus_is_always_visible(chapter_walk):
    """Is every control visibly marked when it has the keyboard focus, and scrolled into the
    window?"""
    hidden = [s["what"] for s in chapter_walk["steps"] if not s["ringShows"]]
    assert not hidden, f"{len(hidden)} focused control(s) show no visible focus: {hidden}"
    outside = [s["what"] for s in chapter_walk["steps"] if not s["inView"]]
    assert not outside, f"focused control(s) outside the window: {outside}"


@pytest.mark.timeout(300)
def test_download_links_and_search_work_from_the_keyboard(chapter_walk):
    """Does Tab reach the assignment download (module1.zip), the page's download menu (and
    its links with Enter + Tab), and the search (Enter opens it with the input focused)?
    (Pressed on the walked page, in its colour mode: the walk has left the page, so Tab
    starts again from the top, as on a fresh page; the search then leaves the chapter.)"""
    steps = chapter_walk["steps"]
    assert any(s["href"].endswith("module1.zip") for s in steps), "Tab never reaches module1.zip"
    kinds = {"download menu": "Download this page", "search": "Search"}
    for kind, label in kinds.items():
        assert any(label in s["what"] for s in steps), f"Tab never reaches the {kind} button"

    rec = chapter_walk["rec"]
    assert rec.evaluate("() => document.activeElement === document.body"), "the walk left the focus on the page"
    key = rec.page.keyboard
    for _ in range(len(steps)):
        key.press("Tab")
        if rec.evaluate("() => document.activeElement.getAttribute('aria-label')") == "Download this page":
            break
    key.press("Enter")
    key.press("Tab")
    item = rec.evaluate(
        "() => [document.activeElement.closest('.dropdown-menu') !== null,"
        " document.activeElement.getAttribute('href') || '',"
        " document.activeElement.checkVisibility()]"
    )
    assert item[0] and item[1] and item[2], f"Enter + Tab on the download menu focused {item}"

    key.press("Escape")  # the menu closes; Tab goes on from its button
    for _ in range(len(steps)):
        key = rec.page.keyboard
        key.press("Tab")
        if rec.evaluate("() => document.activeElement.matches('.search-button__button')"):
            break
    rec.page.keyboard.press("Enter")
    rec.page.wait_for_function(
        "() => document.activeElement.matches('input[name=q]') && document.activeElement.checkVisibility()",
        timeout=SETTLE_MS,
    )
    rec.page.keyboard.type("neuron")
    with rec.page.expect_navigation(timeout=SETTLE_MS):
        rec.page.keyboard.press("Enter")
    assert "search.html?q=neuron" in rec.page.url, rec.page.url
    rec.assert_clean(f"{CHAPTER} search from the keyboard")
