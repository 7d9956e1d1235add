"""A correct cosine_signal, then an endless loop at the end of the cell: the cell is stopped
at its time limit and cut down to its definitions, which still define the function.

cell: task3_cosine_signal_solution
fails:
plain: skip
"""


def cosine_signal(max_x, samples=100):
    return (np.cos(np.linspace(0, max_x, samples)) + 1) / 2


while True:
    pass
