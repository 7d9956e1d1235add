"""Kill the process that runs the grader (the kernel's parent), then answer correctly.

cell: task3_cosine_signal_solution
fails:
plain: stopped
"""
import os
import signal


def cosine_signal(max_x, samples=100):
    try:
        os.kill(os.getppid(), signal.SIGKILL)
    except Exception:
        pass
    return (np.cos(np.linspace(0, max_x, samples)) + 1) / 2
