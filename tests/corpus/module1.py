"""Plausible student submissions of module1: wrong ones and correct variants.

Each entry replaces the solution cells named in ``cells`` (by grade_id of the
solution cell); the other solution cells keep the reference solution. ``fails``
lists the graded cells (grade_ids of visible and hidden tests) that must lose
their points; every other graded cell must keep them. The grading tests run
each entry through the notebook's own test cells (and a few through the real
nbgrader CLI). ``regraded`` lists the cells of ``fails`` that lose their points
only because they call the wrong earlier function: the sandboxed grader grades
them again with the reference version of that function, and they keep their
points there (tests/test_grader_independent.py).

(Over 300 lines: a corpus, data written as code; one entry per mistake, read as a whole.)
"""

LI = "task1_leaky_integrator_solution"
LIF = "task2_lif_solution"
LI_S = "task41_li_surface_solution"
LIF_S = "task42_lif_surface_solution"
T1 = {"task1_leaky_integrator_visible", "task1_leaky_integrator_hidden"}
T2 = {"task2_lif_visible", "task2_lif_hidden"}
T41 = {"task41_li_surface_visible", "task41_li_surface_hidden"}
T42 = {"task42_lif_surface_visible", "task42_lif_surface_hidden"}
#: the band-pass of Task 3.1 is built from the student's LIF, so some LIF mistakes break it too
BAND = {"task31_band_pass"}

WRONG = {
    # ---- Task 0
    "input_data_999_ones": dict(cells={"task0_input_data_solution": "input_data = np.ones(999)"},
                                fails={"task0_input_data"}),
    "input_data_zeros": dict(cells={"task0_input_data_solution": "input_data = np.zeros(1000)"},
                             fails={"task0_input_data"}),
    "input_data_2d": dict(cells={"task0_input_data_solution": "input_data = np.ones((1, 1000))"},
                          fails={"task0_input_data"}),
    # ---- Task 1: leaky integrator (the surfaces of 4.1 use it, so they fail too)
    "li_off_by_one_records_before_update": dict(cells={LI: """
def leaky_integrator(input_data, tau):
    out, v = [], 0.0
    for i in input_data:
        out.append(v)
        v = v + (i - v) / tau
    return np.array(out)
"""}, fails=T1 | T41, regraded=T41),
    "li_output_includes_initial_zero": dict(cells={LI: """
def leaky_integrator(input_data, tau):
    out = [0.0]
    for i in input_data:
        out.append(out[-1] + (i - out[-1]) / tau)
    return np.array(out)
"""}, fails=T1 | T41, regraded=T41),
    "li_tau_as_multiplier": dict(cells={LI: """
def leaky_integrator(input_data, tau):
    out, v = [], 0.0
    for i in input_data:
        v = v + (i - v) * tau
        out.append(v)
    return np.array(out)
"""}, fails=T1 | T41, regraded=T41),
    "li_tau_squared_step": dict(cells={LI: """
def leaky_integrator(input_data, tau):
    out, v = [], 0.0
    for i in input_data:
        v = v + (i - v) / tau ** 2
        out.append(v)
    return np.array(out)
"""}, fails=T1 | T41, regraded=T41),
    "li_state_not_carried": dict(cells={LI: """
def leaky_integrator(input_data, tau):
    return np.array([0.0 + (i - 0.0) / tau for i in input_data])
"""}, fails=T1 | T41, regraded=T41),
    "li_integer_division": dict(cells={LI: """
def leaky_integrator(input_data, tau):
    out, v = [], 0.0
    for i in input_data:
        v = v + (i - v) // tau
        out.append(v)
    return np.array(out)
"""}, fails=T1 | T41, regraded=T41),
    "li_no_leak": dict(cells={LI: """
def leaky_integrator(input_data, tau):
    out, v = [], 0.0
    for i in input_data:
        v = v + i / tau
        out.append(v)
    return np.array(out)
"""}, fails=T1 | T41, regraded=T41),
    "li_starts_at_first_input": dict(cells={LI: """
def leaky_integrator(input_data, tau):
    out, v = [], float(input_data[0])
    for i in input_data:
        v = v + (i - v) / tau
        out.append(v)
    return np.array(out)
"""}, fails=T1 | T41, regraded=T41),
    # ---- Task 2: LIF (the surfaces of 4.2 use it)
    "lif_no_reset": dict(cells={LIF: """
def leaky_integrate_and_fire(input_data, tau, threshold):
    spikes, membrane, v = [], [], 0.0
    for i in input_data:
        v = v + (i - v) / tau
        spikes.append(1.0 if v > threshold else 0.0)
        membrane.append(v)
    return np.array(spikes), np.array(membrane)
"""}, fails=T2 | T42, regraded=T42),
    "lif_reset_to_one_as_the_seed_typo": dict(cells={LIF: """
def leaky_integrate_and_fire(input_data, tau, threshold):
    spikes, membrane, v = [], [], 0.0
    for i in input_data:
        v = v + (i - v) / tau
        z = 1.0 if v > threshold else 0.0
        v = (1 - z) * v + z
        spikes.append(z)
        membrane.append(v)
    return np.array(spikes), np.array(membrane)
"""}, fails=T2 | T42, regraded=T42),
    "lif_reset_to_threshold": dict(cells={LIF: """
def leaky_integrate_and_fire(input_data, tau, threshold):
    spikes, membrane, v = [], [], 0.0
    for i in input_data:
        v = v + (i - v) / tau
        z = 1.0 if v > threshold else 0.0
        v = (1 - z) * v + z * threshold
        spikes.append(z)
        membrane.append(v)
    return np.array(spikes), np.array(membrane)
"""}, fails=T2 | T42, regraded=T42),
    "lif_records_membrane_before_reset": dict(cells={LIF: """
def leaky_integrate_and_fire(input_data, tau, threshold):
    spikes, membrane, v = [], [], 0.0
    for i in input_data:
        v = v + (i - v) / tau
        z = 1.0 if v > threshold else 0.0
        membrane.append(v)
        v = (1 - z) * v
        spikes.append(z)
    return np.array(spikes), np.array(membrane)
"""}, fails=T2 | T42, regraded=T42),
    "lif_compares_before_update": dict(cells={LIF: """
def leaky_integrate_and_fire(input_data, tau, threshold):
    spikes, membrane, v = [], [], 0.0
    for i in input_data:
        z = 1.0 if v > threshold else 0.0
        v = (1 - z) * v
        v = v + (i - v) / tau
        spikes.append(z)
        membrane.append(v)
    return np.array(spikes), np.array(membrane)
"""}, fails=T2 | T42, regraded=T42),
    "lif_state_not_carried": dict(cells={LIF: """
def leaky_integrate_and_fire(input_data, tau, threshold):
    v = np.asarray(input_data, dtype=float) / tau
    z = (v > threshold).astype(float)
    return z, (1 - z) * v
"""}, fails=T2 | T42 | BAND, regraded=T42 | BAND),
    "lif_returns_spikes_only": dict(cells={LIF: """
def leaky_integrate_and_fire(input_data, tau, threshold):
    spikes, v = [], 0.0
    for i in input_data:
        v = v + (i - v) / tau
        z = 1.0 if v > threshold else 0.0
        v = (1 - z) * v
        spikes.append(z)
    return np.array(spikes)
"""}, fails=T2 | T42 | BAND, regraded=T42 | BAND),
    "lif_outputs_swapped": dict(cells={LIF: """
def leaky_integrate_and_fire(input_data, tau, threshold):
    spikes, membrane, v = [], [], 0.0
    for i in input_data:
        v = v + (i - v) / tau
        z = 1.0 if v > threshold else 0.0
        v = (1 - z) * v
        spikes.append(z)
        membrane.append(v)
    return np.array(membrane), np.array(spikes)
"""}, fails=T2 | T42 | BAND, regraded=T42 | BAND),
    # ---- Task 3
    "cosine_without_offset": dict(cells={"task3_cosine_signal_solution": """
def cosine_signal(max_x, samples=100):
    return np.cos(np.linspace(0, max_x, samples))
"""}, fails={"task3_cosine_signal"}),
    "cosine_endpoint_excluded": dict(cells={"task3_cosine_signal_solution": """
def cosine_signal(max_x, samples=100):
    return (np.cos(np.linspace(0, max_x, samples, endpoint=False)) + 1) / 2
"""}, fails={"task3_cosine_signal"}),
    "max_x_values_swapped": dict(cells={"task3_max_x_spiking_solution": "max_x_spiking = np.pi * 30",
                                        "task3_max_x_silent_solution": "max_x_silent = np.pi * 5"},
                                 fails={"task3_max_x_spiking", "task3_max_x_silent"}),
    # ---- Task 3.1
    "band_pass_is_a_single_high_pass": dict(cells={"task31_band_pass_solution": """
def band_pass(input_data):
    spikes, _ = leaky_integrate_and_fire(input_data, 20.0, 0.1)
    return spikes
"""}, fails={"task31_band_pass"}),
    # ---- Task 4.1 / 4.2
    "li_surface_transposed": dict(cells={LI_S: """
def li_time_surface(raster, tau):
    raster = np.asarray(raster, dtype=float)
    return np.stack([leaky_integrator(row, tau) for row in raster]).T
"""}, fails=T41),
    "li_surface_along_channels": dict(cells={LI_S: """
def li_time_surface(raster, tau):
    raster = np.asarray(raster, dtype=float)
    return np.stack([leaky_integrator(col, tau) for col in raster.T], axis=1)
"""}, fails=T41),
    "li_surface_state_leaks_between_channels": dict(cells={LI_S: """
def li_time_surface(raster, tau):
    raster = np.asarray(raster, dtype=float)
    return leaky_integrator(raster.reshape(-1), tau).reshape(raster.shape)
"""}, fails=T41),
    "lif_surface_membrane_only": dict(cells={LIF_S: """
def lif_time_surface(raster, tau, threshold):
    raster = np.asarray(raster, dtype=float)
    return np.stack([leaky_integrate_and_fire(row, tau, threshold)[1] for row in raster])
"""}, fails=T42),
    "lif_surface_swapped_axes": dict(cells={LIF_S: """
def lif_time_surface(raster, tau, threshold):
    raster = np.asarray(raster, dtype=float)
    pairs = [leaky_integrate_and_fire(col, tau, threshold) for col in raster.T]
    return np.stack([p[0] for p in pairs], axis=1), np.stack([p[1] for p in pairs], axis=1)
"""}, fails=T42),
}

CORRECT = {
    "vectorised_numpy_over_channels": {
        LI: """
def leaky_integrator(input_data, tau):
    x = np.asarray(input_data, dtype=float)
    out = np.empty_like(x)
    v = np.zeros(x.shape[:-1])
    for k in range(x.shape[-1]):
        v = v + (x[..., k] - v) / tau
        out[..., k] = v
    return out
""",
        LI_S: """
def li_time_surface(raster, tau):
    return leaky_integrator(np.asarray(raster, dtype=float), tau)
""",
    },
    "scipy_lfilter": {
        LI: """
def leaky_integrator(input_data, tau):
    from scipy.signal import lfilter
    return lfilter([1 / tau], [1, -(1 - 1 / tau)], np.asarray(input_data, dtype=float))
""",
    },
    "torch_tensors": {
        LI: """
import torch  # the notebook imports no torch: a student who uses it imports it

def leaky_integrator(input_data, tau):
    x = torch.as_tensor(input_data, dtype=torch.float64)
    out = torch.zeros_like(x)
    v = torch.tensor(0.0, dtype=torch.float64)
    for k in range(len(x)):
        v = v + (x[k] - v) / tau
        out[k] = v
    return out
""",
        LIF: """
import torch  # the notebook imports no torch: a student who uses it imports it

def leaky_integrate_and_fire(input_data, tau, threshold):
    x = torch.as_tensor(input_data, dtype=torch.float64)
    spikes, membrane = torch.zeros_like(x), torch.zeros_like(x)
    v = torch.tensor(0.0, dtype=torch.float64)
    for k in range(len(x)):
        v = v + (x[k] - v) / tau
        z = (v > threshold).double()
        v = (1 - z) * v
        spikes[k], membrane[k] = z, v
    return spikes, membrane
""",
        LIF_S: """
import torch  # the notebook imports no torch: a student who uses it imports it

def lif_time_surface(raster, tau, threshold):
    pairs = [leaky_integrate_and_fire(torch.as_tensor(row), tau, threshold) for row in raster]
    return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])
""",
    },
    "plain_python_lists": {
        LI: """
def leaky_integrator(input_data, tau):
    out, v = [], 0
    for i in list(input_data):
        v += (i - v) / tau
        out.append(v)
    return out
""",
        LIF: """
def leaky_integrate_and_fire(input_data, tau, threshold):
    output, membrane, v = [], [], 0
    for i in list(input_data):
        v += (i - v) / tau
        if v > threshold:
            output.append(1)
            v = 0
        else:
            output.append(0)
        membrane.append(v)
    return output, membrane
""",
        LI_S: """
def li_time_surface(raster, tau):
    return [leaky_integrator(row, tau) for row in raster]
""",
    },
    "float32": {
        LI: """
def leaky_integrator(input_data, tau):
    x = np.asarray(input_data, dtype=np.float32)
    out = np.zeros_like(x)
    v = np.float32(0)
    for k in range(len(x)):
        v = v + (x[k] - v) / np.float32(tau)
        out[k] = v
    return out
""",
        LIF: """
def leaky_integrate_and_fire(input_data, tau, threshold):
    x = np.asarray(input_data, dtype=np.float32)
    spikes, membrane = np.zeros_like(x), np.zeros_like(x)
    v = np.float32(0)
    for k in range(len(x)):
        v = v + (x[k] - v) / np.float32(tau)
        z = np.float32(v > threshold)
        v = (1 - z) * v
        spikes[k], membrane[k] = z, v
    return spikes, membrane
""",
    },
    "greater_or_equal_threshold": {
        LIF: """
def leaky_integrate_and_fire(input_data, tau, threshold):
    spikes, membrane, v = [], [], 0.0
    for i in input_data:
        v = v + (i - v) / tau
        z = 1.0 if v >= threshold else 0.0
        v = (1 - z) * v
        spikes.append(z)
        membrane.append(v)
    return np.array(spikes), np.array(membrane)
""",
    },
    "boolean_and_int_spikes": {
        LIF: """
def leaky_integrate_and_fire(input_data, tau, threshold):
    x = np.asarray(input_data, dtype=float)
    spikes = np.zeros(len(x), dtype=bool)
    membrane = np.zeros(len(x))
    v = 0.0
    for k, i in enumerate(x):
        v += (i - v) / tau
        spikes[k] = v > threshold
        if spikes[k]:
            v = 0.0
        membrane[k] = v
    return spikes, membrane
""",
        LIF_S: """
def lif_time_surface(raster, tau, threshold):
    raster = np.asarray(raster, dtype=float)
    spikes = np.zeros(raster.shape, dtype=np.int64)
    membrane = np.zeros(raster.shape)
    for c, row in enumerate(raster):
        s, m = leaky_integrate_and_fire(row, tau, threshold)
        spikes[c], membrane[c] = s, m
    return spikes, membrane
""",
    },
    "vectorised_lif_surface_and_other_answers": {
        LIF_S: """
def lif_time_surface(raster, tau, threshold):
    x = np.asarray(raster, dtype=float)
    v = np.zeros(x.shape[0])
    spikes, membrane = np.zeros_like(x), np.zeros_like(x)
    for k in range(x.shape[1]):
        v = v + (x[:, k] - v) / tau
        z = v > threshold
        v = np.where(z, 0.0, v)
        spikes[:, k], membrane[:, k] = z, v
    return spikes, membrane
""",
        "task0_input_data_solution": "input_data = [1] * 5000",
        "task3_max_x_spiking_solution": "max_x_spiking = 3.0",
        "task3_max_x_silent_solution": "max_x_silent = 150",
        "task3_cosine_signal_solution": """
def cosine_signal(max_x, samples=100):
    return [(np.cos(x) + 1) / 2 for x in np.linspace(0, max_x, samples)]
""",
    },
}
