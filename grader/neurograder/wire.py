"""What crosses the boundary between student code and the grader.

Both graders (the plain in-kernel :func:`neurograder.checks.run_check` and the
sandboxed autograder) use these two functions, so a student's function sees
exactly the same arguments, and its result is reduced to exactly the same
plain data, whichever grader runs it.  This module must stay free of any
reference code: the sandbox imports it next to untrusted code.
"""

from __future__ import annotations

import numpy as np


def prepare_args(case):
    """Turn one JSON-able case into the arguments a student's function gets.

    Every list becomes a float64 NumPy array (what the notebook hands the
    functions itself); numbers stay Python numbers.
    """
    return tuple(np.asarray(a, dtype=float) if isinstance(a, list) else a for a in case)


def to_plain(value, _depth=0):
    """Reduce a student's return value to nested lists of Python floats.

    A tuple or list holding arrays (``(spikes, membrane)``) becomes a list of
    reduced items; anything else, arrays, torch tensors, lists of numbers and
    numbers, goes through ``np.asarray(x, dtype=float)``, the conversion the
    course contract names.  Raises TypeError/ValueError for anything that is
    not array-like; the grader turns that into a clear message.
    """
    if _depth > 3:
        raise ValueError("output is nested too deeply")
    if isinstance(value, (tuple, list)) and any(np.ndim(_tensor_free(v)) > 0 for v in value):
        return [to_plain(v, _depth + 1) for v in value]
    arr = np.asarray(_tensor_free(value), dtype=float)
    # a plain float64 copy: hostile ndarray subclasses and __array__ tricks end here
    return np.array(arr, dtype=np.float64, copy=True).view(np.ndarray).tolist()


def _tensor_free(value):
    """A torch tensor as a NumPy array; anything else unchanged."""
    if hasattr(value, "detach") and hasattr(value, "cpu") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()
    return value
