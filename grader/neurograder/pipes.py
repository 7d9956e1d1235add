"""Talking to a running sandbox from the grader: its job in, its result out (within a byte
cap and a wall-clock budget), and its end (:mod:`neurograder.sandbox` uses both)."""

from __future__ import annotations

import os
import signal
import subprocess
import time


def communicate(proc, stdin_data, rfd, budget, cap):
    """Feed stdin, read the result pipe up to ``cap`` bytes, within ``budget`` seconds."""
    import selectors

    sel = selectors.DefaultSelector()
    out = bytearray()
    errbuf = bytearray()
    os.set_blocking(proc.stdin.fileno(), False)
    pending = memoryview(stdin_data)
    sel.register(proc.stdin, selectors.EVENT_WRITE)
    sel.register(rfd, selectors.EVENT_READ)
    sel.register(proc.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + budget
    open_reads = 2
    while open_reads:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, "sandbox exceeded its wall-clock budget of %.0f s" % budget
        for key, _ in sel.select(min(left, 1.0)):
            if key.fileobj is proc.stdin:
                try:
                    n = os.write(proc.stdin.fileno(), pending[: 1 << 16])
                except BrokenPipeError:
                    n = len(pending)
                pending = pending[n:]
                if not pending:
                    sel.unregister(proc.stdin)
                    proc.stdin.close()
            elif key.fileobj is rfd:
                chunk = os.read(rfd, 1 << 20)
                if not chunk:
                    sel.unregister(rfd)
                    open_reads -= 1
                out += chunk
                if len(out) > cap:
                    return None, "sandbox result larger than %d bytes" % cap
            else:
                chunk = os.read(proc.stderr.fileno(), 1 << 16)
                if not chunk:
                    sel.unregister(proc.stderr)
                    open_reads -= 1
                errbuf = (errbuf + chunk)[-8192:]
    err = errbuf.decode(errors="replace")
    if not out:  # (a sandbox that answered ends later, in kill_tree: its exit says nothing)
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        return None, "sandbox failed (exit %s): %s" % (proc.returncode, err[-1000:])
    return bytes(out), err


def kill_tree(proc):
    """Kill the sandbox: its session (fallback) or bwrap, whose death ends the PID namespace."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    for stream in (proc.stdin, proc.stderr):
        if stream and not stream.closed:
            try:
                stream.close()
            except OSError:
                pass
