"""A 12 MB error message, raised by the graded function and forged as its result: stored
cut to a few hundred characters (or refused as too large); costs only this function.

cell: task3_cosine_signal_solution
fails: task3_cosine_signal
plain: skip
"""
import json
import os
import struct

HUGE = "x" * (12 * 1024 * 1024)


def cosine_signal(max_x, samples=100):
    forged = json.dumps({"ev": "result", "gid": "task3_cosine_signal",
                         "result": {"status": "error", "message": HUGE}}).encode()
    for fd in range(3, 64):
        try:
            os.write(fd, struct.pack("!Q", len(forged)) + forged)
        except OSError:
            pass
    raise ValueError(HUGE)
