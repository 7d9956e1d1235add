"""The similarity report page in headless Debian chromium, served from 127.0.0.1.

Questions answered:
* Does the page load offline and clean: no request leaving 127.0.0.1, no console or page
  error, no failed request (``PageRecord.assert_clean`` of tests/browser.py)?
* Does the distribution figure load and have an accessible name; does every table have a
  caption and column headers; is every image, link and section labelled?
* Does each listed pair's link lead to its side-by-side view, with the matching regions
  highlighted on both sides?
"""

from __future__ import annotations

import pytest

import browser as _browser
from neurograder import similarity as S
from similarity_corpus import corpus

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    course = corpus.make_class(tmp_path_factory.mktemp("class"))
    an = S.analyse(course)
    out = course / S.REPORT_DIR
    S.write_report(an, out)
    with _browser.SiteServer(out) as server:
        yield server, an


def test_report_page_is_offline_and_clean(report, page):
    server, _ = report
    rec = page()
    rec.goto(server.page_url("index.html"), wait_until="load")
    rec.wait_for_load_state("networkidle")
    rec.assert_clean("similarity report")
    assert rec.requests and all(_browser.is_local(u) for u in rec.requests)


def test_report_page_is_labelled(report, page):
    server, _ = report
    rec = page()
    rec.goto(server.page_url("index.html"), wait_until="load")
    info = rec.evaluate("""() => ({
      lang: document.documentElement.lang,
      title: document.title,
      h1: document.querySelectorAll('h1').length,
      imgs: [...document.images].map(i => ({ok: i.complete && i.naturalWidth > 0, alt: i.alt})),
      tables: [...document.querySelectorAll('table')].map(t => ({
        caption: !!t.caption && t.caption.textContent.trim().length > 0,
        heads: t.querySelectorAll('th[scope=col]').length})),
      sections: [...document.querySelectorAll('section')].map(s => {
        const id = s.getAttribute('aria-labelledby');
        return !!id && !!document.getElementById(id);}),
      emptyLinks: [...document.querySelectorAll('a')].filter(a => !a.textContent.trim()).length,
    })""")
    assert info["lang"] == "en" and info["title"] and info["h1"] == 1
    assert info["imgs"] and all(i["ok"] and i["alt"] for i in info["imgs"])
    assert info["tables"] and all(t["caption"] and t["heads"] >= 3 for t in info["tables"])
    assert info["sections"] and all(info["sections"])
    assert info["emptyLinks"] == 0


def test_listed_pair_links_to_highlighted_side_by_side(report, page):
    server, an = report
    listed = [p for p in an.pairs if p.listed]
    assert listed
    rec = page()
    rec.goto(server.page_url("index.html"), wait_until="load")
    for p in listed:
        link = rec.page.get_by_role("link", name=f"{p.a} & {p.b}")
        link.click()
        target = rec.evaluate("() => location.hash.slice(1)")
        article = rec.page.locator(f"article#{target}")
        assert article.locator("h3").inner_text() == f"{p.a} & {p.b}"
        sides = article.locator(".side").first.locator("pre")
        assert sides.count() == 2
        for k in range(2):
            assert sides.nth(k).locator("mark").count() >= 1
    rec.assert_clean("similarity report after following the links")


def test_report_pages_have_no_wcag_a_aa_violations(report, page):
    """Does axe-core find no WCAG 2.1 A/AA violation on the report and a side-by-side view?"""
    server, _ = report
    rec = page()
    rec.goto(server.page_url("index.html"), wait_until="load")
    violations = _browser.axe_violations(rec)
    assert not violations, _browser.format_violations("similarity report", violations)
    pair = rec.evaluate(
        "() => [...document.querySelectorAll('a[href]')]"
        ".map(a => a.getAttribute('href')).find(h => h.includes('#') || h.endsWith('.html'))"
    )
    if pair and not pair.startswith("#"):
        rec.goto(server.page_url(pair), wait_until="load")
        violations = _browser.axe_violations(rec)
        assert not violations, _browser.format_violations(f"similarity view {pair}", violations)
