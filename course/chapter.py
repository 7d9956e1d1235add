"""Reading a module's chapter source and turning its MyST into what plain Jupyter renders.

The chapter (a MyST notebook, ``chapter`` in the module manifest) is the book page and the
source of the assignment; its model answers (``answers``) are Markdown sections keyed by
``## grade_id``. Quoted claims (``{glue:text}`name```) come from the module's ``claims``
module, when its manifest names one.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from course.manifest import ROOT, Module


class SourceError(ValueError):
    """The chapter source is malformed (a cell names an unknown function, check, ...)."""


MATH_BLOCK = re.compile(r"^```\{math\}\n(?::label: *(\S+)\n)?(.*?)^```\n?", re.S | re.M)
ROLE = re.compile(r"\{(\w+)(?::\w+)?\}`([^`]*)`")
ANSWER_HEADING = re.compile(r"^## (\S+)\s*$")


def read_chapter(path: Path) -> nbformat.NotebookNode:
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(path.read_text(encoding="utf-8"), path=str(path))


def substitute_claims(text: str, module: Module) -> str:
    """``text`` with every quoted claim replaced by its computed, checked text."""
    claims = module.code("claims", required=False)
    return claims.substitute(text) if claims is not None else text


def quote_claim(name: str, module: Module) -> str:
    claims = module.code("claims", required=False)
    if claims is None:
        raise SourceError(f"{{glue:text}}`{name}`: the module manifest names no claims module")
    return claims.quote(name)


def model_answers(module: Module) -> dict[str, str]:
    """The sections of the module's answers file, keyed by the ``## grade_id`` headings, with
    every quoted claim replaced by its computed, checked text."""
    if module.answers is None:
        return {}
    answers, key = {}, None
    for line in module.answers.read_text(encoding="utf-8").splitlines():
        m = ANSWER_HEADING.match(line)
        if m:
            key = m.group(1)
            answers[key] = []
        elif key:
            answers[key].append(line)
    return {k: substitute_claims("\n".join(v).strip(), module) for k, v in answers.items()}


def equation_numbers(cells) -> dict[str, int]:
    """Labels of the chapter's numbered equations, numbered in order of appearance."""
    labels = [
        m.group(1) for c in cells if c.cell_type == "markdown" for m in MATH_BLOCK.finditer(c.source) if m.group(1)
    ]
    return {label: n for n, label in enumerate(labels, 1)}


def course_links() -> dict:
    """``course_links`` of _config.yml (launch links and the site's public URL), or {}."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8")) or {}
    return config.get("course_links") or {}


def site_url() -> str:
    """The course site's public base URL from _config.yml (``course_links.site_url``), or ""."""
    return str(course_links().get("site_url") or "").rstrip("/")


def myst_to_jupyter(text: str, equations: dict[str, int], module: Module, base_url: str | None = None) -> str:
    """MyST markup that plain Jupyter cannot render, as Markdown + LaTeX that it can.

    ```{math}``` blocks become $$ ... \\tag{N} $$; {eq}`label` becomes "Eq. (N)"; a quoted claim
    ({glue:text}`name`) becomes its computed text; {doc}`text <page>` becomes a link to the page on
    the course site when ``course_links.site_url`` is configured, else its text; a {numref} is an
    error (the notebook has no figure numbers); other roles keep their text.
    """
    base_url = site_url() if base_url is None else base_url

    def block(m):
        tag = f" \\tag{{{equations[m.group(1)]}}}" if m.group(1) else ""
        return f"$$\n{m.group(2).strip()}{tag}\n$$\n"

    def role(m):
        kind, body = m.groups()
        if kind == "eq":
            return f"Eq. ({equations[body]})"
        if kind == "glue":
            return quote_claim(body, module)
        if kind == "numref":
            raise SourceError(f"{{numref}}`{body}` in a notebook cell: the notebook has no figure numbers")
        label = re.sub(r"\s*<[^>]*>$", "", body)
        target = re.search(r"<([^>]*)>$", body)
        if kind == "doc" and base_url:
            page = target.group(1) if target else body
            return f"[{label}]({base_url}/{module.site_path}/{page}.html)"
        return label

    text = re.sub(r"^\(\S+\)=\n", "", text, flags=re.M)  # (target)= labels
    return ROLE.sub(role, MATH_BLOCK.sub(block, text))


def figure_description(cell) -> str:
    """The alt text of a chapter figure cell (``mystnb.image.alt``), on one line, or ""."""
    alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
    return " ".join(str(alt).split())
