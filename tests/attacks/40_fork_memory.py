"""Fork 7 children that each fill 800 MB (under the per-process limit), all at once.

cell: task3_cosine_signal_solution
fails: task3_cosine_signal
plain: skip
"""
import os


def cosine_signal(max_x, samples=100):
    kids = []
    for _ in range(7):
        pid = os.fork()
        if pid == 0:
            block = bytearray(800 * 2**20)
            for i in range(0, len(block), 4096):
                block[i] = 1
            while True:
                pass
        kids.append(pid)
    for pid in kids:
        os.waitpid(pid, 0)
    return (np.cos(np.linspace(0, max_x, samples)) + 1) / 2
