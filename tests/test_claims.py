"""Is every number and direction the chapter and the model answers state about the models true?

Claims live in ``solutions/claims.py`` (computed from the models and the shipped sample) and
are quoted as ``{glue:text}`name``` in ``book/module1/neurons.md`` and ``solutions/answers.md``.
These tests check each claim against independent computations (closed forms, plain loops
written here), that a false claim stops the page and the notebooks, and that every quoted
claim exists and every registered claim is quoted.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from course import notebooks
from solutions import claims


def plain_li(x, tau):
    """The leaky integrator as the chapter's equation, one step at a time (no solutions code)."""
    v, out = 0.0, []
    for i in x:
        v = v + (i - v) / tau
        out.append(v)
    return np.array(out)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(claims.CLAIMS))
def test_registered_claim_holds(name):
    """Does each registered claim hold on the models and the shipped sample?"""
    claims.check(claims.CLAIMS[name])


def test_a_deliberately_wrong_claim_stops_the_text_that_quotes_it():
    """A claim that is false (a larger tau *raises* the LI surface maximum, the model answer's old
    wording): does quoting it in an answer or in notebook markdown raise ClaimError?"""
    true = claims.CLAIMS["li_surface_max_falls"]
    wrong = claims.Claim(
        "li_surface_max_grows",
        "a larger tau raises the LI surface maximum",
        true.compute,
        holds=lambda v: all(a < b for a, b in zip(list(v.values()), list(v.values())[1:])),
        text=true.text,
    )
    registry = {**claims.CLAIMS, wrong.name: wrong}
    with pytest.raises(claims.ClaimError, match="li_surface_max_grows"):
        claims.substitute("values grow: {glue:text}`li_surface_max_grows`", registry)
    assert claims.substitute("values fall: {glue:text}`li_surface_max_falls`", registry).startswith("values fall: 1 ")


def test_an_unknown_claim_is_an_error():
    """Does a text quoting a claim nobody registered fail, in answers and in notebook markdown?"""
    with pytest.raises(claims.ClaimError, match="no claim"):
        claims.substitute("{glue:text}`no_such_claim`")
    with pytest.raises(claims.ClaimError, match="no claim"):
        notebooks.myst_to_jupyter("see {glue:text}`no_such_claim`", {})


def test_every_quoted_claim_is_registered_and_every_claim_is_quoted():
    """Is each claim the chapter or the answers quote registered, and each registered claim quoted?"""
    text = notebooks.CHAPTER.read_text() + notebooks.ANSWERS.read_text()
    quoted = set(claims.referenced(text))
    assert quoted == set(claims.CLAIMS), quoted ^ set(claims.CLAIMS)


def notebook_prose() -> str:
    """The chapter's Markdown that goes into the notebooks (not book-only cells, not figure
    captions: the notebook has no captions) and the model answers, as written."""
    chapter = notebooks.read_chapter()
    return "\n".join(
        [c.source for c in chapter.cells if c.cell_type == "markdown" and c.metadata.get("course") != "book"]
        + [notebooks.ANSWERS.read_text()]
    )


def test_generated_notebooks_quote_the_computed_numbers():
    """Does the instructor notebook (chapter markdown and model answers) carry the computed text of
    every claim they quote, with no unresolved glue role left?"""
    nb = notebooks.instructor_notebook()
    text = "\n".join(c.source for c in nb.cells)
    assert "{glue" not in text
    for name in claims.referenced(notebook_prose()):
        assert " ".join(claims.quote(name).split()) in " ".join(text.split()), name


def test_li_surface_maximum_matches_the_closed_form_bound():
    """Independent check of the tau answer: a train of spikes every step gives at most
    1 - (1 - 1/tau)^n; a lone spike gives 1/tau. Does the surface maximum lie between 1/tau and 1
    and fall with tau, as the plain loop computes on the densest channel?"""
    raster = claims.sample_raster()
    values = claims.CLAIMS["li_surface_max_falls"].compute()
    densest = raster[np.argmax(raster.sum(axis=1))]
    for tau, maximum in values.items():
        assert 1 / tau - 1e-12 <= maximum <= 1 + 1e-12
        assert plain_li(densest, tau).max() <= maximum + 1e-9
    assert list(values.values()) == sorted(values.values(), reverse=True)


def test_threshold_band_matches_a_plain_loop():
    """Is the threshold quoted for the fastest signal the plain loop's peak of the 99 pi signal?"""
    x = (np.cos(np.linspace(0, 99 * math.pi, 100)) + 1) / 2
    peak = plain_li(x, 5.0).max()
    assert claims.quote("task3_threshold_band") == f"{peak:.3f}"


def test_lif_spike_counts_match_a_plain_loop_on_one_tau():
    """Does the quoted LIF output count at tau 5 equal a plain per-channel loop's?"""
    raster = claims.sample_raster()
    count = 0
    for channel in raster:
        v = 0.0
        for i in channel:
            v = v + (i - v) / 5.0
            if v > claims.LIF_SURFACE_THRESHOLD:
                count += 1
                v = 0.0
    assert claims.CLAIMS["lif_surface_spikes_fall"].compute()[5.0] == count


def test_chapter_states_no_uncomputed_tau_direction():
    """The old wrong statements: are they gone from the chapter and the answers?"""
    text = " ".join((notebooks.CHAPTER.read_text() + notebooks.ANSWERS.read_text()).split())
    for wrong in [
        "values grow since more spikes add up",
        "more channels fire and more often",
        "page this module continues",
        "step h = 1/\\tau",
        "between 0.5 and 1",
        "LIF update matches the one used here",
    ]:
        assert wrong not in text, wrong
    assert not re.search(r"threshold between 0\.5", text)


def test_a_deliberately_wrong_claim_stops_the_book_page(monkeypatch):
    """The page's hidden cell glues every registered claim: does one false claim raise there (so the
    -W build fails) instead of printing a wrong number?"""
    true = claims.CLAIMS["lif_surface_spikes_fall"]
    wrong = claims.Claim(
        "lif_surface_spikes_grow",
        "a larger tau gives more LIF output spikes",
        true.compute,
        holds=lambda v: list(v.values()) == sorted(v.values()) and len(set(v.values())) > 1,
        text=true.text,
    )
    monkeypatch.setitem(claims.CLAIMS, wrong.name, wrong)
    with pytest.raises(claims.ClaimError, match="lif_surface_spikes_grow"):
        claims.glue_all()


def plain_lif(x, tau, threshold):
    """The LIF neuron as the chapter's equations, one step at a time (no solutions code)."""
    v, spikes = 0.0, []
    for i in x:
        v = v + (i - v) / tau
        spikes.append(1 if v > threshold else 0)
        v = 0.0 if v > threshold else v
    return np.array(spikes)


def test_constant_current_caption_matches_the_closed_form():
    """A constant current c lifts v to c (1 - (1 - 1/tau)^n) after n steps: is the quoted interval the
    first n above the threshold, and the quoted count the intervals that fit, for each spiking current?"""
    from solutions import figure_claims as fc

    quoted = claims.quote("lif_constant_spiking")
    for current in fc.LIF_DEMO_CURRENTS:
        n = next(
            (
                n
                for n in range(1, fc.LIF_DEMO_STEPS + 1)
                if current * (1 - (1 - 1 / fc.LIF_DEMO_TAU) ** n) > fc.LIF_DEMO_THRESHOLD
            ),
            None,
        )
        if n is None:
            assert f"{current:g}" in claims.quote("lif_constant_silent")
        else:
            assert f"the current {current:g} gives {fc.LIF_DEMO_STEPS // n} spikes, one every {n} steps" in quoted


def test_event_cutoff_and_band_match_plain_loops():
    """Do plain loops on pulse trains agree with the quoted cutoff (spikes at that period, none one step
    sparser) and with the quoted band's ends?"""
    from solutions import filters

    def pulses(period, steps=1000):
        return np.array([1.0 if k % period == 0 else 0.0 for k in range(steps)])

    low, high = filters.LOW_CUTOFF, filters.HIGH_CUTOFF
    cutoff = int(claims.quote("event_cutoff_period"))
    assert plain_lif(pulses(cutoff), low.tau, low.threshold).sum() > 0
    assert plain_lif(pulses(cutoff + 1), low.tau, low.threshold).sum() == 0
    first = next(p for p in range(1, 100) if plain_lif(pulses(p), high.tau, high.threshold).sum() == 0)
    assert claims.quote("band_pass_band") == f"{first} to {cutoff}"


def test_cosine_caption_matches_a_plain_loop():
    """Do plain loops of the Task 3 neuron on (cos(x) + 1)/2 give the quoted spike counts and peaks?"""
    from solutions import filters

    slow, fast = ((np.cos(np.linspace(0, k * math.pi, 100)) + 1) / 2 for k in (5, 30))
    tau, threshold = filters.TASK3_TAU, filters.TASK3_THRESHOLD
    assert claims.quote("cosine_slow_fast") == (
        f"the slow one reaches {plain_li(slow, tau).max():.2f} and spikes {plain_lif(slow, tau, threshold).sum()} "
        f"times, the fast one stays at or below {plain_li(fast, tau).max():.2f} and spikes "
        f"{plain_lif(fast, tau, threshold).sum()} times"
    )


def test_li_oscillation_caption_matches_the_closed_form_gain():
    """The leaky integrator's steady-state gain at w radians per step is (1/tau) / |1 - (1 - 1/tau) e^(-iw)|:
    does the quoted share of the input's amplitude match it?"""
    from solutions import figure_claims as fc

    w, tau = 2 * math.pi / fc.LI_DEMO_PERIOD, fc.LI_DEMO_TAU
    gain = (1 / tau) / abs(1 - (1 - 1 / tau) * complex(math.cos(w), -math.sin(w)))
    assert claims.quote("li_demo_oscillation").startswith(f"{gain:.2f} of the input's amplitude")
