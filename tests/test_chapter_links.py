"""Do the chapter's links work for a student: launch links, course-site links, the points table?

Launch links (nbgitpuller, Colab) and course-site links in the notebook come from
``course_links`` in ``_config.yml`` and are off while it is empty. The URL formats are checked
against the documented formats, parsed with the standard library (not course.notebooks).
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from course import notebooks

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("SITE_DIR", ROOT / "_build" / "html"))
CONFIGURED = {
    "repository": "example-org/spiking-course",
    "branch": "release",
    "notebook_path": "module1/neurons.ipynb",
    "jupyterhub": "https://hub.example.org/",
}


def test_launch_links_are_off_by_default():
    """With the shipped _config.yml (no repository, no hub): no launch link, nothing on the page?"""
    assert notebooks.launch_links() == {}
    assert notebooks.launch_links_html() == ""


def test_nbgitpuller_link_has_the_documented_format():
    """nbgitpuller: <hub>/hub/user-redirect/git-pull?repo=<git url>&branch=..&urlpath=lab/tree/<repo name>/<path>?"""
    url = notebooks.launch_links(CONFIGURED)["JupyterHub"]
    parts = urlparse(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "hub.example.org", "/hub/user-redirect/git-pull")
    query = parse_qs(parts.query)
    assert query == {
        "repo": ["https://github.com/example-org/spiking-course"],
        "branch": ["release"],
        "urlpath": ["lab/tree/spiking-course/module1/neurons.ipynb"],
    }


def test_colab_link_has_the_documented_format():
    """Colab: https://colab.research.google.com/github/<owner>/<repo>/blob/<branch>/<path>?"""
    assert notebooks.launch_links(CONFIGURED)["Colab"] == (
        "https://colab.research.google.com/github/example-org/spiking-course/blob/release/module1/neurons.ipynb"
    )


def test_colab_only_without_a_hub_and_nothing_without_a_path():
    """No hub: only Colab; no notebook path or repository: no link at all."""
    assert set(notebooks.launch_links({**CONFIGURED, "jupyterhub": ""})) == {"Colab"}
    assert notebooks.launch_links({**CONFIGURED, "notebook_path": ""}) == {}


def test_malformed_repository_is_a_clear_error():
    """A repository that is not 'owner/name' (e.g. a full URL): a clear error naming the setting?"""
    with pytest.raises(notebooks.SourceError, match="course_links.repository"):
        notebooks.launch_links({**CONFIGURED, "repository": "https://github.com/example-org/spiking-course"})


def test_notebook_links_course_pages_only_when_a_site_url_is_configured():
    """A {doc} role: plain text offline, a link under the configured site URL otherwise?"""
    text = "details on {doc}`the data page <data/README>`."
    assert notebooks.myst_to_jupyter(text, {}, base_url="") == "details on the data page."
    assert notebooks.myst_to_jupyter(text, {}, base_url="https://example.org/course") == (
        "details on [the data page](https://example.org/course/module1/data/README.html)."
    )


def test_notebook_refuses_figure_numbers_it_cannot_show():
    """A {numref} in notebook text would point at nothing: is it refused?"""
    with pytest.raises(notebooks.SourceError, match="numref"):
        notebooks.myst_to_jupyter("see {numref}`fig-li-response`", {}, base_url="")


class _Tables(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.cells, self._in = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append(dict(attrs).get("class", ""))
        if tag in ("td", "th"):
            self._in = []

    def handle_data(self, data):
        if self._in is not None:
            self._in.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._in is not None:
            self.cells.append("".join(self._in).strip())
            self._in = None


def test_points_table_is_a_real_table_on_the_page():
    """Built chapter page: is the points table an HTML table with the required total and the extra credit,
    and is no raw Markdown table left in the page?"""
    page = SITE / "book" / "module1" / "neurons.html"
    if not page.exists():
        pytest.fail("the site is not built: run `make book`")
    html = page.read_text()
    parser = _Tables()
    parser.feed(html)
    assert any("points-table" in t for t in parser.tables)
    _, core, extra = notebooks.points_rows()
    assert f"{core:g} + {extra:g} extra credit" in " ".join(parser.cells)
    assert not re.search(r"\|\s*task\s*\|", html)
