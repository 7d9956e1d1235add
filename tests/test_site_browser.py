"""The built site in a real browser: headless Debian chromium driven by Playwright, over http
on 127.0.0.1 (fixtures in tests/conftest.py, helpers in tests/browser.py).

Every page found in the built site (not a hard-coded list) is opened in light and in dark
mode. A page fails on: any request leaving 127.0.0.1, any console error or uncaught page error,
any failed request or HTTP error (broken internal link/asset as actually loaded), any image
that did not load (naturalWidth 0) or has no accessible name, math the source had that MathJax
did not render (a ``.math`` element without ``mjx-container``, or raw TeX left in the text),
a widget view that did not render, and (dark mode) a content image on a dark backdrop.

Set SCREENSHOT_DIR=/some/dir to keep full-page screenshots of every page in both modes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from browser import MODES, SETTLE_MS, assert_local_only, html_pages, open_page, redirect_target

# Raw TeX a reader should never see (inline/display delimiters, environments, $\command)
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\$\\[A-Za-z]")


def page_report(rec) -> dict:
    """What the page shows: unrendered math, broken images, unrendered widgets, raw TeX."""
    return rec.evaluate(
        r"""() => {
        const text = el => (el.textContent || '').trim().slice(0, 80);
        const math = [...document.querySelectorAll('.math')];
        const unrendered = math.filter(m => !m.querySelector('mjx-container')).map(text);
        const images = [...document.images].map(i => ({
            src: (i.currentSrc || i.src).slice(0, 100),
            loaded: i.complete && i.naturalWidth > 0,
            name: (i.alt || i.getAttribute('aria-label') || i.title || '').trim(),
            visible: i.getClientRects().length > 0,
        }));
        const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
        const missingWidgets = views.filter(s => !s.parentElement.querySelector('.jupyter-widgets')).length;
        const widgetErrors = [...document.querySelectorAll('.jupyter-widgets')]
            .map(w => w.textContent || '').filter(t => /Error displaying widget/i.test(t)).length;
        const article = document.querySelector('article.bd-article, main, body').cloneNode(true);
        article.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight')
            .forEach(n => n.remove());
        return {math: math.length, unrendered, images, views: views.length, missingWidgets,
                widgetErrors, text: article.textContent || '',
                theme: document.documentElement.dataset.theme,
                mode: document.documentElement.dataset.mode};
    }"""
    )


def _screenshot(rec, page_path: str, mode: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        out = Path(folder) / f"{page_path.replace('/', '__')}.{mode}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        rec.page.screenshot(path=str(out), full_page=True)


@pytest.mark.parametrize("mode", MODES)
def test_page_renders_offline_and_clean(loaded_pages, page_path, mode):
    """Does this page, opened in a real browser in light/dark mode, stay on 127.0.0.1, log no
    error, load every asset and image, render all of its math and widgets, and show no raw TeX?"""
    rec = loaded_pages(page_path, mode)
    report = page_report(rec)
    _screenshot(rec, page_path, mode)
    where = f"{page_path} ({mode} mode)"

    assert_local_only(rec, where)
    rec.assert_clean(where)
    assert report["theme"] == mode, f"{where}: theme is {report['theme']!r}, system asks {mode!r}"
    assert not report["unrendered"], f"{where}: math not rendered by MathJax: {report['unrendered']}"
    raw = sorted(set(RAW_TEX.findall(report["text"])))
    assert not raw, f"{where}: raw TeX visible in the text: {raw}"
    broken = [i["src"] for i in report["images"] if not i["loaded"]]
    assert not broken, f"{where}: images that did not load: {broken}"
    unnamed = [i["src"] for i in report["images"] if not i["name"]]
    assert not unnamed, f"{where}: images without alt text (or title/aria-label): {unnamed}"
    assert report["missingWidgets"] == 0 and report["widgetErrors"] == 0, (
        f"{where}: {report['missingWidgets']} of {report['views']} widget views not rendered, "
        f"{report['widgetErrors']} showing an error"
    )
    if mode == "dark":
        dark_backdrops = rec.evaluate(
            r"""() => {
            const lum = c => { const m = c.match(/[\d.]+/g); if (!m) return null;
                const [r, g, b, a] = m.map(Number); if (a === 0) return null;
                return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255; };
            const backdrop = el => { for (; el; el = el.parentElement) {
                const l = lum(getComputedStyle(el).backgroundColor); if (l !== null) return l; }
                return 0; };
            return [...document.querySelectorAll('.bd-content img')]
                .filter(i => i.getClientRects().length > 0)
                .filter(i => backdrop(i) < 0.6)
                .map(i => (i.currentSrc || i.src).slice(0, 100));
        }"""
        )
        assert not dark_backdrops, f"{where}: figures on a dark backdrop (unreadable): {dark_backdrops}"


def test_theme_switch_button_cycles_modes_without_errors(site, page):
    """Does the theme button switch the first content page between light and dark, with no
    console error (e.g. pydata's "Got invalid theme mode")?"""
    pages = [p.as_posix() for p in html_pages(site.root) if not redirect_target(site.root, p.as_posix())]
    first = next(p for p in pages if p.startswith("book/"))
    rec = page(color_scheme="light")
    open_page(rec, site.page_url(first))
    seen = {rec.evaluate("() => document.documentElement.dataset.theme")}
    button = rec.page.locator(".theme-switch-button").first
    for _ in range(3):
        button.click()
        seen.add(rec.evaluate("() => document.documentElement.dataset.theme"))
    assert {"light", "dark"} <= seen, f"theme button gave themes {seen}"
    rec.reload(wait_until="load")  # the choice is stored and applied on the next page view
    rec.assert_clean(f"{first} after switching themes")


def test_search_works_offline(site, page):
    """Does the site's search page find a word of the intro page, with no request leaving
    127.0.0.1?"""
    rec = page()
    open_page(rec, site.page_url("search.html") + "?q=neuron")
    rec.wait_for_function(
        "() => document.querySelectorAll('#search-results li, ul.search li').length > 0",
        timeout=SETTLE_MS,
    )
    hits = rec.evaluate("() => [...document.querySelectorAll('ul.search li a')].map(a => a.getAttribute('href'))")
    assert any("intro" in (h or "") for h in hits), f"search for 'neuron' found {hits}"
    rec.assert_clean("search.html?q=neuron")


# The pictures shown next to a slider handle: the visible <img> of the nearest widget box
# around the handle that holds any picture (the slider sits in a row of controls, the
# pictures in a sibling of that row).
JS_PICTURES_NEAR = """h => {
    for (let box = h.closest('.jupyter-widgets'); box; box = box.parentElement.closest('.jupyter-widgets')) {
        const imgs = [...box.querySelectorAll('img')];
        if (imgs.length) return imgs.filter(i => i.getClientRects().length)
                                    .map(i => i.currentSrc || i.src).join('|');
    }
    return '';
}"""


def test_widget_slider_moves_the_picture(site, page):
    """On pages with a slider linked to pictures, does moving the slider with the keyboard
    change the picture shown, with no kernel and no error? (The chapter has such sliders:
    finding none is a failure.)"""
    root = site.root
    candidates = [
        p.as_posix()
        for p in html_pages(root)
        if "widget-view+json" in (root / p).read_text(encoding="utf-8", errors="replace")
    ]
    tried = 0
    for page_path in candidates:
        rec = page()
        open_page(rec, site.page_url(page_path))
        handles = rec.page.locator(".noUi-handle")
        for k in range(handles.count()):
            handle = handles.nth(k).element_handle()
            shown = rec.evaluate(JS_PICTURES_NEAR, handle)
            if not shown:
                continue  # a slider without pictures next to it
            tried += 1
            handles.nth(k).focus()
            rec.page.keyboard.press("End")
            rec.page.wait_for_function(
                f"([h, before]) => ({JS_PICTURES_NEAR})(h) !== before", arg=[handle, shown], timeout=SETTLE_MS
            )
        rec.assert_clean(f"{page_path} after moving sliders")
    assert tried, f"no slider next to pictures found on the pages with widgets: {candidates}"
