"""Launch links of the released notebook (nbgitpuller for a JupyterHub, Colab), from
``course_links`` in _config.yml (off by default)."""

from __future__ import annotations

import re

from course.chapter import SourceError, course_links


def launch_links(links: dict | None = None) -> dict[str, str]:
    """{"JupyterHub": nbgitpuller URL, "Colab": URL} for the released notebook, from
    ``course_links`` in _config.yml; a link is offered only when its settings are all given."""
    from urllib.parse import quote, urlencode

    links = course_links() if links is None else links
    repo, branch = links.get("repository") or "", links.get("branch") or "main"
    path = (links.get("notebook_path") or "").strip("/")
    hub = (links.get("jupyterhub") or "").rstrip("/")
    out = {}
    if not (repo and path):
        return out
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repo):
        raise SourceError(f"course_links.repository must be a GitHub 'owner/name', got {repo!r}")
    if hub:
        query = urlencode(
            {"repo": f"https://github.com/{repo}", "branch": branch, "urlpath": f"lab/tree/{repo.split('/')[1]}/{path}"}
        )
        out["JupyterHub"] = f"{hub}/hub/user-redirect/git-pull?{query}"
    out["Colab"] = f"https://colab.research.google.com/github/{repo}/blob/{quote(branch)}/{quote(path)}"
    return out


def launch_links_html(links: dict | None = None) -> str:
    """The chapter's launch links as HTML ("" when none is configured)."""
    from html import escape

    found = launch_links(links)
    if not found:
        return ""
    items = " · ".join(
        f"<a href='{escape(url)}'>Open the assignment in {escape(name)}</a>" for name, url in found.items()
    )
    return f"<p class='launch-links'>{items}</p>"
