"""Unit tests of course/sliders.py: do the precomputed frames show the right model for the
right tau, are they deterministic, labelled, small enough, and does bad input fail clearly?

Independent references: scipy.signal.lfilter (leaky integrator = first-order IIR filter),
the closed form of the LIF neuron under constant input, PIL decoding of the PNG bytes, and
the ipywidgets models themselves (options, link ends, stack children).
"""

from __future__ import annotations

import base64
import io
import math
import re

import numpy as np
import pytest
from PIL import Image
from scipy.signal import lfilter

from course import sliders
from solutions.reference import cosine_signal


def li_lfilter(x, tau):
    """v[k] = (1 - 1/tau) v[k-1] + x[k]/tau, v[-1] = 0, as an IIR filter."""
    return lfilter([1.0 / tau], [1.0, -(1.0 - 1.0 / tau)], np.asarray(x, float), axis=-1)


@pytest.fixture(scope="module")
def raster():
    """A small seeded sparse raster (channels, time); the real one is tested in the browser."""
    rng = np.random.default_rng(7)
    return (rng.random((60, 200)) < 0.05).astype(np.float32)


@pytest.fixture(scope="module")
def li_trace():
    return sliders.li_trace_frames()


@pytest.fixture(scope="module")
def lif_trace():
    return sliders.lif_trace_frames()


@pytest.fixture(scope="module")
def li_surface(raster):
    return sliders.li_surface_frames(raster, taus=(1, 4, 32))


@pytest.fixture(scope="module")
def lif_surface(raster):
    return sliders.lif_surface_frames(raster, threshold=0.3, taus=(1, 2, 8))


# ---- the frames show the reference model at the tau of their label -------------------------
def test_li_trace_frames_match_lfilter_for_each_label(li_trace):
    """Question: does frame k draw the leaky integrator at the tau its label names?"""
    const = np.full(sliders.TRACE_STEPS, sliders.TRACE_CONSTANT)
    osc = cosine_signal(sliders.TRACE_OSC_MAX_X, samples=sliders.TRACE_STEPS)
    for label, data in zip(li_trace.labels, li_trace.data):
        tau = float(re.match(r"tau = ([\d.]+) step", label).group(1))
        np.testing.assert_allclose(data["v0"], li_lfilter(const, tau), rtol=0, atol=1e-12)
        np.testing.assert_allclose(data["v1"], li_lfilter(osc, tau), rtol=0, atol=1e-12)


def test_lif_trace_constant_input_fires_with_closed_form_period(lif_trace):
    """Question: under constant input 1 the LIF membrane is 1 - (1 - 1/tau)^n after n steps
    since the last reset, so it fires every p steps, p = the first n with that > threshold.
    Does each frame show exactly those spikes for the tau of its label?"""
    th = sliders.TRACE_THRESHOLD
    n_steps = sliders.TRACE_STEPS
    for tau, data in zip(lif_trace.taus, lif_trace.data):
        p = next(n for n in range(1, 10**6) if 1 - (1 - 1 / tau) ** n > th)
        expected = np.zeros(n_steps)
        expected[p - 1 :: p] = 1
        np.testing.assert_array_equal(data["z0"], expected, err_msg=f"tau={tau}")
        assert data["v1"].max() <= th  # membrane after the jump never exceeds the threshold


def test_li_surface_frames_match_lfilter_per_channel(raster, li_surface):
    """Question: is the Task 4.1 surface the leaky integrator along time of every channel?"""
    for tau, data in zip(li_surface.taus, li_surface.data):
        np.testing.assert_allclose(data["v"], li_lfilter(raster, tau), rtol=0, atol=1e-12)


def test_lif_surface_tau1_spikes_exactly_where_raster_exceeds_threshold(raster, lif_surface):
    """Question: with tau = 1 the membrane equals the input, so a LIF surface spikes exactly
    at raster entries above the threshold; and for every tau the membrane stays <= threshold."""
    assert lif_surface.taus[0] == 1
    np.testing.assert_array_equal(lif_surface.data[0]["z"], (raster > 0.3).astype(float))
    for data in lif_surface.data:
        assert data["v"].max() <= 0.3


# ---- frames differ across tau, are deterministic, have the right size --------------------
@pytest.mark.parametrize("name", ["li_trace", "lif_trace", "li_surface", "lif_surface"])
def test_frames_differ_across_tau_and_decode_to_their_size(name, request):
    """Question: does every tau get its own picture, of the declared pixel size?"""
    frames = request.getfixturevalue(name)
    digests = [frames.digest(k) for k in range(len(frames.pngs))]
    assert len(set(digests)) == len(digests), f"{name}: two taus give identical frames"
    for png in frames.pngs:
        img = Image.open(io.BytesIO(png))
        assert img.format == "PNG" and img.mode == "P"  # 8-bit palette
        assert img.size == frames.size


def test_frames_are_deterministic(raster, li_trace, lif_surface):
    """Question: does a rebuild give byte-identical frames (so the page and the execution
    cache do not churn, and a test can regenerate the expected frame)?"""
    assert sliders.li_trace_frames().pngs == li_trace.pngs
    again = sliders.lif_surface_frames(raster.copy(), threshold=0.3, taus=(1, 2, 8))
    assert again.pngs == lif_surface.pngs


def test_surface_frames_accept_torch_and_lists(raster, li_surface):
    """Question: does a torch tensor or nested list raster give the same frames?"""
    torch = pytest.importorskip("torch")
    f1 = sliders.li_surface_frames(torch.from_numpy(raster), taus=(1, 4, 32))
    f2 = sliders.li_surface_frames(raster.tolist(), taus=(1, 4, 32))
    assert f1.pngs == li_surface.pngs == f2.pngs


def test_default_frames_fit_the_page_budget(li_trace, lif_trace):
    """Question: are all four sliders' default frames (surfaces of the real 700-channel
    raster) small enough that, base64-encoded, they stay well under the 3 MB page budget?"""
    raster = sliders.sample_raster()
    frames = [
        li_trace,  # the trace sliders' defaults, as drawn once for the module
        lif_trace,
        sliders.li_surface_frames(raster),
        sliders.lif_surface_frames(raster, 0.1),
    ]
    total = sum(len(p) for f in frames for p in f.pngs)
    assert total * 4 / 3 < 2.0e6, f"frames alone would weigh {total * 4 / 3 / 1e6:.2f} MB"


# ---- labels -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "tau, bin_width, label",
    [
        (1, None, "tau = 1 step"),
        (8, None, "tau = 8 steps"),
        (8, 1e-3, "tau = 8 steps (8 ms)"),
        (2.5, 1e-3, "tau = 2.5 steps (2.5 ms)"),
        (16, 0.5e-3, "tau = 16 steps (8 ms)"),
        (2048, 1e-3, "tau = 2048 steps (2.048 s)"),
    ],
)
def test_tau_label_names_steps_and_time(tau, bin_width, label):
    """Question: does the label give tau in steps and, with a bin width, in ms/s?"""
    assert sliders.tau_label(tau, bin_width) == label


def test_default_taus_are_log_spaced():
    """Question: are the slider positions log-spaced (constant ratio between neighbours)?"""
    for taus in (sliders.TRACE_TAUS, sliders.SURFACE_TAUS):
        ratios = np.diff(np.log(taus))
        np.testing.assert_allclose(ratios, ratios[0])


def test_surface_labels_carry_milliseconds(li_surface):
    assert li_surface.labels == ["tau = 1 step (1 ms)", "tau = 4 steps (4 ms)", "tau = 32 steps (32 ms)"]


# ---- the widget -------------------------------------------------------------------------------
def test_widget_links_slider_and_choice_to_stack_of_frames(li_surface):
    """Question: are the slider's and the labelled drop-down's index jslinked (in the
    browser) to a Stack whose child k shows frame k with its label in the alt text, and is
    slider.value the tau in a kernel?"""
    import ipywidgets as widgets

    box = sliders.tau_slider(li_surface, start=1)
    controls, stack = box.children
    choice, slider = controls.children
    assert isinstance(slider, widgets.SelectionSlider) and isinstance(stack, widgets.Stack)
    assert isinstance(choice, widgets.Dropdown) and choice.description == "time constant"
    for ctl in (slider, choice):
        assert list(ctl._options_labels) == li_surface.labels
        assert ctl.index == 1 and ctl.value == 4
    assert stack.selected_index == 1
    ends = set()
    for link in box.links:
        assert isinstance(link, widgets.widget_link.Link)  # jslink: the browser runs it
        assert link.target[0] is stack and link.target[1] == "selected_index"
        assert link.source[1] == "index"
        ends.add(id(link.source[0]))
    assert ends == {id(slider), id(choice)}
    assert len(stack.children) == len(li_surface.pngs)
    for child, png, label in zip(stack.children, li_surface.pngs, li_surface.labels):
        src = re.search(r'src="data:image/png;base64,([^"]+)"', child.value).group(1)
        assert base64.b64decode(src) == png
        assert label in re.search(r'alt="([^"]+)"', child.value).group(1)


def test_each_slider_function_returns_a_ready_widget():
    """Question: do the four public functions return a linked slider widget each?"""
    raster = np.zeros((4, 30), dtype=np.float32)
    raster[:, ::3] = 1
    for box in (
        sliders.li_trace_slider(taus=(1, 8)),
        sliders.lif_trace_slider(taus=(1, 8)),
        sliders.li_surface_slider(raster, taus=(1, 8)),
        sliders.lif_surface_slider(raster, 0.2, taus=(1, 8)),
    ):
        assert "tau-slider" in box._dom_classes
        assert len(box.stack.children) == 2 and box.slider.index == 1


# ---- helpers and bad input ----------------------------------------------------------------
def test_reduce_blocks_means_and_maxes_whole_blocks():
    """Question: does the size reduction average (or max) whole 2x2 blocks, padding the
    ragged edge by repeating the edge (mean) or with zeros (max)?"""
    a = np.arange(20, dtype=float).reshape(4, 5)
    mean = sliders.reduce_blocks(a, (2, 3), "mean")
    padded = np.concatenate([a, a[:, -1:]], axis=1)
    manual = padded.reshape(2, 2, 3, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(mean, manual)
    mx = sliders.reduce_blocks(a, (2, 3), "max")
    assert mx.shape == (2, 3) and mx[1, 2] == a[3, 4]
    assert sliders.reduce_blocks(a, (10, 10)).shape == a.shape  # never enlarges


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(taus=(8, 4)), "strictly increasing"),
        (dict(taus=(0.5, 4)), ">= 1"),
        (dict(taus=(4,)), "at least two"),
        (dict(taus=(1, math.nan)), "finite"),
    ],
)
def test_bad_taus_fail_clearly(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sliders.li_trace_frames(**kwargs)


@pytest.mark.parametrize(
    "raster, message",
    [
        (np.zeros(100), "channels, time"),
        (np.full((3, 10), np.nan), "NaN"),
    ],
)
def test_bad_raster_fails_clearly(raster, message):
    with pytest.raises(ValueError, match=message):
        sliders.li_surface_frames(raster)


@pytest.mark.parametrize("threshold", [0, -1, math.inf, None])
def test_bad_threshold_fails_clearly(threshold):
    with pytest.raises(ValueError, match="threshold"):
        sliders.lif_surface_frames(np.zeros((3, 10)), threshold)
