"""100 MB of output from a cell that also defines a correct function (keeps its points).

cell: task1_leaky_integrator_solution
fails:
plain: skip
"""
import sys


def leaky_integrator(input_data, tau):
    v, out = 0.0, []
    for i in np.asarray(input_data, dtype=float):
        v = v + (i - v) / tau
        out.append(v)
    return np.array(out)


for _ in range(100):
    sys.stdout.write("x" * (1024 * 1024))
