"""Messages between the processes of one sandbox: length-prefixed JSON frames, read within
deadlines and refused before parsing when too large or nested too deeply; and short texts
(what a student's error may cost in bytes)."""

import json
import os
import re
import select
import struct
import time

_FRAME = struct.Struct("!Q")
#: longest error message kept from student code (the rest is cut before it is stored)
MAX_MESSAGE = 400
#: deepest nesting accepted in any message from student-uid processes (results are at most
#: a tuple of 2-D arrays: 4 levels inside the envelope of 4)
MAX_DEPTH = 12
#: largest event message (everything except a check's result)
MAX_EVENT = 64 * 1024
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


def short(text, limit=MAX_MESSAGE):
    """``text`` cut to ``limit`` characters (marked when cut)."""
    text = text if isinstance(text, str) else str(text)
    return text if len(text) <= limit else text[:limit] + " ... (cut)"


def write_all(fd, data):
    """Write every byte of ``data`` to ``fd`` (a pipe takes it in pieces)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def write_frame(fd, obj):
    """One framed message: its length, then its JSON."""
    data = json.dumps(obj).encode()
    write_all(fd, _FRAME.pack(len(data)) + data)


def loads_bounded(data, max_depth=MAX_DEPTH):
    """JSON from an untrusted process, refused (ValueError) if nested deeper than
    ``max_depth``: the depth is counted on the bytes before any recursive parser runs."""
    import numpy as np

    skeleton = _STRING.sub(b'""', bytes(data))
    arr = np.frombuffer(skeleton, dtype=np.uint8)
    if arr.size:
        step = ((arr == 91) | (arr == 123)).astype(np.int32) - ((arr == 93) | (arr == 125))
        if int(np.cumsum(step).max()) > max_depth:
            raise ValueError("message nested too deeply")
    return json.loads(bytes(data))


class FrameReader:
    """Framed messages from a pipe, read within deadlines; ``proc_fd`` (a pidfd of the
    writer) ends the wait when the writer dies even if a descendant keeps the pipe open."""

    def __init__(self, fd, proc_fd=None):
        self.fd, self.proc_fd, self.buf, self.dead = fd, proc_fd, bytearray(), False
        self.watch = True  # False: wait for the pipe itself (a check may outlive the loader)

    def _frame(self, cap):
        if len(self.buf) < _FRAME.size:
            return None
        need = _FRAME.unpack(bytes(self.buf[: _FRAME.size]))[0]
        if need > cap:
            raise OverflowError
        if len(self.buf) < _FRAME.size + need:
            return None
        data = bytes(self.buf[_FRAME.size : _FRAME.size + need])
        del self.buf[: _FRAME.size + need]
        return loads_bounded(data)

    def next(self, deadline, cap):
        """The next message; raises TimeoutError, EOFError, OverflowError (larger than
        ``cap``) or ValueError (unreadable)."""
        while True:
            msg = self._frame(cap)
            if msg is not None:
                return msg
            if self.dead:
                raise EOFError
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            fds = [self.fd] + ([self.proc_fd] if self.proc_fd is not None and self.watch else [])
            ready, _, _ = select.select(fds, [], [], min(left, 1.0))
            if self.fd in ready:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    self.dead = True
                self.buf += chunk
            elif self.proc_fd in ready:  # writer gone: take what is already in the pipe
                self.buf += _read_available(self.fd)
                self.dead = True


def _read_available(fd):
    """Whatever is already in a pipe, without waiting for more."""
    got = bytearray()
    os.set_blocking(fd, False)
    try:
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            got += chunk
    except BlockingIOError:
        pass
    os.set_blocking(fd, True)
    return bytes(got)


def drain(fd):
    """Discard whatever is already in a pipe (written there before its check began)."""
    _read_available(fd)
