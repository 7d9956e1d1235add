"""Readable per-step reference solutions of module 1 ("Computing with neurons").

Each function below is self-contained: it uses only ``np`` (NumPy) and the
other functions of this module, so the instructor notebook can carry its source
verbatim as the solution, and its docstring is the task text that students see
in the stub. The semantics are those of ``book/contract.md`` (discrete time, one
step = one time unit, the membrane starts at 0, strict threshold, reset to 0).

The fast, vectorised versions of the same models live in ``solutions.neurons``;
tests check that both agree to 1e-12 and that both match independent references
(closed forms and ``scipy.signal.lfilter``).
"""

import numpy as np


def leaky_integrator(input_data, tau):
    r"""Leaky integrator: low-pass filter an input current, one step at a time.

    Task: simulate the membrane voltage ``v`` of a leaky integrator driven by
    the current ``input_data``. The continuous model is

        dv/dt = (i - v) / tau

    Discretise it with forward Euler and a step of one time unit (the
    derivative is evaluated at the *current* step, ``h = 1/tau``):

        v[k] = v[k-1] + (i[k] - v[k-1]) / tau,      with v[-1] = 0

    i.e. the voltage starts at 0 *before* the first input, and ``output[k]`` is
    the voltage right *after* input ``i[k]`` has been applied. With ``tau = 1``
    the output equals the input; a larger ``tau`` remembers longer (for a
    constant input ``c`` the output is ``c * (1 - (1 - 1/tau)**(k+1))``).

    Parameters
    ----------
    input_data : 1-D sequence of float (list, NumPy array or torch tensor)
        The input current ``i[0], i[1], ...``, one value per time step.
    tau : float
        Time constant in time steps (``tau > 0``; ``tau >= 1`` is the stable,
        sensible range).

    Returns
    -------
    output : np.ndarray, shape ``(len(input_data),)``, float
        The voltage after each step.
    """
    input_data = np.asarray(input_data, dtype=float)
    if input_data.ndim != 1:
        raise ValueError(f"input_data must be 1-D, got shape {input_data.shape}")
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    output = np.zeros(len(input_data))
    v = 0.0
    for k in range(len(input_data)):
        v = v + (input_data[k] - v) / tau
        output[k] = v
    return output


def leaky_integrate_and_fire(input_data, tau, threshold):
    r"""Leaky integrate-and-fire (LIF) neuron, one step at a time.

    Task: simulate a LIF neuron driven by the current ``input_data``. Each step
    ``k`` does three things, in this order:

    1. integrate, exactly like the leaky integrator (forward Euler, step 1):

           v = v + (i[k] - v) / tau

    2. fire if the voltage is *strictly* above the threshold:

           z = 1 if v > threshold else 0

    3. jump (reset) after a spike, with reset voltage ``v_reset = 0``:

           v = (1 - z) * v + z * v_reset

    The voltage starts at ``v = 0`` before the first input. Record
    ``spikes[k] = z`` and ``membrane[k] = v`` *after* the jump, so the
    membrane never exceeds the threshold and is 0 at every spike.

    Parameters
    ----------
    input_data : 1-D sequence of float (list, NumPy array or torch tensor)
        The input current, one value per time step.
    tau : float
        Membrane time constant in time steps (``tau > 0``).
    threshold : float
        Firing threshold ``v_th``.

    Returns
    -------
    spikes : np.ndarray, shape ``(len(input_data),)``, values 0.0 or 1.0
    membrane : np.ndarray, shape ``(len(input_data),)``, float
    """
    input_data = np.asarray(input_data, dtype=float)
    if input_data.ndim != 1:
        raise ValueError(f"input_data must be 1-D, got shape {input_data.shape}")
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    v_reset = 0.0
    spikes = np.zeros(len(input_data))
    membrane = np.zeros(len(input_data))
    v = 0.0
    for k in range(len(input_data)):
        v = v + (input_data[k] - v) / tau
        z = 1.0 if v > threshold else 0.0
        v = (1.0 - z) * v + z * v_reset
        spikes[k] = z
        membrane[k] = v
    return spikes, membrane


def cosine_signal(max_x, samples=100):
    r"""An oscillating input current in [0, 1]: ``(cos(x) + 1) / 2``.

    ``x`` runs over ``samples`` evenly spaced points from 0 to ``max_x``
    (both included), so a larger ``max_x`` squeezes more oscillations into the
    same number of steps: the phase advances by ``max_x / (samples - 1)``
    radians per step, i.e. the frequency is
    ``max_x / (2 * pi * (samples - 1))`` cycles per step. The signal starts at
    its peak value 1 (``cos(0) = 1``).

    Parameters
    ----------
    max_x : float
        Last value of ``x`` (radians).
    samples : int
        Number of time steps.

    Returns
    -------
    signal : np.ndarray, shape ``(samples,)``, values in [0, 1]
    """
    x = np.linspace(0.0, max_x, samples)
    return (np.cos(x) + 1.0) / 2.0


def band_pass(input_data):
    r"""Task 3.1: a band-pass filter for input *events*, built from two LIF neurons.

    A single LIF neuron is a high-pass filter of *event rate*: a train of unit
    input pulses arriving every ``period`` steps makes it spike only when the
    pulses come often enough, because between sparse pulses the leak forgets.
    The cutoff (the longest period that still makes it spike) depends on its
    ``tau`` and ``threshold``.

    Task: combine two such neurons, calling ``leaky_integrate_and_fire`` twice,
    into a neuron that spikes for pulse trains in a *middle* band of rates and
    stays silent both for slow (sparse) and for fast (dense) trains. Hint: one
    neuron should have a low cutoff (it passes every rate above a low one),
    the other a high cutoff (it passes only the dense trains); let the second
    one stop the first.

    It is checked on trains of 500 steps of unit pulses (value 1 at steps 0, P,
    2P, ..., 0 elsewhere) with periods P = 30 (slow: no spikes), P = 8 (middle:
    spikes) and P = 2 (fast: no spikes).

    Parameters
    ----------
    input_data : 1-D sequence of float
        The input current (e.g. a pulse train), one value per time step.

    Returns
    -------
    spikes : np.ndarray, shape ``(len(input_data),)``, values 0.0 or 1.0
    """
    # neuron A, low cutoff: a lone pulse gives 1/20 = 0.05 < 0.1; periods <= 13 pass
    tau_low_cutoff, threshold_low_cutoff = 20.0, 0.1
    # neuron B, high cutoff: a lone pulse gives 1/4 = 0.25 < 0.35; periods <= 4 pass
    tau_high_cutoff, threshold_high_cutoff = 4.0, 0.35
    # inhibition: a spike of B pushes A's membrane below 0 (needs > 1 + 0.1 * 19)
    inhibition = 5.0
    input_data = np.asarray(input_data, dtype=float)
    fast_spikes, _ = leaky_integrate_and_fire(input_data, tau_high_cutoff, threshold_high_cutoff)
    fast_spikes = np.asarray(fast_spikes, dtype=float)
    spikes, _ = leaky_integrate_and_fire(input_data - inhibition * fast_spikes, tau_low_cutoff, threshold_low_cutoff)
    return spikes


def li_time_surface(raster, tau):
    r"""Task 4.1: leaky-integrator time surface of a spike raster.

    Run a leaky integrator (``leaky_integrator``, membrane starting at 0)
    along the time axis of every channel of the raster, independently:

        surface[c, k] = surface[c, k-1] + (raster[c, k] - surface[c, k-1]) / tau

    Each pixel then shows how much recent activity its channel had, with older
    spikes weighing less (by a factor ``1 - 1/tau`` per step).

    Parameters
    ----------
    raster : 2-D array-like, shape ``(channels, time)``
        Spike raster (e.g. 0/1 counts per time bin), channels on the first axis.
    tau : float
        Time constant in time steps (bins).

    Returns
    -------
    surface : np.ndarray, shape ``(channels, time)``, float
    """
    raster = np.asarray(raster, dtype=float)
    if raster.ndim != 2:
        raise ValueError(f"raster must be 2-D (channels, time), got shape {raster.shape}")
    surface = np.zeros(raster.shape)
    for channel in range(raster.shape[0]):
        surface[channel] = leaky_integrator(raster[channel], tau)
    return surface


def lif_time_surface(raster, tau, threshold):
    r"""Task 4.2: LIF time surface of a spike raster.

    Run a leaky integrate-and-fire neuron (``leaky_integrate_and_fire``:
    membrane starting at 0, strict threshold, reset to 0) along the time axis
    of every channel of the raster, independently. A channel's neuron spikes
    where its channel was busy recently enough to push the membrane over the
    threshold.

    Parameters
    ----------
    raster : 2-D array-like, shape ``(channels, time)``
        Spike raster, channels on the first axis.
    tau : float
        Membrane time constant in time steps (bins).
    threshold : float
        Firing threshold.

    Returns
    -------
    spikes : np.ndarray, shape ``(channels, time)``, values 0.0 or 1.0
    membrane : np.ndarray, shape ``(channels, time)``, float (after the reset)
    """
    raster = np.asarray(raster, dtype=float)
    if raster.ndim != 2:
        raise ValueError(f"raster must be 2-D (channels, time), got shape {raster.shape}")
    spikes = np.zeros(raster.shape)
    membrane = np.zeros(raster.shape)
    for channel in range(raster.shape[0]):
        spikes[channel], membrane[channel] = leaky_integrate_and_fire(raster[channel], tau, threshold)
    return spikes, membrane
