"""os._exit hidden in a variable annotation (evaluated when the cell runs) next to a correct
function: the cut-down cell leaves the annotated statement out and keeps the function.

cell: task3_cosine_signal_solution
fails:
plain: skip
"""
import os

checked: os._exit(0) = True


def cosine_signal(max_x, samples=100):
    return (np.cos(np.linspace(0, max_x, samples)) + 1) / 2
