"""An endless loop that swallows KeyboardInterrupt (the kernel's timeout interrupt).

cell: task3_cosine_signal_solution
fails: task3_cosine_signal
plain: skip
"""
import time


def cosine_signal(max_x, samples=100):
    while True:
        try:
            time.sleep(0.05)
        except KeyboardInterrupt:
            pass
