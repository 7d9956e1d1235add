"""The Task 0 cell forks a process that writes garbage frames on every open file descriptor
(the grader's event pipe among them) while the cell is still running: only that cell is cut
down (its computed input_data is lost); the garbage never reaches another check.

cell: task0_input_data_solution
fails: task0_input_data
plain: skip
"""
import os
import struct
import time

input_data = np.ones(1000)

if os.fork() == 0:
    junk = struct.pack("!Q", 40) + b"not json at all, not json at all, not js"
    end = time.monotonic() + 60
    while time.monotonic() < end:
        for fd in range(3, 64):
            try:
                os.write(fd, junk)
            except OSError:
                pass
    os._exit(0)
time.sleep(1)
