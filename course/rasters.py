"""Spike rasters for the surface sliders: the shipped spoken digit and size reduction."""

from __future__ import annotations

import numpy as np


def _loader():
    """The module's data loader (its manifest's ``data``, e.g. ``shd_data.py``)."""
    from course.manifest import module

    return module().code("data")


def sample_raster(index: int = 0, bin_width: float = 1e-3) -> np.ndarray:
    """The spiking-digit raster (700, T) of the shipped sample, through the module's data loader
    (which names the missing file or package if the sample cannot be read)."""
    return np.asarray(_loader().load_raster(index=index, bin_width=bin_width), dtype=np.float32)


def check_raster(raster) -> np.ndarray:
    """A finite (channels, time) float32 array from a NumPy array, a nested list or a tensor."""
    if hasattr(raster, "detach"):  # a torch tensor (torch itself is optional)
        raster = raster.detach().cpu().numpy()
    r = np.asarray(raster, dtype=np.float32)
    if r.ndim != 2 or min(r.shape) < 2:
        raise ValueError(f"raster must be a (channels, time) array, got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("raster contains NaN or infinite values")
    return r


def reduce_blocks(a: np.ndarray, shape: tuple, how: str = "mean") -> np.ndarray:
    """Shrink a (channels, time) array to at most ``shape`` by whole-block mean or max
    (block sizes ceil(n / target); the ragged edge is padded with edge values/zeros)."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"expected a (channels, time) array, got shape {a.shape}")
    out = a
    for axis, target in enumerate(shape):
        n = out.shape[axis]
        f = -(-n // target)  # ceil
        if f <= 1:
            continue
        pad = (-n) % f
        if pad:
            widths = [(0, 0), (0, 0)]
            widths[axis] = (0, pad)
            out = np.pad(out, widths, mode="edge" if how == "mean" else "constant")
        new = list(out.shape)
        new[axis] = out.shape[axis] // f
        new.insert(axis + 1, f)
        out = out.reshape(new)
        out = out.mean(axis=axis + 1) if how == "mean" else out.max(axis=axis + 1)
    return out
