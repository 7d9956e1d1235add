"""Are the reference neuron models right? (solutions/reference.py, solutions/neurons.py)

Each test checks the models against something independent of their code: closed
forms, values computed by hand, ``scipy.signal.lfilter``, or a mathematical
property (linearity, time invariance, strict threshold). The readable loops and the
fast vectorised paths are also checked against each other, to 1e-12.

(A little over 300 lines: every section checks the same two models with the hypothesis
strategies and settings defined at the top.)
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.signal import lfilter

from solutions import neurons, reference

# Few, small examples and no per-example deadline keep the file to seconds; no example
# database (nothing written into the work tree); fixed examples under CI, so a CI run
# is reproducible (locally the examples vary and keep searching; SOLUTIONS_EXAMPLES=2000
# searches harder).
FEW = settings(
    max_examples=int(os.environ.get("SOLUTIONS_EXAMPLES", 40)),
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow],
)  # the machine is shared: slow != wrong

LI = {"reference": reference.leaky_integrator, "fast": neurons.li}
LIF = {"reference": reference.leaky_integrate_and_fire, "fast": neurons.lif}

taus = st.floats(min_value=1.0, max_value=200.0)
thresholds = st.floats(min_value=0.0, max_value=2.0)
signals = hnp.arrays(np.float64, st.integers(0, 120), elements=st.floats(-10, 10))
batches = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(0, 80)),
    elements=st.floats(-2, 3),
)


def lfilter_li(x, tau):
    """The leaky integrator as a first-order IIR filter: y[k] = x[k]/tau + (1 - 1/tau) y[k-1]."""
    return lfilter([1 / tau], [1, -(1 - 1 / tau)], x, axis=-1)


# ---------------------------------------------------------------- closed forms
@pytest.mark.parametrize("impl", LI)
@pytest.mark.parametrize("c, tau", [(1.0, 2.0), (0.3, 10.0), (-2.5, 3.7), (4.0, 150.0)])
def test_li_constant_input_follows_closed_form(impl, c, tau):
    """Does a constant input c give c * (1 - (1 - 1/tau)**k) after k steps?"""
    k = np.arange(1, 501)
    expected = c * (1 - (1 - 1 / tau) ** k)
    np.testing.assert_allclose(LI[impl](np.full(500, c), tau), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("impl", LI)
@given(x=signals)
@FEW
def test_li_tau_one_returns_the_input(impl, x):
    """Is the leaky integrator with tau = 1 the identity (up to the rounding of
    v + (i - v), a few ulp of the largest value: not bit-exact)?"""
    scale = np.abs(x).max(initial=0.0)
    np.testing.assert_allclose(LI[impl](x, 1.0), x, rtol=0, atol=4 * np.finfo(float).eps * scale)


@st.composite
def supra_threshold_constant(draw):
    """(c, tau, threshold, interval) where c > threshold > 0 and the interval from the
    closed form is not within 1e-4 of a step boundary (rounding cannot decide it)."""
    tau = draw(st.floats(1.5, 60.0))
    threshold = draw(st.floats(0.05, 2.0))
    c = threshold * draw(st.floats(1.01, 5.0))
    # v_k = c (1 - d**k) from rest; first k with v_k > threshold: k > ln(1 - th/c) / ln d
    bound = math.log(1 - threshold / c) / math.log(1 - 1 / tau)
    assume(abs(bound - round(bound)) > 1e-4)
    return c, tau, threshold, math.floor(bound) + 1


@pytest.mark.parametrize("impl", LIF)
@given(case=supra_threshold_constant())
@FEW
def test_lif_interspike_interval_matches_closed_form(impl, case):
    """Does a constant supra-threshold input give regular spikes, every n steps, where
    n is the first k with c (1 - (1 - 1/tau)**k) > threshold (the reset restarts from 0)?"""
    c, tau, threshold, interval = case
    steps = 4 * interval + 3
    spikes, membrane = LIF[impl](np.full(steps, c), tau, threshold)
    np.testing.assert_array_equal(np.flatnonzero(spikes), np.arange(interval - 1, steps, interval))
    assert np.all(membrane[spikes == 1] == 0)


@pytest.mark.parametrize("impl", LIF)
def test_lif_never_fires_when_the_input_stays_at_or_below_threshold(impl):
    """Is the limit c of a constant input unreachable (v_k < c), so c = threshold never spikes?"""
    spikes, membrane = LIF[impl](np.full(2000, 0.5), 3.0, 0.5)
    assert spikes.sum() == 0 and membrane.max() < 0.5


# ---------------------------------------------------------------- golden values (by hand)
@pytest.mark.parametrize("impl", LI)
def test_li_golden_values(impl):
    """Hand-computed: tau 2 on ones -> 1/2, 3/4, 7/8, 15/16; tau 4 on a pulse -> 1/4, 3/16, 9/64."""
    np.testing.assert_allclose(LI[impl]([1, 1, 1, 1], 2), [0.5, 0.75, 0.875, 0.9375], rtol=0, atol=1e-15)
    np.testing.assert_allclose(LI[impl]([1, 0, 0], 4), [0.25, 0.1875, 0.140625], rtol=0, atol=1e-15)
    np.testing.assert_allclose(LI[impl]([2, -2], 2), [1.0, -0.5], rtol=0, atol=1e-15)


@pytest.mark.parametrize("impl", LIF)
def test_lif_golden_values(impl):
    """Hand-computed, including the strict threshold (v = threshold exactly does not fire)."""
    # tau 2, threshold 0.6, ones: 0.5; 0.75 -> spike, reset; 0.5; 0.75 -> spike
    spikes, membrane = LIF[impl]([1, 1, 1, 1], 2, 0.6)
    np.testing.assert_array_equal(spikes, [0, 1, 0, 1])
    np.testing.assert_array_equal(membrane, [0.5, 0.0, 0.5, 0.0])
    # tau 2, threshold 0.5: v = 0.5 is not > 0.5; next 0.75 fires
    spikes, membrane = LIF[impl]([1, 1], 2, 0.5)
    np.testing.assert_array_equal(spikes, [0, 1])
    np.testing.assert_array_equal(membrane, [0.5, 0.0])
    # tau 1: v = input; 0.8 > 0.5 fires, 0.5 does not
    spikes, membrane = LIF[impl]([0.3, 0.8, 0.5], 1, 0.5)
    np.testing.assert_array_equal(spikes, [0, 1, 0])
    np.testing.assert_array_equal(membrane, [0.3, 0.0, 0.5])


def test_cosine_signal_golden_values():
    """(cos(x) + 1)/2 on linspace(0, max_x, samples): pi over 3 samples -> 1, 1/2, 0."""
    np.testing.assert_allclose(reference.cosine_signal(np.pi, 3), [1.0, 0.5, 0.0], atol=1e-15)
    assert reference.cosine_signal(5 * np.pi).shape == (100,)


def test_band_pass_golden_first_spike():
    """Hand-computed: pulses every 8 steps; the low-cutoff neuron (tau 20, threshold 0.1)
    peaks at 0.05 (1 + 0.95**8 + ...) = 0.0500, 0.0832, 0.1052 -> first spike at step 16."""
    x = np.zeros(40)
    x[::8] = 1
    assert np.flatnonzero(reference.band_pass(x))[0] == 16


# ---------------------------------------------------------------- independent reference
@pytest.mark.parametrize("impl", LI)
@given(x=signals, tau=st.one_of(taus, st.floats(0.6, 1.0)))
@FEW
def test_li_equals_scipy_lfilter(impl, x, tau):
    """Is the leaky integrator the IIR filter lfilter([1/tau], [1, -(1 - 1/tau)], x)?"""
    np.testing.assert_allclose(LI[impl](x, tau), lfilter_li(x, tau), rtol=1e-10, atol=1e-11)


def test_li_surface_equals_scipy_lfilter_on_a_raster():
    """Do both time surfaces equal lfilter along the time axis of a 0/1 raster?"""
    raster = (np.random.default_rng(3).random((40, 300)) < 0.05).astype(float)
    for tau in (1.0, 7.0, 50.0):
        expected = lfilter_li(raster, tau)
        np.testing.assert_allclose(neurons.li(raster, tau), expected, atol=1e-12)
        np.testing.assert_allclose(reference.li_time_surface(raster, tau), expected, atol=1e-12)


# ---------------------------------------------------------------- properties
@given(x=batches, tau=taus, threshold=thresholds)
@FEW
def test_batch_and_1d_paths_agree(x, tau, threshold):
    """Does a (channels, time) call give, per row, the same as the 1-D call?"""
    surface = neurons.li(x, tau)
    spikes, membrane = neurons.lif(x, tau, threshold)
    assert surface.shape == spikes.shape == membrane.shape == x.shape
    for row in range(x.shape[0]):
        np.testing.assert_array_equal(surface[row], neurons.li(x[row], tau))
        s1, m1 = neurons.lif(x[row], tau, threshold)
        np.testing.assert_array_equal(spikes[row], s1)
        np.testing.assert_array_equal(membrane[row], m1)


@given(x=batches, tau=taus, threshold=thresholds)
@FEW
def test_reference_loops_equal_fast_paths(x, tau, threshold):
    """Do the readable loops and the vectorised paths agree to 1e-12 (spikes exactly)?"""
    np.testing.assert_allclose(reference.li_time_surface(x, tau), neurons.li(x, tau), rtol=0, atol=1e-12)
    s_ref, m_ref = reference.lif_time_surface(x, tau, threshold)
    s_fast, m_fast = neurons.lif(x, tau, threshold)
    np.testing.assert_array_equal(s_ref, s_fast)
    np.testing.assert_allclose(m_ref, m_fast, rtol=0, atol=1e-12)
    for row in range(x.shape[0]):
        np.testing.assert_allclose(reference.leaky_integrator(x[row], tau), neurons.li(x[row], tau), atol=1e-12)
        s1, m1 = reference.leaky_integrate_and_fire(x[row], tau, threshold)
        np.testing.assert_array_equal(s1, s_fast[row])


@pytest.mark.parametrize("name", ["reference", "fast"])
@given(x=signals, tau=taus, threshold=thresholds)
@FEW
def test_numpy_list_and_torch_inputs_agree(name, x, tau, threshold):
    """Do a NumPy array, a list and a torch tensor (float64 and float32) give the same result?"""
    li_fn, lif_fn = LI[name], LIF[name]
    base = li_fn(x, tau)
    s_base, m_base = lif_fn(x, tau, threshold)
    assert isinstance(base, np.ndarray) and base.shape == x.shape
    for other in (x.tolist(), torch.tensor(x, dtype=torch.float64)):
        np.testing.assert_array_equal(li_fn(other, tau), base)
        s, m = lif_fn(other, tau, threshold)
        np.testing.assert_array_equal(s, s_base)
        np.testing.assert_array_equal(m, m_base)
    x32 = x.astype(np.float32)
    np.testing.assert_array_equal(li_fn(torch.from_numpy(x32), tau), li_fn(x32, tau))


@pytest.mark.parametrize("name", ["reference", "fast"])
@given(x=signals, tau=taus, threshold=thresholds)
@FEW
def test_spikes_are_binary_and_membrane_stays_at_or_below_threshold(name, x, tau, threshold):
    """Are spikes 0/1, is the membrane after the jump <= threshold (threshold >= v_reset = 0),
    and is it exactly 0 where a spike occurred?"""
    spikes, membrane = LIF[name](x, tau, threshold)
    assert set(np.unique(spikes)) <= {0.0, 1.0}
    assert np.all(membrane <= threshold)
    assert np.all(membrane[spikes == 1] == 0.0)


@pytest.mark.parametrize("impl", LI)
@given(
    xy=st.integers(0, 100).flatmap(lambda n: st.tuples(*[hnp.arrays(np.float64, n, elements=st.floats(-5, 5))] * 2)),
    a=st.floats(-3, 3),
    b=st.floats(-3, 3),
    tau=taus,
)
@FEW
def test_li_is_linear(impl, xy, a, b, tau):
    """Is LI(a x + b y) = a LI(x) + b LI(y)?"""
    x, y = xy
    f = LI[impl]
    np.testing.assert_allclose(f(a * x + b * y, tau), a * f(x, tau) + b * f(y, tau), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("impl", LI)
@given(x=signals, shift=st.integers(0, 30), tau=taus)
@FEW
def test_li_is_time_invariant(impl, x, shift, tau):
    """Does delaying the input by s steps (zeros first) delay the output by s steps?"""
    f = LI[impl]
    delayed = f(np.concatenate([np.zeros(shift), x]), tau)
    np.testing.assert_array_equal(delayed[:shift], 0.0)
    np.testing.assert_allclose(delayed[shift:], f(x, tau), rtol=1e-12, atol=1e-12)


def test_step_functions_are_pure_and_match_the_equations():
    """Do li_step / lif_step compute one step of the equations without changing their inputs?"""
    v = np.array([0.0, 0.5, 0.9])
    i = np.array([1.0, 1.0, 1.0])
    np.testing.assert_array_equal(neurons.li_step(v, i, neurons.LIParameters(2.0)), [0.5, 0.75, 0.95])
    z, v_next = neurons.lif_step(v, i, neurons.LIFParameters(2.0, 0.75))
    np.testing.assert_array_equal(z, [False, False, True])  # 0.75 is not > 0.75
    np.testing.assert_array_equal(v_next, [0.5, 0.75, 0.0])
    np.testing.assert_array_equal(v, [0.0, 0.5, 0.9])
    np.testing.assert_array_equal(i, [1.0, 1.0, 1.0])


REFERENCE_FUNCTIONS = [
    "leaky_integrator",
    "leaky_integrate_and_fire",
    "cosine_signal",
    "band_pass",
    "li_time_surface",
    "lif_time_surface",
]


def test_reference_functions_are_self_contained():
    """The notebook gets each function's source verbatim: do they run with only `np` and
    each other defined, and give the module's results?"""
    import inspect

    namespace = {"np": np}
    for name in REFERENCE_FUNCTIONS:
        exec(inspect.getsource(getattr(reference, name)), namespace)
    x = np.zeros(200)
    x[::8] = 1
    raster = np.vstack([x, np.roll(x, 3)])
    np.testing.assert_array_equal(namespace["band_pass"](x), reference.band_pass(x))
    np.testing.assert_array_equal(namespace["cosine_signal"](7.0), reference.cosine_signal(7.0))
    np.testing.assert_array_equal(namespace["li_time_surface"](raster, 5.0), reference.li_time_surface(raster, 5.0))
    for got, want in zip(namespace["lif_time_surface"](raster, 5.0, 0.3), reference.lif_time_surface(raster, 5.0, 0.3)):
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call",
    [
        lambda: reference.leaky_integrator(np.ones((2, 3)), 2.0),
        lambda: reference.leaky_integrate_and_fire(np.ones((2, 3)), 2.0, 0.5),
        lambda: reference.leaky_integrator(np.ones(3), 0.0),
        lambda: reference.li_time_surface(np.ones(3), 2.0),
        lambda: reference.lif_time_surface(np.ones((1, 2, 3)), 2.0, 0.5),
        lambda: neurons.li(np.ones((1, 2, 3)), 2.0),
        lambda: neurons.li(np.ones(3), -1.0),
        lambda: neurons.li([1.0, float("nan")], 2.0),
        lambda: neurons.lif(np.ones(3), 2.0, float("inf")),
    ],
)
def test_bad_input_raises_a_clear_value_error(call):
    """Do wrong shapes, non-positive tau and non-finite values raise ValueError?"""
    with pytest.raises(ValueError, match=r"(must be|contains)"):
        call()


def test_non_numeric_input_raises_type_error():
    """Does a non-numeric input or tau raise TypeError naming the argument?"""
    with pytest.raises(TypeError, match="x must be numeric"):
        neurons.li(["a", "b"], 2.0)
    with pytest.raises(TypeError, match="tau must be a real number"):
        neurons.li([1.0], "slow")


def test_torch_tensor_with_grad_and_empty_input_are_accepted():
    """Does the fast path accept a tensor that requires grad, and empty inputs?"""
    t = torch.ones(5, dtype=torch.float64, requires_grad=True)
    np.testing.assert_allclose(neurons.li(t, 2.0), lfilter_li(np.ones(5), 2.0))
    assert neurons.li([], 3.0).shape == (0,)
    assert neurons.lif(np.zeros((4, 0)), 3.0, 0.5)[0].shape == (4, 0)
