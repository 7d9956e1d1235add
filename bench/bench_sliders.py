"""Benchmark of the tau sliders (course/sliders.py): three budgets, each
printed with a baseline measured in the same run (the machine is shared and noisy).

1. precompute: wall time to compute and draw every frame of the four sliders (goal < 10 s);
   baseline: the model runs alone (solutions.neurons li/lif for the same taus), i.e. the
   part that is not drawing.
2. page weight of the built chapter page (goal < 3 MB): the page's HTML (which embeds the
   widget state with every frame) + every image file the page loads + the page's own
   downloads.  NOT counted: the site-wide assets every page shares and the browser caches
   once (theme CSS/JS, the widget manager embed.js, MathJax, fonts); they are printed
   separately, with those the chapter loads and the intro page does not (embed.js, its
   fonts) summed up
   as "first visit".  Baseline: the same count for the book's intro page.
3. latency: in headless chromium, focus a slider's handle, press ArrowRight/ArrowLeft; time
   from the keydown event to (a) the DOM showing the new frame (MutationObserver) and
   (b) the next animation frame after it (the frame is on screen); median over all presses
   of all sliders (goal (b) < 50 ms).  Baseline: the same measurement on a native
   <input type=range> injected into the same page that swaps two <img> with 3 lines of JS.

Usage:
    .venv/bin/python bench/bench_sliders.py [--site _build/html] [--page book/module1/neurons.html]
           [--presses 20] [--threshold 0.1] [--skip-browser]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

MB = 1e6


def bench_precompute(threshold: float, repeats: int = 3) -> None:
    import numpy as np
    from course import sliders
    from solutions.neurons import li, lif

    raster = sliders.sample_raster()
    runs, base = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        frames = [
            sliders.li_trace_frames(),
            sliders.lif_trace_frames(),
            sliders.li_surface_frames(raster),
            sliders.lif_surface_frames(raster, threshold),
        ]
        runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        x = np.ones(sliders.TRACE_STEPS)
        for tau in sliders.TRACE_TAUS:
            li(x, tau), lif(x, tau, sliders.TRACE_THRESHOLD)
            li(x, tau), lif(x, tau, sliders.TRACE_THRESHOLD)
        for tau in sliders.SURFACE_TAUS:
            li(raster, tau), lif(raster, tau, threshold)
        base.append(time.perf_counter() - t0)
    n = sum(len(f.pngs) for f in frames)
    size = sum(len(p) for f in frames for p in f.pngs)
    print(
        f"precompute: {n} frames of 4 sliders (raster {raster.shape}, threshold {threshold}): "
        f"median {statistics.median(runs):.2f} s over {repeats} runs (goal < 10 s)"
    )
    for name, f in zip(("li trace", "lif trace", "li surface", "lif surface"), frames):
        print(
            f"    {name:12s} {len(f.pngs)} frames {f.size[0]}x{f.size[1]} px, "
            f"{sum(map(len, f.pngs)) / 1e3:7.1f} kB PNG, last run {f.seconds:.2f} s"
        )
    print(
        f"  baseline: the models alone, same taus: median {statistics.median(base):.2f} s "
        f"(drawing = {statistics.median(runs) - statistics.median(base):.2f} s); "
        f"frames {size / 1e3:.0f} kB as PNG, {size * 4 / 3 / 1e3:.0f} kB as base64 in a page"
    )


SHARED = re.compile(r"(^|/)(_static|vendor)/")


def page_weight(site, rel: str, browser) -> dict:
    """Bytes a first visit to `rel` loads, by kind, from the files behind each local URL."""
    context = browser.new_context()
    page = context.new_page()
    urls = []
    page.on("request", lambda r: urls.append(r.url))
    page.goto(site.page_url(rel), wait_until="networkidle")
    context.close()
    kinds = {
        "page html": 0,
        "images": 0,
        "other page files": 0,
        "shared assets": 0,
        "data: URIs (inline)": 0,
        "remote": 0,
    }
    seen = set()
    shared = {}
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob"):
            continue
        if parts.hostname != "127.0.0.1":
            kinds["remote"] += 1
            continue
        path = unquote(parts.path).lstrip("/")
        if path in seen:
            continue
        seen.add(path)
        f = site.root / path
        size = f.stat().st_size if f.is_file() else 0
        if path == rel:
            kinds["page html"] += size
            html = f.read_text(encoding="utf-8")
            m = re.search(
                r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)'
                r"</script>",
                html,
                re.S,
            )
            kinds["of which widget state"] = len(m.group(1).encode()) if m else 0
            kinds["of which slider frames"] = sum(
                len(s) for s in re.findall(r"data:image/png;base64,[A-Za-z0-9+/=]+", html)
            )
        elif SHARED.search(path):
            kinds["shared assets"] += size
            shared[path] = size
        elif re.search(r"\.(png|jpe?g|svg|gif|webp)$", path, re.I):
            kinds["images"] += size
        else:
            kinds["other page files"] += size
    kinds["total (page html + images + other)"] = kinds["page html"] + kinds["images"] + kinds["other page files"]
    kinds["shared"] = shared
    return kinds


# Page-side recorder: the keys come from Playwright (real input events); measureOne waits
# for the next keydown, then for the shown frame to change (MutationObserver), then for the
# next animation frame, and records both delays from the keydown's timestamp.
SETUP_JS = """() => {
  window.__rec = [];
  window.measureOne = (el, shown) => new Promise(resolve => {
    const before = shown();
    let t0 = null;
    const onKey = e => { t0 = e.timeStamp; };
    document.addEventListener('keydown', onKey, {capture: true, once: true});
    const obs = new MutationObserver(() => {
      if (t0 === null || shown() === before) return;
      const t1 = performance.now();
      obs.disconnect();
      requestAnimationFrame(() => { const t2 = performance.now();
        window.__rec.push([t1 - t0, t2 - t0]); resolve(); });
    });
    obs.observe(el, {subtree: true, attributes: true, childList: true});
  });
}"""

BASELINE_HTML = """() => {
  const box = document.createElement('div'); box.id = 'bench-baseline';
  const a = document.createElement('img'), b = document.createElement('img');
  const src = [...document.querySelectorAll('img.tau-frame')].slice(0, 2).map(i => i.src);
  a.src = src[0]; b.src = src[1]; b.style.display = 'none';
  a.className = b.className = 'tau-frame';
  const r = document.createElement('input'); r.type = 'range'; r.min = 0; r.max = 1; r.value = 0;
  r.addEventListener('input', () => { a.style.display = r.value === '0' ? '' : 'none';
                                      b.style.display = r.value === '1' ? '' : 'none'; });
  box.append(r, a, b); document.querySelector('article, main, body').prepend(box);
}"""


def latency(site, rel: str, browser, presses: int):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(site.page_url(rel))
    page.wait_for_function("document.querySelectorAll('.tau-slider .noUi-handle').length > 0")
    page.evaluate(SETUP_JS)
    n = page.evaluate("document.querySelectorAll('.tau-slider').length")

    def run(root_js: str, focus_sel: str, keys):
        page.evaluate("window.__rec = []")
        for i in range(presses):
            key = keys[i % len(keys)]
            page.focus(focus_sel)
            # (wrapped in a function returning nothing: evaluate would await the promise)
            page.evaluate(
                f"() => {{ window.__p = measureOne({root_js}, () => {{ const i = "
                f"[...({root_js}).querySelectorAll('img.tau-frame')]"
                f".find(i => i.offsetParent !== null);"
                f" return i && i.getAttribute('src'); }}); }}"
            )
            page.keyboard.press(key)
            page.wait_for_function(f"window.__rec.length >= {i + 1}", timeout=10_000)
        return page.evaluate("window.__rec")

    widget = []
    for s in range(n):
        root = f"document.querySelectorAll('.tau-slider')[{s}]"
        page.locator(".tau-slider").nth(s).scroll_into_view_if_needed()
        # from the middle, right then left keeps the handle inside the range
        widget += run(root, f".tau-slider >> nth={s} >> .noUi-handle", ["ArrowRight", "ArrowLeft"])
    page.evaluate(BASELINE_HTML)
    page.locator("#bench-baseline").scroll_into_view_if_needed()
    base = run("document.getElementById('bench-baseline')", "#bench-baseline input", ["ArrowRight", "ArrowLeft"])
    context.close()
    return n, widget, base


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--site", default=os.environ.get("SITE_DIR", str(REPO / "_build" / "html")))
    ap.add_argument("--page", default="book/module1/neurons.html")
    ap.add_argument("--baseline-page", default="book/intro.html")
    ap.add_argument("--presses", type=int, default=20, help="key presses per slider")
    ap.add_argument("--threshold", type=float, default=0.1, help="LIF surface threshold")
    ap.add_argument("--skip-browser", action="store_true", help="only the precompute time")
    args = ap.parse_args(argv)

    bench_precompute(args.threshold)
    if args.skip_browser:
        return 0
    import browser as B
    from playwright.sync_api import sync_playwright

    site_root = Path(args.site)
    B.check_site_built(site_root)
    with B.SiteServer(site_root) as site, sync_playwright() as pw:
        chromium = B.launch_chromium(pw)
        w = page_weight(site, args.page, chromium)
        b = page_weight(site, args.baseline_page, chromium)
        total = w["total (page html + images + other)"]
        print(
            f"page weight: {args.page}: {total / MB:.2f} MB (goal < 3 MB) = "
            f"html {w['page html'] / MB:.2f} MB (widget state {w.get('of which widget state', 0) / MB:.2f} MB, "
            f"of it slider frames {w.get('of which slider frames', 0) / MB:.2f} MB) + images "
            f"{w['images'] / MB:.2f} MB + other {w['other page files'] / MB:.2f} MB; "
            f"not counted: shared site assets {w['shared assets'] / MB:.2f} MB "
            f"(cached across pages); remote requests: {w['remote']}"
        )
        print(
            f"  baseline: {args.baseline_page}: "
            f"{b['total (page html + images + other)'] / MB:.2f} MB page + "
            f"{b['shared assets'] / MB:.2f} MB shared assets"
        )
        extra = {p: v for p, v in w["shared"].items() if p not in b["shared"]}
        print(
            f"  shared assets the chapter loads and the baseline page does not (embed.js etc.; "
            f"served uncompressed): {sum(extra.values()) / MB:.2f} MB: "
            + ", ".join(f"{Path(p).name} {v / MB:.2f} MB" for p, v in sorted(extra.items(), key=lambda kv: -kv[1])[:4])
        )
        print(
            f"  first visit to the chapter, everything not cached by another page: "
            f"{(total + sum(extra.values())) / MB:.2f} MB"
        )
        n, widget, base = latency(site, args.page, chromium, args.presses)
        chromium.close()
    dom = statistics.median(r[0] for r in widget)
    paint = statistics.median(r[1] for r in widget)
    print(
        f"latency: key press -> new frame, {n} sliders x {args.presses} presses: median "
        f"{dom:.1f} ms in the DOM, {paint:.1f} ms to the next animation frame (goal < 50 ms); "
        f"max {max(r[1] for r in widget):.1f} ms"
    )
    print(
        f"  baseline: native <input type=range> swapping two <img>: median "
        f"{statistics.median(r[0] for r in base):.1f} ms DOM, "
        f"{statistics.median(r[1] for r in base):.1f} ms next frame"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
