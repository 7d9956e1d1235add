"""sys.exit() inside the graded function.

cell: task3_cosine_signal_solution
fails: task3_cosine_signal
plain: same
"""
import sys


def cosine_signal(max_x, samples=100):
    sys.exit(0)
