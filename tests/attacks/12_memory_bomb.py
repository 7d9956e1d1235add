"""Allocate memory until something breaks.

cell: task2_lif_solution
fails: task2_lif_visible task2_lif_hidden
plain: skip
"""


def leaky_integrate_and_fire(input_data, tau, threshold):
    hoard = []
    while True:
        hoard.append(bytearray(64 * 1024 * 1024))
