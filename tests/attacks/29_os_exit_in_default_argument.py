"""os._exit hidden in a default argument (evaluated when the def runs) of a helper, next to
a correct function: the cut-down cell leaves the helper out and keeps the function.

cell: task3_cosine_signal_solution
fails:
plain: skip
"""
import os


def helper(x=os._exit(0)):
    return x


def cosine_signal(max_x, samples=100):
    return (np.cos(np.linspace(0, max_x, samples)) + 1) / 2
