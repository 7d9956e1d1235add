"""The tau sliders on the built chapter page, in headless Debian chromium, offline.

Questions answered (one test per slider, for each of the 4 sliders of the chapter):
* does the slider render, with its label, readout and the frame of its saved index?
* does the keyboard (focus the noUi handle, ArrowRight / Home), the mouse (drag the handle,
  click on the track) and the labelled drop-down beside it (ArrowDown, pick an option)
  change the shown picture to the precomputed frame of that tau, with slider, drop-down
  and picture in agreement?
  The expected frames are read from the widget state the build saved into the page (the
  `application/vnd.jupyter.widget-state+json` script), i.e. what the kernel computed,
  and the shown frame's alt text and the slider readout must name the same tau;
* no console error, no failed request, no request leaving 127.0.0.1 (all others are
  blocked and listed);
* are the label and the drop-down (the readout) legible (WCAG contrast >= 4.5) in light
  and dark mode?

The site: ``$SITE_DIR`` (default ``_build/html``, via the ``site`` fixture of conftest.py);
the page: ``$SLIDERS_PAGE`` (default ``book/module1/neurons.html``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from browser import PAGE_VIEWPORT, PageRecord, is_local

PAGE = os.environ.get("SLIDERS_PAGE", "book/module1/neurons.html")
N_SLIDERS = 4  # li trace, lif trace, li surface (4.1), lif surface (4.2)
TIMEOUT_MS = 15_000

# The frame shown by the slider root `el`: the one <img> of the stack that is displayed.
JS_SHOWN = """el => {
  const imgs = [...el.querySelectorAll('img.tau-frame')].filter(i => i.offsetParent !== null);
  const sel = el.querySelector('select');
  const opt = sel && sel.selectedIndex >= 0 ? sel.options[sel.selectedIndex].text.replace(/\u00a0/g, ' ').trim() : null;
  return {n: imgs.length, src: imgs.length ? imgs[0].getAttribute('src') : null,
          alt: imgs.length ? imgs[0].alt : null, readout: opt};
}"""


def saved_sliders(html_file: Path) -> list:
    """The sliders of a built page from its saved widget state, in page order: for each,
    the option labels, the saved index and the expected <img> src of every frame."""
    html = html_file.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', html, re.S)
    assert m, (
        f"{html_file}: no saved widget state: the page has no widget cells (the chapter "
        f"must call the four course.sliders functions) or the build did not execute it"
    )
    state = json.loads(m.group(1))["state"]
    links = {}
    for model in state.values():
        if model["model_name"] == "LinkModel":
            (src, sattr), (dst, dattr) = model["state"]["source"], model["state"]["target"]
            links[src.removeprefix("IPY_MODEL_")] = (sattr, dst.removeprefix("IPY_MODEL_"), dattr)
    views = re.findall(r'<script type="application/vnd\.jupyter\.widget-view\+json">(.*?)</script>', html, re.S)
    found = []
    for view in views:
        box = state.get(json.loads(view)["model_id"])
        if not box or "tau-slider" not in box["state"].get("_dom_classes", []):
            continue
        controls = state[box["state"]["children"][0].removeprefix("IPY_MODEL_")]["state"]
        ids = [c.removeprefix("IPY_MODEL_") for c in controls["children"]]
        (slider_id,) = [c for c in ids if state[c]["model_name"] == "SelectionSliderModel"]
        (choice_id,) = [c for c in ids if state[c]["model_name"] == "DropdownModel"]
        slider = state[slider_id]["state"]
        sattr, stack_id, dattr = links[slider_id]
        assert (sattr, dattr) == ("index", "selected_index")
        assert links[choice_id] == ("index", stack_id, "selected_index")
        assert state[choice_id]["state"]["_options_labels"] == slider["_options_labels"]
        stack = state[stack_id]["state"]
        srcs = [
            re.search(r'src="([^"]+)"', state[c.removeprefix("IPY_MODEL_")]["state"]["value"]).group(1)
            for c in stack["children"]
        ]
        found.append({"labels": slider["_options_labels"], "index": slider["index"], "srcs": srcs})
    return found


@pytest.fixture(scope="module")
def expected(site):
    path = site.root / PAGE
    assert path.is_file(), f"{path} not built"
    sliders = saved_sliders(path)
    assert len(sliders) == N_SLIDERS, (
        f"{PAGE}: expected {N_SLIDERS} tau sliders (course.sliders) in the saved widget state, found {len(sliders)}"
    )
    return sliders


def open_offline(page, site, **context_options):
    """A recorded page on the chapter with every non-127.0.0.1 request blocked (and kept)."""
    rec = page(**context_options)
    blocked = []

    def route(r):
        if is_local(r.request.url):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    rec.page.context.route("**/*", route)
    rec.blocked = blocked
    rec.goto(site.page_url(PAGE))
    rec.wait_for_function(
        f"document.querySelectorAll('.tau-slider .noUi-handle').length === {N_SLIDERS}", timeout=TIMEOUT_MS
    )
    return rec


def wait_shown(root, want: dict, k: int, what: str):
    """Wait until slider `root` shows frame k; then check frame, alt text and readout."""
    src = want["srcs"][k]
    try:
        root.page.wait_for_function(
            """([el, src]) => [...el.querySelectorAll('img.tau-frame')]
                 .some(i => i.offsetParent !== null && i.getAttribute('src') === src)""",
            arg=[root.element_handle(), src],
            timeout=TIMEOUT_MS,
        )
    except Exception:
        pass  # the assertions below say what is shown instead
    shown = root.evaluate(JS_SHOWN)
    label = want["labels"][k]
    assert shown["n"] == 1, f"{what}: {shown['n']} frames visible, expected exactly 1"
    got = want["srcs"].index(shown["src"]) if shown["src"] in want["srcs"] else None
    assert got == k, f"{what}: shows frame {got}, expected frame {k} ({label})"
    assert shown["readout"] == label, f"{what}: readout {shown['readout']!r} != {label!r}"
    assert label in shown["alt"], f"{what}: alt text {shown['alt']!r} does not name {label!r}"
    handle = root.locator(".noUi-handle")
    assert handle.get_attribute("aria-valuenow") == f"{k:.1f}", f"{what}: slider not at {k}"


def track_x(root, k: int, n: int) -> tuple:
    """Page coordinates of option k on the slider's track (noUi: options evenly spaced)."""
    box = root.locator(".noUi-base").bounding_box()
    return box["x"] + box["width"] * k / (n - 1), box["y"] + box["height"] / 2


@pytest.fixture(scope="module")
def chapter(site, browser):
    """The chapter opened offline once for the module's slider tests: each moves only its own
    slider (the others keep their saved frame), and each checks the page's whole record."""
    context = browser.new_context(viewport=PAGE_VIEWPORT)
    try:
        yield open_offline(lambda: PageRecord.attach(context.new_page()), site)
    finally:
        context.close()


@pytest.mark.parametrize("i", range(N_SLIDERS))
def test_slider_moves_picture_offline(chapter, expected, i):
    """Question: does slider i show its saved frame, and do the keyboard and the mouse change
    the picture to the precomputed frame of the chosen tau, with the page clean and offline?"""
    want = expected[i]
    n = len(want["srcs"])
    assert n >= 3 and len(set(want["srcs"])) == n, "frames must be distinct, at least 3"
    rec = chapter
    root = rec.locator(".tau-slider").nth(i)
    root.scroll_into_view_if_needed()
    k = want["index"]
    wait_shown(root, want, k, "initial")

    handle = root.locator(".noUi-handle")
    assert handle.get_attribute("role") == "slider"
    handle.focus()
    step = "ArrowRight" if k + 1 < n else "ArrowLeft"
    rec.keyboard.press(step)
    k = k + 1 if step == "ArrowRight" else k - 1
    wait_shown(root, want, k, f"keyboard {step}")
    rec.keyboard.press("Home")
    wait_shown(root, want, 0, "keyboard Home")

    # drag the handle to option n-2 (a drag right after a tap is ignored by noUiSlider for
    # its tap animation time, so the drag comes first)
    target = n - 2
    hb = handle.bounding_box()
    rec.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
    rec.mouse.down()
    rec.mouse.move(*track_x(root, target, n), steps=8)
    rec.mouse.up()
    wait_shown(root, want, target, f"mouse drag to option {target}")

    rec.mouse.click(*track_x(root, 1, n))  # click on the track: jumps to the nearest option
    wait_shown(root, want, 1, "mouse click on option 1")

    # the labelled drop-down (accessible twin and readout): keyboard, then a pick
    select = root.locator("select")
    select.focus()
    rec.keyboard.press("ArrowDown")
    wait_shown(root, want, 2, "drop-down ArrowDown")
    select.select_option(index=n - 1)
    wait_shown(root, want, n - 1, "drop-down choice of the last option")

    assert not rec.blocked, f"requests leaving 127.0.0.1 (blocked): {rec.blocked}"
    rec.assert_clean(PAGE)


def _contrast(fg, bg) -> float:
    def lum(c):
        ch = [v / 255 for v in c[:3]]
        ch = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]

    a, b = sorted((lum(fg), lum(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


JS_COLOURS = """el => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const bg = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
                      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c; }
                    return [255, 255, 255]; };
  const out = {};
  for (const sel of ['.widget-label', 'select']) {
    const e = el.querySelector(sel); out[sel] = [rgb(getComputedStyle(e).color), bg(e)];
  }
  const img = el.querySelector('img.tau-frame');
  out.frame_bg = bg(img);
  return out;
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_slider_text_is_legible_in_light_and_dark_mode(site, page, expected, scheme):
    """Question: in light and dark mode, do the slider's label and readout keep a WCAG AA
    contrast (>= 4.5:1) against what is behind them?  (The frames are opaque white cards
    with dark text, legible on both themes by construction.)"""
    rec = open_offline(page, site, color_scheme=scheme)
    assert rec.evaluate("document.documentElement.dataset.theme") == scheme
    for i in range(N_SLIDERS):
        colours = rec.locator(".tau-slider").nth(i).evaluate(JS_COLOURS)
        for sel in (".widget-label", "select"):
            fg, bg = colours[sel]
            assert _contrast(fg, bg) >= 4.5, (
                f"{scheme} mode, slider {i}: {sel} colour {fg} on {bg} has contrast {_contrast(fg, bg):.2f} < 4.5"
            )
    rec.assert_clean(PAGE)
