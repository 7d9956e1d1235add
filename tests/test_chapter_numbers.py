"""Does every number the chapter's figure captions, alt texts (the notebook's figure
descriptions) and model answers state come from a computed claim or from a parameter the
chapter sets?

A number in those texts is accepted only when it is

* inside a quoted claim (``{glue:text}`name```; the claim must exist and hold), or
* a parameter of the code cell that draws the figure (for a model answer: of the cell that
  sets the task's parameters): a numeric literal the cell passes or assigns, or the value of a
  constant of ``solutions`` the cell names (``filters.LOW_CUTOFF``, an imported name).

Read from the cell's code, never from a list kept here. Units the text uses are converted
("1 ms" for ``bin_width=1e-3``, "5π" for ``5 * math.pi``). Layout and styling numbers
(``figsize``, ``fontsize``, ...) are not parameters. The leaky integrator's own formula
(``1/tau``), task names ("Task 3") and the grading rubric after "Full marks:" are not
statements about behaviour.

(A little over 300 lines: the scanner the tests use and the tests that prove it fails on a
raw, a false or a misplaced number stay together, so the rules are read in one place.)
"""

from __future__ import annotations

import ast
import dataclasses
import math
import pkgutil
import re

import numpy as np
import pytest

from course import notebooks
from solutions import claims, figure_claims

#: keyword arguments that style or lay out a plot: their numbers are not parameters
STYLE_KEYWORDS = {
    "figsize",
    "dpi",
    "fontsize",
    "ms",
    "lw",
    "s",
    "width_ratios",
    "alpha",
    "markersize",
    "linewidth",
    "size",
    "loc",
}
#: calls whose numbers only lay out a figure
LAYOUT_CALLS = {"subplots", "subplot_mosaic", "figure", "set_ylim", "set_xlim", "ylim", "xlim"}
#: the model's own formula, written in prose or LaTeX (a statement of the model, not of what it does)
FORMULA = re.compile(r"1\s*-\s*1\s*/\s*\\?tau|1\s*/\s*\\?tau")
#: names of tasks ("the Task 3 neuron"): labels, not numbers
TASK_NAME = re.compile(r"\bTask \d+(?:\.\d+)?")
NUMBER = re.compile(r"(?<![\w.\\{])[-−]?(\d+(?:\.\d+)?(?:[eE]-?\d+)?)(?:\s*(\\pi|π|pi\b|ms\b))?")
ROLE = re.compile(r"\{(\w+)(?::\w+)?\}`([^`]*)`")
#: each model answer's numbers are checked against the cell that sets its task's parameters
#: (named by a variable the cell assigns or by its figure's name)
ANSWER_PARAMETER_CELLS = {
    "task32_low_pass_answer": "TASK3_TAU",
    "task4_vmax_answer": "fig-vmax",
    "task41_answer": "SURFACE_TAU",
    "task42_answer": "LIF_TAU",
}


class UncomputedNumber(AssertionError):
    """A text states a number that is neither a computed claim nor a parameter its cell sets."""


# ---------------------------------------------------------------- parameters of a code cell
def _numbers_of(value) -> set[float]:
    """The numbers a constant holds (scalars, short sequences, dataclass fields, dict values)."""
    if isinstance(value, bool) or value is None:
        return set()
    if isinstance(value, (int, float, np.integer, np.floating)):
        return {float(value)}
    if isinstance(value, np.ndarray):
        return {float(v) for v in value.ravel()} if value.size <= 8 else set()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return set().union(*(_numbers_of(getattr(value, f.name)) for f in dataclasses.fields(value)))
    if isinstance(value, dict):
        return set().union(set(), *(_numbers_of(v) for v in value.values()))
    if isinstance(value, (tuple, list)) and len(value) <= 8:
        return set().union(set(), *(_numbers_of(v) for v in value))
    return set()


def _imports(tree) -> dict[str, str]:
    """{name bound in the cell: dotted path of what it imports}."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def _resolve(dotted: str):
    """The object a dotted path names (a module or an attribute chain of one), or None."""
    try:
        return pkgutil.resolve_name(dotted)
    except (ImportError, AttributeError, ValueError):
        return None


def _layout_numbers(tree) -> set[int]:
    """ids of the numeric literals that only style or lay out a figure."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            parts = (
                node.args + [k.value for k in node.keywords]
                if name in LAYOUT_CALLS
                else [k.value for k in node.keywords if k.arg in STYLE_KEYWORDS]
            )
            skip |= {id(n) for part in parts for n in ast.walk(part)}
    return skip


def cell_parameters(source: str, setup: dict[str, str]) -> set[float]:
    """The input parameters a code cell sets: its numeric literals (not layout or styling) and
    the numbers of the ``solutions`` constants it names (``setup``: names the chapter imports)."""
    tree = ast.parse(source)
    skip = _layout_numbers(tree)
    found = {
        float(n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant)
        and id(n) not in skip
        and isinstance(n.value, (int, float))
        and not isinstance(n.value, bool)
    }
    bound = {**setup, **_imports(tree)}
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Name, ast.Attribute)):
            continue
        dotted = ast.unparse(node)
        head = dotted.split(".")[0]
        if head in bound and bound[head].startswith("solutions"):
            found |= _numbers_of(_resolve(bound[head] + dotted[len(head) :]))
    return found


# ---------------------------------------------------------------- numbers of a text
def stated_numbers(text: str, registry=None) -> list[tuple[str, set[float]]]:
    """Every number the text states outside quoted claims, with the values it may stand for.
    A quoted claim that is not registered or not true raises ClaimError."""

    def role(m):
        if m.group(1) == "glue":
            claims.quote(m.group(2), registry)  # raises ClaimError if missing or false
        return " "

    text = TASK_NAME.sub(" ", FORMULA.sub(" ", ROLE.sub(role, text)))
    found = []
    for m in NUMBER.finditer(text):
        value, unit = float(m.group(1)), m.group(2)
        candidates = {value}
        if unit in ("\\pi", "π", "pi"):
            candidates = {value * math.pi}
        elif unit == "ms":
            candidates |= {value / 1000}
        found.append((m.group(0).strip(), candidates))
    return found


def uncomputed(text: str, parameters: set[float], registry=None) -> list[str]:
    """The numbers of ``text`` that neither a claim nor a parameter accounts for."""

    def known(value):
        return any(math.isclose(abs(value), abs(p), rel_tol=1e-9, abs_tol=1e-12) for p in parameters)

    return [shown for shown, candidates in stated_numbers(text, registry) if not any(map(known, candidates))]


# ---------------------------------------------------------------- the chapter's texts
def setup_imports(cells) -> dict[str, str]:
    """Names every code cell of the chapter can use: the imports of all its code cells."""
    bound = {}
    for cell in cells:
        if cell.cell_type == "code":
            bound.update(_imports(ast.parse(cell.source)))
    return bound


def figure_texts(cells):
    """(figure name, which text, the text, the cell) for every caption and alt text."""
    for cell in cells:
        figure = cell.metadata.get("mystnb", {})
        name = figure.get("figure", {}).get("name", "?")
        if "caption" in figure.get("figure", {}):
            yield name, "caption", str(figure["figure"]["caption"]), cell
        if "alt" in figure.get("image", {}):
            yield name, "alt", str(figure["image"]["alt"]), cell


def parameter_cell(cells, key: str):
    """The code cell whose figure is ``key`` or that assigns a variable named ``key``."""
    for cell in cells:
        if cell.cell_type != "code":
            continue
        if cell.metadata.get("mystnb", {}).get("figure", {}).get("name") == key:
            return cell
        if re.search(rf"^{key}\b.*=", cell.source, re.M):
            return cell
    raise LookupError(f"no chapter cell sets {key}")


def answer_prose(answer: str) -> str:
    """A model answer without its grading rubric (the points, after "Full marks:")."""
    return answer.split("Full marks:")[0]


def chapter_problems(cells, answers: dict[str, str], registry=None) -> list[str]:
    """Every uncomputed number in the captions, alt texts and model answers, and every alt text
    that quotes a claim (alt texts are shown as written: a quote would appear raw)."""
    setup, problems = setup_imports(cells), []
    for name, kind, text, cell in figure_texts(cells):
        if kind == "alt" and "{glue" in text:
            problems.append(f"{name} alt text quotes a claim, which an alt text cannot show")
        bad = uncomputed(text, cell_parameters(cell.source, setup), registry)
        problems += [f"{name} {kind}: {number}" for number in bad]
    for gid, key in ANSWER_PARAMETER_CELLS.items():
        params = cell_parameters(parameter_cell(cells, key).source, setup)
        problems += [f"answer {gid}: {number}" for number in uncomputed(answer_prose(answers[gid]), params, registry)]
    return problems


def raw_answers() -> dict[str, str]:
    """The model answers as written (claims still quoted, not substituted)."""
    sections, key = {}, None
    for line in notebooks.ANSWERS.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            key = line[3:].strip()
            sections[key] = ""
        elif key:
            sections[key] += line + "\n"
    return sections


def with_figure(cells, name: str, part: str, **changes):
    """A copy of the chapter's cells in which figure ``name``'s ``part`` ("figure" or "image") has
    ``changes``; a change given as a function of the old value is applied to it."""
    cells = [c.copy() for c in cells]
    for cell in cells:
        mystnb = cell.metadata.get("mystnb", {})
        if mystnb.get("figure", {}).get("name") == name:
            old = mystnb.get(part, {})
            new = {k: v(old.get(k, "")) if callable(v) else v for k, v in changes.items()}
            cell.metadata = {**cell.metadata, "mystnb": {**mystnb, part: {**old, **new}}}
    return cells


@pytest.fixture(scope="module")
def chapter():
    return notebooks.read_chapter()


# ---------------------------------------------------------------- tests
@pytest.mark.timeout(300)
def test_captions_alt_texts_and_answers_state_only_computed_numbers(chapter):
    """Does every number in a caption, an alt text or a model answer come from a claim or from a
    parameter its cell sets?"""
    assert chapter_problems(chapter.cells, raw_answers()) == []


@pytest.mark.timeout(300)
def test_a_raw_behavioural_number_in_a_caption_or_answer_fails(chapter):
    """A caption that states the event cutoff as a raw number, and a model answer that states an
    output spike count as one: are both reported?"""
    cells = with_figure(
        chapter.cells,
        "fig-event-highpass",
        "figure",
        caption=lambda old: old + " The cutoff is a pulse every 13 steps.",
    )
    answers = raw_answers()
    answers["task42_answer"] = "At tau = 5 the neuron fires 351 times. " + answers["task42_answer"]
    assert chapter_problems(cells, answers) == ["fig-event-highpass caption: 13", "answer task42_answer: 351"]


def test_a_deliberately_wrong_claim_in_a_caption_fails(chapter):
    """A caption that quotes a false claim (the band-pass passing periods it stops): does checking
    the chapter raise ClaimError instead of accepting the quote?"""
    true = claims.CLAIMS["band_pass_band"]
    wrong = claims.Claim(
        "band_pass_band_wide",
        "the band-pass also passes a pulse every 2 steps",
        true.compute,
        holds=lambda v: v["first"] <= 2,
        text=true.text,
    )
    registry = {**claims.CLAIMS, wrong.name: wrong}
    cells = with_figure(
        chapter.cells, "fig-band-pass", "figure", caption="passes {glue:text}`band_pass_band_wide` steps"
    )
    with pytest.raises(claims.ClaimError, match="band_pass_band_wide"):
        chapter_problems(cells, raw_answers(), registry)


def test_an_alt_text_quoting_a_claim_fails(chapter):
    """Alt texts are shown as written: is a claim quoted in one reported?"""
    cells = with_figure(chapter.cells, "fig-band-pass", "image", alt="passes {glue:text}`band_pass_band` steps")
    assert "fig-band-pass alt text quotes a claim, which an alt text cannot show" in chapter_problems(
        cells, raw_answers()
    )


def test_the_scanner_reads_parameters_from_the_code_not_from_strings():
    """Does a cell's parameter set hold its literals and named constants, but not numbers written
    in its strings or its layout?"""
    source = (
        "from solutions.figure_claims import EVENT_DEMO_STEPS\nTAU = 7\n"
        'plt.subplots(3, 1, figsize=(9, 5))\nax.set_title("every 13 steps", fontsize=11)\n'
        "x = filters.LOW_CUTOFF\npulses = pulse_train(6, EVENT_DEMO_STEPS)\n"
    )
    params = cell_parameters(source, {"filters": "solutions.filters"})
    assert {7.0, 6.0, float(figure_claims.EVENT_DEMO_STEPS), 20.0, 0.1} <= params
    assert not {3.0, 9.0, 5.0, 13.0, 11.0} & params


@pytest.mark.parametrize(
    "variables, constants",
    [
        (("TAUS",), ("RISE_TAUS",)),
        (("TAU", "THRESHOLD"), ("TASK2_PLOT_TAU", "TASK2_PLOT_THRESHOLD")),
        (("LIF_TAU", "LIF_THRESHOLD"), ("LIF_SURFACE_TAU", "LIF_SURFACE_THRESHOLD")),
    ],
)
def test_claims_next_to_a_students_cell_use_that_cells_parameters(chapter, variables, constants):
    """The text next to a plotting cell students may edit quotes a claim computed with the cell's
    starting values: do the claim's parameters equal what the cell assigns?"""
    cell = parameter_cell(chapter.cells, variables[0])
    namespace: dict = {"np": np}
    assigned = next(
        node
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.Assign)
        and variables[0] in {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    )
    exec(compile(ast.Module([assigned], []), "<cell>", "exec"), namespace)
    for variable, constant in zip(variables, constants):
        expected = getattr(figure_claims, constant)
        assert np.allclose(namespace[variable], expected), (variable, namespace[variable], constant, expected)
