"""A correct LIF neuron followed by os._exit(): the process dies while the cell runs; the
cell cut down to its definitions still defines the neuron, so it keeps its points.

cell: task2_lif_solution
fails:
plain: robbed
"""
import os


def leaky_integrate_and_fire(input_data, tau, threshold):
    x = np.asarray(input_data, dtype=float)
    spikes, membrane, v = np.zeros(len(x)), np.zeros(len(x)), 0.0
    for k in range(len(x)):
        v = v + (x[k] - v) / tau
        z = 1.0 if v > threshold else 0.0
        v = (1.0 - z) * v
        spikes[k], membrane[k] = z, v
    return spikes, membrane


os._exit(0)
