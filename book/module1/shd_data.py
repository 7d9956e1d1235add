"""Read Spiking Heidelberg Digits (SHD) files and bin one sample into a dense raster.

One self-contained module (numpy + h5py; torch only if you ask for a tensor). It reads
the sample shipped with the course (``DEFAULT_SAMPLE``) and the real ``shd_train.h5`` /
``shd_test.h5`` (CC BY 4.0, Cramer et al. 2022) if you have downloaded them.

The SHD layout: ``spikes/times`` (one variable-length float16 array of seconds per
sample), ``spikes/units`` (same length, channels 0..699, channel 0 = highest
frequency), ``labels`` (one integer per sample) and ``extra/keys`` (the 20 word names).

    >>> from shd_data import load_raster, read_sample
    >>> raster = load_raster()             # (700, T) float32 spike counts, 1 ms bins
    >>> times, units, label, word = read_sample(DEFAULT_SAMPLE, 0)
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path

import h5py
import numpy as np

__all__ = [
    "N_CHANNELS",
    "DEFAULT_SAMPLE",
    "read_sample",
    "load_raster",
    "ShdDataError",
    "ShdFileNotFoundError",
    "ShdFormatError",
    "ShdIndexError",
    "ShdValueError",
]

#: cochlear channels in SHD; channel 0 is the highest frequency
N_CHANNELS = 700
#: the sample shipped next to this module
DEFAULT_SAMPLE = Path(__file__).with_name("data") / "shd_sample.h5"
#: refuse rasters larger than this (bytes of float32), to fail clearly instead of swapping
MAX_RASTER_BYTES = 2 * 1024**3


class ShdDataError(ValueError):
    """Base class: the file or a request cannot be turned into an SHD raster."""


class ShdFileNotFoundError(ShdDataError, FileNotFoundError):
    """The file does not exist."""


class ShdFormatError(ShdDataError):
    """The file is not HDF5, or lacks the SHD layout (spikes/times, spikes/units, labels)."""


class ShdIndexError(ShdDataError, IndexError):
    """The sample index is not in 0..n_samples-1."""


class ShdValueError(ShdDataError):
    """The sample's data or a parameter is invalid (unit outside 0..699, bad time, bad bin width)."""


def _open(path) -> tuple[Path, h5py.File]:
    path = Path(path)
    if not path.exists():
        raise ShdFileNotFoundError(f"{path}: no such file (expected an SHD HDF5 file)")
    if path.is_dir():
        raise ShdFormatError(f"{path}: is a directory, not an SHD HDF5 file")
    if not h5py.is_hdf5(path):
        raise ShdFormatError(f"{path}: not an HDF5 file (expected the SHD layout: spikes/times, spikes/units, labels)")
    try:
        return path, h5py.File(path, "r")
    except OSError as e:
        raise ShdFormatError(f"{path}: cannot be opened as HDF5 ({e})") from e


def _dataset(f: h5py.File, path: Path, name: str) -> h5py.Dataset:
    obj = f.get(name)
    if not isinstance(obj, h5py.Dataset):
        what = "is not a dataset" if obj is not None else "is missing"
        raise ShdFormatError(
            f"{path}: '{name}' {what}; an SHD file needs datasets 'spikes/times', 'spikes/units' and 'labels'"
        )
    if obj.ndim != 1:
        raise ShdFormatError(f"{path}: '{name}' must be one-dimensional (one entry per sample), has shape {obj.shape}")
    return obj


def read_sample(path, index):
    """Read sample ``index`` of an SHD file.

    Returns ``(times_s, units, label, key_name)``: spike times in seconds as float64
    (converted from the file's float16 before any arithmetic), channel numbers as int64
    (0..699, 0 = highest frequency), the integer label, and the label's word from
    ``extra/keys`` (``None`` if the file has no keys for it).
    Raises a subclass of ``ShdDataError`` (a ``ValueError``; ``ShdFileNotFoundError`` is
    also a ``FileNotFoundError``, ``ShdIndexError`` an ``IndexError``) naming the file and
    the problem.
    """
    path, f = _open(path)
    with f:
        times_ds = _dataset(f, path, "spikes/times")
        units_ds = _dataset(f, path, "spikes/units")
        labels_ds = _dataset(f, path, "labels")
        n = len(times_ds)
        if len(units_ds) != n or len(labels_ds) != n:
            raise ShdFormatError(
                f"{path}: spikes/times, spikes/units and labels must have one "
                f"entry per sample; lengths are {n}, {len(units_ds)}, "
                f"{len(labels_ds)}"
            )
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, numbers.Integral):
            raise ShdIndexError(f"{path}: sample index must be an integer, got {index!r}")
        index = int(index)
        if not 0 <= index < n:
            raise ShdIndexError(
                f"{path}: sample index {index} out of range; the file has {n} sample(s), indices 0..{n - 1}"
            )
        # float16 seconds -> float64 first: scaling float16 loses bins or overflows
        times = np.asarray(times_ds[index], dtype=np.float64).reshape(-1)
        raw_units = np.asarray(units_ds[index]).reshape(-1)
        label_raw = labels_ds[index]
        keys = f.get("extra/keys")
        keys = keys[()] if isinstance(keys, h5py.Dataset) else None

    if times.shape != raw_units.shape:
        raise ShdFormatError(f"{path}: sample {index} has {times.size} spike times but {raw_units.size} units")
    if not np.issubdtype(raw_units.dtype, np.integer):
        raise ShdFormatError(f"{path}: spikes/units must hold integers, sample {index} has dtype {raw_units.dtype}")
    bad = ~np.isfinite(times) | (times < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ShdValueError(
            f"{path}: sample {index} has {int(bad.sum())} invalid spike "
            f"time(s) (negative, NaN or infinite), first at position {k}: "
            f"{times[k]!r}"
        )
    units = raw_units.astype(np.int64)
    bad = (units < 0) | (units >= N_CHANNELS)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ShdValueError(
            f"{path}: sample {index} has {int(bad.sum())} unit(s) outside "
            f"0..{N_CHANNELS - 1}, first at position {k}: {units[k]}"
        )
    if not np.issubdtype(np.asarray(label_raw).dtype, np.integer):
        raise ShdFormatError(f"{path}: labels must be integers, got {label_raw!r}")
    label = int(label_raw)
    key_name = None
    if keys is not None and 0 <= label < len(keys):
        k = keys[label]
        key_name = k.decode("utf-8") if isinstance(k, bytes) else str(k)
    return times, units, label, key_name


def _check_positive(name, value, path):
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ShdValueError(f"{path}: {name} must be a positive finite number of seconds, got {value!r}")
    return float(value)


def load_raster(path=DEFAULT_SAMPLE, index=0, bin_width=1e-3, duration=None, as_torch=False):
    """Bin sample ``index`` of an SHD file into a dense spike-count raster.

    Returns a float32 array (or, with ``as_torch=True``, a torch tensor) of shape
    ``(700, T)``: row = channel (row 0 = highest frequency), column = time bin.
    Bin ``k`` counts the spikes with ``k * bin_width <= t < (k + 1) * bin_width``
    (times within 1e-9 of a bin width below a boundary count in the next bin, so that
    decimal bin widths do not misplace spikes by rounding). ``T`` covers the last
    spike, or is ``ceil(duration / bin_width)`` if ``duration`` (seconds) is given, in
    which case later spikes are dropped.
    """
    bin_width = _check_positive("bin_width", bin_width, path)
    if duration is not None:
        duration = _check_positive("duration", duration, path)
    times, units, _, _ = read_sample(path, index)

    bins = np.floor(times / bin_width + 1e-9).astype(np.int64)
    if duration is None:
        n_bins = int(bins.max()) + 1 if bins.size else 0
    else:
        n_bins = max(1, math.ceil(duration / bin_width - 1e-9))
        keep = bins < n_bins
        bins, units = bins[keep], units[keep]
    if N_CHANNELS * n_bins * 4 > MAX_RASTER_BYTES:
        raise ShdValueError(
            f"{path}: bin_width {bin_width!r} s gives {n_bins} time bins; the "
            f"({N_CHANNELS}, {n_bins}) float32 raster would need "
            f"{N_CHANNELS * n_bins * 4 / 1024**3:.1f} GiB"
        )
    counts = np.bincount(units * n_bins + bins, minlength=N_CHANNELS * n_bins)
    raster = counts.reshape(N_CHANNELS, n_bins).astype(np.float32)
    if as_torch:
        try:
            import torch
        except ImportError as e:
            raise ImportError(
                "load_raster(..., as_torch=True) needs PyTorch; install torch or use the NumPy array (as_torch=False)"
            ) from e
        return torch.from_numpy(raster)
    return raster
