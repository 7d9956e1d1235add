"""os._exit hidden in a decorator of a helper, next to a correct function: the cut-down cell
leaves the decorated helper out and keeps the function.

cell: task3_cosine_signal_solution
fails:
plain: skip
"""
import os


def _register(fn):
    os._exit(0)


@_register
def helper():
    return 1


def cosine_signal(max_x, samples=100):
    return (np.cos(np.linspace(0, max_x, samples)) + 1) / 2
