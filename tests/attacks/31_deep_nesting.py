"""A result nested 100,000 deep: returned, and forged as a framed message on every open
file descriptor. Refused before any recursive code touches it; costs only this function.

cell: task3_cosine_signal_solution
fails: task3_cosine_signal
plain: skip
"""
import json
import os
import struct


def cosine_signal(max_x, samples=100):
    deep = []
    for _ in range(100_000):
        deep = [deep]
    raw = b"[" * 100_000 + b"]" * 100_000
    forged = (b'{"ev": "result", "gid": "task3_cosine_signal", "result": {"status": "ok", '
              b'"outputs": [{"value": ' + raw + b'}]}}')
    for fd in range(3, 64):
        try:
            os.write(fd, struct.pack("!Q", len(forged)) + forged)
        except OSError:
            pass
    return deep
