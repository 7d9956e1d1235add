"""Is a feedback page the document nbconvert would have made, now that it is parsed again only
when nbconvert has something to edit in it beyond a figure's missing alt text?
(``neurograder.pages``: ``_SoupWhenNeeded``)

nbconvert's HTML exporter parses every page it renders with BeautifulSoup, gives images
without alt text a placeholder, and writes the page back. The reference here is that very
code path (BeautifulSoup itself), on pages with and without such images.
"""

from __future__ import annotations

import base64
import contextlib
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grader"))
from neurograder import pages  # noqa: E402

PNG = base64.b64encode(bytes.fromhex("89504e470d0a1a0a")).decode()


def _notebook(*markdown: str, image: bool = False):
    nb = nbformat.v4.new_notebook()
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(m) for m in markdown]
    code = nbformat.v4.new_code_cell("x = 1")
    if image:
        code.outputs = [nbformat.v4.new_output("display_data", data={"image/png": PNG})]
    nb.cells.append(code)
    return nb


def _export(nb, lazy: bool, monkeypatch) -> str:
    """The page our exporter renders (lazy: as shipped; else with nbconvert's BeautifulSoup)."""
    if not lazy:
        monkeypatch.setattr(pages, "soup_when_needed", contextlib.nullcontext)
    html, _ = pages.FeedbackExporter(template_name="classic").from_notebook_node(nb)
    monkeypatch.undo()
    return html


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "nb",
    [
        _notebook("# Title\n\nSome *prose* and $\\tau$.", '<img src="a.png" alt="a plot">'),
        _notebook("plain prose", image=True),
        _notebook('<img src="b.png" title="x > y">'),
        _notebook('<img src="c.png" data-alt="no">'),
    ],
    ids=["images-with-alt", "output-image-without-alt", "quoted-angle-bracket", "data-alt-is-no-alt"],
)
def test_the_page_is_nbconverts_document(nb, monkeypatch):
    """Is our page the document nbconvert writes (parsed, images without alt text given its
    placeholder, written back)? Read and written back by BeautifulSoup as nbconvert does, it
    is byte for byte nbconvert's page; left unparsed it differs only in how it is written
    (spacing, attribute order, ``<br>`` or ``<br/>``)."""
    ours = _export(nb, lazy=True, monkeypatch=monkeypatch)
    theirs = _export(nb, lazy=False, monkeypatch=monkeypatch)
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs
    images = BeautifulSoup(ours, features="html.parser").find_all("img")
    assert images and all(image.has_attr("alt") for image in images)


@pytest.mark.timeout(30)
def test_a_page_with_nothing_to_edit_is_not_parsed(monkeypatch):
    """Is a page whose images all have alt text returned as rendered, without a parse?"""
    import bs4

    def refuse(*args, **kw):
        raise AssertionError("parsed although nothing needed an edit")

    monkeypatch.setattr(bs4, "BeautifulSoup", refuse)
    page = pages._SoupWhenNeeded('<p><img src="a.png" alt="x"></p>', features="html.parser")
    assert page.select("img:not([alt])") == []
    assert page.select(".jp-Notebook div.jp-Cell-inputWrapper") == []
    assert str(page) == '<p><img src="a.png" alt="x"></p>'


@pytest.mark.timeout(30)
def test_a_figure_gets_nbconverts_alt_text_without_a_parse(monkeypatch):
    """Is a figure's image (a data URI, no alt text) given the placeholder nbconvert gives it,
    written as BeautifulSoup writes it, without parsing the page?"""
    import bs4

    markup = f'<div class="output_png">\n<img src="data:image/png;base64,{PNG}"\n>\n</div>'
    soup = BeautifulSoup(markup, features="html.parser")
    for image in soup.select("img:not([alt])"):
        image.attrs["alt"] = "No description"
    expected = str(soup)
    monkeypatch.setattr(bs4, "BeautifulSoup", lambda *a, **kw: pytest.fail("parsed"))
    page = pages._SoupWhenNeeded(markup, features="html.parser")
    for image in page.select("img:not([alt])"):
        image.attrs["alt"] = "No description"
    assert str(page) == expected


@pytest.mark.timeout(30)
def test_an_image_without_alt_is_edited_as_beautifulsoup_does():
    """An image without alt text (or whose tag only looks like it has one) is selected and
    written back exactly as BeautifulSoup does."""
    markup = '<p><img src="a.png" title="alt=x"><img src="b.png" alt=""></p>'
    lazy, real = pages._SoupWhenNeeded(markup, features="html.parser"), BeautifulSoup(markup, features="html.parser")
    for soup in (lazy, real):
        for elem in soup.select("img:not([alt])"):
            elem.attrs["alt"] = "placeholder"
    assert str(lazy) == str(real)
    assert 'alt="placeholder"' in str(lazy)


@pytest.mark.timeout(60)
def test_one_exporter_highlights_a_repeated_cell_once_and_writes_the_same_pages(monkeypatch):
    """Does an exporter writing a class's pages highlight a code cell they share once, and
    write each page as a fresh exporter (nbconvert's own highlighting) does?"""
    from nbconvert.filters import highlight

    calls = []
    original = highlight._pygments_highlight
    monkeypatch.setattr(highlight, "_pygments_highlight", lambda *a, **kw: calls.append(a[0]) or original(*a, **kw))
    shared = "def leaky_integrator(x, tau):\n    return x"
    first, second = _notebook("a"), _notebook("b")
    for nb in (first, second):
        nb.cells.append(nbformat.v4.new_code_cell(shared))
    one = pages.FeedbackExporter(template_name="classic")
    pages_by_one = [one.from_notebook_node(nb)[0] for nb in (first, second)]
    assert calls.count(shared) == 1
    fresh = [pages.FeedbackExporter(template_name="classic").from_notebook_node(nb)[0] for nb in (first, second)]
    assert pages_by_one == fresh


@pytest.mark.timeout(60)
def test_a_formgrader_page_is_the_document_nbconvert_makes():
    """Is formgrader's submission page (its ``formgrade`` template, rendered as
    ``neurograder.server`` renders it) the document nbconvert makes, parsed or not?"""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [*pages.template_basedirs(), handlers.template_path]
    exporter = HTMLExporter(config=config)
    resources = {
        "assignment_id": "module1",
        "notebook_id": "neurons",
        "submission_id": "s1",
        "index": 0,
        "total": 2,
        "base_url": "/",
        "student": "ada",
        "last_name": "L",
        "first_name": "A",
        "notebook_path": "/x/neurons.ipynb",
    }
    nb = _notebook("# Task 1\n\nprose $x$", image=True)
    theirs, _ = exporter.from_notebook_node(nb, resources=dict(resources))
    with pages.soup_when_needed():
        ours, _ = exporter.from_notebook_node(nb, resources=dict(resources))
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs
    assert "No description has been provided for this image" in ours
