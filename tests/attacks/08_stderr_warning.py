"""A correct leaky integrator that prints a warning on stderr: must KEEP its points.

cell: task1_leaky_integrator_solution
fails:
plain: robbed
"""
import sys
import warnings


def leaky_integrator(input_data, tau):
    warnings.warn("this is a perfectly harmless warning", RuntimeWarning)
    print("debug: running leaky_integrator", file=sys.stderr)
    v, out = 0.0, []
    for i in np.asarray(input_data, dtype=float):
        v = v + (i - v) / tau
        out.append(v)
    return np.array(out)
