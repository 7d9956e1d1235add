"""The SHD loader (book/module1/shd_data.py) on small files written here in the real SHD
layout and dtypes, and on every kind of bad input.

Expected rasters are computed independently with exact rational arithmetic
(fractions.Fraction), not with the loader's code.

(A little over 300 lines: every test writes its file with the same SHD-layout writers at the
top, so the bad-input half would have to import them from the good-input half.)
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import h5py
import numpy as np
import pytest

from course import manifest

ROOT = Path(__file__).resolve().parent.parent
LOADER = ROOT / "book" / "module1" / "shd_data.py"


shd = manifest.module("module1").code("data")  # the loader, as the course reaches it
assert Path(shd.__file__) == LOADER

SHD_KEYS = [
    b"zero",
    b"one",
    b"two",
    b"three",
    b"four",
    b"five",
    b"six",
    b"seven",
    b"eight",
    b"nine",
    b"null",
    b"eins",
    b"zwei",
    b"drei",
    b"vier",
    b"fuenf",
    b"sechs",
    b"sieben",
    b"acht",
    b"neun",
]


def write_shd_file(path, samples, labels, keys=SHD_KEYS, times_dtype=np.float16, units_dtype=np.uint16, skip=()):
    """Write an SHD-layout file the way the real shd_*.h5 files are laid out:
    vlen float16 times, vlen uint16 units, uint16 labels, bytes keys, speaker ids."""
    n = len(samples)
    with h5py.File(path, "w") as f:
        if "spikes/times" not in skip:
            t = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(times_dtype))
            for i, (times, _) in enumerate(samples):
                t[i] = np.asarray(times, dtype=times_dtype)
        if "spikes/units" not in skip:
            u = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(units_dtype))
            for i, (_, units) in enumerate(samples):
                u[i] = np.asarray(units, dtype=units_dtype)
        if "labels" not in skip:
            f.create_dataset("labels", data=np.asarray(labels, dtype=np.uint16))
        if keys is not None:
            f.create_dataset("extra/keys", data=np.array(keys))
        f.create_dataset("extra/speaker", data=np.zeros(n, dtype=np.uint16))
    return path


def exact_raster(times16, units, bin_width: Fraction, n_bins):
    """Reference: bin k holds k*w <= t < (k+1)*w, computed exactly on the float16 values."""
    out = np.zeros((700, n_bins), dtype=np.float32)
    for t, u in zip(times16, units):
        k = math.floor(Fraction(float(t)) / bin_width)
        if k < n_bins:
            out[u, k] += 1
    return out


def all_float16_times(upper=1.4):
    """Every non-negative float16 value below ``upper`` seconds (~15,800 values)."""
    bits = np.arange(0, 0x7C00, dtype=np.uint16)
    t = bits.view(np.float16)
    return t[t < upper]


@pytest.fixture(scope="module")
def every_float16(tmp_path_factory):
    times = all_float16_times()
    rng = np.random.default_rng(1)
    units = rng.integers(0, 700, size=times.size)
    path = write_shd_file(tmp_path_factory.mktemp("shd") / "all_f16.h5", [(times, units)], [7])
    return path, times, units


@pytest.mark.parametrize("width", [Fraction(1, 1000), Fraction(1, 10000), Fraction(7, 10000)])
def test_every_float16_time_lands_in_the_exact_bin(every_float16, width):
    """Is each float16 spike time (0..1.4 s, where float16 resolution reaches ~1 ms) binned
    exactly as k*w <= t < (k+1)*w, for 1 ms, 0.1 ms and 0.7 ms bins?"""
    path, times, units = every_float16
    got = shd.load_raster(path, 0, bin_width=float(width))
    n_bins = math.floor(Fraction(float(times.max())) / width) + 1
    assert got.shape == (700, n_bins)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, exact_raster(times, units, width, n_bins))
    assert got.sum() == times.size


def test_decimal_float64_times_on_bin_edges_land_in_the_later_bin(tmp_path):
    """Do decimal times stored as float64 (another tool's SHD-layout file) that sit on a bin
    edge, like 0.003 s with 1 ms bins (0.003 / 0.001 = 2.9999999999999996 in floating
    point), land in the bin that starts there, as exact decimal arithmetic says?"""
    decimals = ["0.003", "0.3", "0.007", "0.029", "0.6", "1.1", "0.0035"]
    path = write_shd_file(tmp_path / "f64.h5", [([float(d) for d in decimals], [0] * 7)], [0], times_dtype=np.float64)
    for width in ("0.001", "0.0001", "0.1"):
        got = shd.load_raster(path, 0, bin_width=float(width))
        want = sorted(math.floor(Fraction(d) / Fraction(width)) for d in decimals)
        np.testing.assert_array_equal(np.repeat(np.arange(got.shape[1]), got[0].astype(int)), want)


def test_naive_float16_scaling_would_misplace_spikes():
    """Does the data above exercise the float16 pitfall (so the test can fail)? Scaling the
    stored float16 seconds in float16 moves spikes above 1 s into wrong 1 ms bins, and
    converting to microseconds in float16 overflows."""
    times = all_float16_times()
    late = times[times > 1]
    naive = np.floor(late * np.float16(1000)).astype(np.int64)
    exact = np.array([math.floor(Fraction(float(t)) * 1000) for t in late])
    assert (naive != exact).sum() > 10
    with np.errstate(over="ignore"):
        assert np.isinf(late * np.float16(1e6)).all()


def test_read_sample_returns_float64_seconds_units_label_and_key(tmp_path):
    """Does read_sample give the stored values (float64 seconds, int units), the label and
    its word from extra/keys, for the right sample of a multi-sample file?"""
    samples = [([0.1, 0.2], [5, 6]), ([1.25, 0.5, 1.0009765625], [699, 0, 3]), ([], [])]
    path = write_shd_file(tmp_path / "three.h5", samples, [3, 15, 19])
    times, units, label, key = shd.read_sample(path, 1)
    assert times.dtype == np.float64 and units.dtype == np.int64
    np.testing.assert_array_equal(times, [1.25, 0.5, 1.0009765625])
    np.testing.assert_array_equal(units, [699, 0, 3])
    assert (label, key) == (15, "fuenf")
    assert shd.read_sample(path, 0)[2:] == (3, "three")
    t, u, label, key = shd.read_sample(path, 2)
    assert t.size == 0 and u.size == 0 and key == "neun"
    assert shd.read_sample(path, np.int64(0))[2] == 3


def test_raster_rows_are_channels_columns_are_bins_counts_add(tmp_path):
    """Is row = unit (row 0 = channel 0 = highest frequency), column = time bin, and are two
    spikes in one (channel, bin) counted as 2?"""
    samples = [([0.0, 0.0004, 0.0031, 0.0099], [0, 0, 699, 350])]
    path = write_shd_file(tmp_path / "one.h5", samples, [1])
    r = shd.load_raster(path, 0, bin_width=1e-3)
    expected = np.zeros((700, 10), np.float32)
    expected[0, 0] = 2
    expected[699, 3] = 1
    expected[350, 9] = 1
    np.testing.assert_array_equal(r, expected)


def test_duration_pads_and_truncates(tmp_path):
    """Does duration fix T = ceil(duration / bin_width), padding with zeros or dropping
    later spikes?"""
    path = write_shd_file(tmp_path / "d.h5", [([0.0005, 0.0105, 0.5], [1, 2, 3])], [0])
    long = shd.load_raster(path, 0, bin_width=1e-3, duration=1.0)
    assert long.shape == (700, 1000) and long.sum() == 3
    short = shd.load_raster(path, 0, bin_width=1e-3, duration=0.011)
    assert short.shape == (700, 11) and short.sum() == 2 and short[2, 10] == 1
    assert shd.load_raster(path, 0, bin_width=0.01, duration=0.05).shape == (700, 5)


def test_empty_sample_gives_empty_or_padded_raster(tmp_path):
    """Does a sample without spikes give (700, 0), or zeros of the asked duration?"""
    path = write_shd_file(tmp_path / "e.h5", [([], [])], [0])
    assert shd.load_raster(path, 0).shape == (700, 0)
    assert shd.load_raster(path, 0, duration=0.1).sum() == 0


def test_missing_keys_give_none(tmp_path):
    """Without extra/keys (or with a label past them) is the word None rather than an error?"""
    path = write_shd_file(tmp_path / "nokeys.h5", [([0.1], [1])], [4], keys=None)
    assert shd.read_sample(path, 0)[2:] == (4, None)
    path = write_shd_file(tmp_path / "fewkeys.h5", [([0.1], [1])], [4], keys=[b"a"])
    assert shd.read_sample(path, 0)[2:] == (4, None)


def test_torch_output_equals_numpy(every_float16):
    """Does as_torch=True give a float32 tensor equal to the NumPy raster?"""
    torch = pytest.importorskip("torch")
    path, _, _ = every_float16
    a = shd.load_raster(path, 0, bin_width=1e-3)
    t = shd.load_raster(path, 0, bin_width=1e-3, as_torch=True)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32
    np.testing.assert_array_equal(t.numpy(), a)


# ---- bad input: each gives a clear error naming the file and the problem -------------------


def test_missing_file(tmp_path):
    """Is a missing file a FileNotFoundError (and a ValueError subclass) naming the path?"""
    p = tmp_path / "nope.h5"
    for call in (lambda: shd.read_sample(p, 0), lambda: shd.load_raster(p)):
        with pytest.raises(FileNotFoundError, match="nope.h5: no such file") as e:
            call()
        assert isinstance(e.value, shd.ShdDataError) and isinstance(e.value, ValueError)


def test_not_hdf5(tmp_path):
    """Is a text file, an empty file or a directory rejected as not HDF5?"""
    p = tmp_path / "notes.h5"
    p.write_text("spikes/times\n")
    with pytest.raises(shd.ShdFormatError, match="notes.h5: not an HDF5 file"):
        shd.load_raster(p)
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.h5: not an HDF5 file"):
        shd.read_sample(tmp_path / "empty.h5", 0)
    with pytest.raises(ValueError, match="is a directory"):
        shd.read_sample(tmp_path, 0)


@pytest.mark.parametrize("missing", ["spikes/times", "spikes/units", "labels"])
def test_wrong_layout_missing_dataset(tmp_path, missing):
    """Is a file lacking one of the SHD datasets rejected with that dataset's name?"""
    path = write_shd_file(tmp_path / "partial.h5", [([0.1], [1])], [0], skip=(missing,))
    with pytest.raises(shd.ShdFormatError, match=f"partial.h5: '{missing}' is missing"):
        shd.load_raster(path)


def test_wrong_layout_other_hdf5(tmp_path):
    """Is an unrelated HDF5 file (a dense array, a group where a dataset belongs, unequal
    lengths, float units, times/units of different length) rejected with the reason?"""
    p = tmp_path / "dense.h5"
    with h5py.File(p, "w") as f:
        f["data"] = np.zeros((700, 10))
    with pytest.raises(shd.ShdFormatError, match="'spikes/times' is missing"):
        shd.read_sample(p, 0)
    p = tmp_path / "group.h5"
    with h5py.File(p, "w") as f:
        f.create_group("spikes/times")
    with pytest.raises(shd.ShdFormatError, match="'spikes/times' is not a dataset"):
        shd.read_sample(p, 0)
    p = write_shd_file(tmp_path / "lengths.h5", [([0.1], [1]), ([0.2], [2])], [0, 1])
    with h5py.File(p, "a") as f:
        del f["labels"]
        f["labels"] = np.zeros(3, np.uint16)
    with pytest.raises(shd.ShdFormatError, match="one entry per sample; lengths are 2, 2, 3"):
        shd.read_sample(p, 0)
    p = write_shd_file(tmp_path / "floatunits.h5", [([0.1], [1.5])], [0], units_dtype=np.float32)
    with pytest.raises(shd.ShdFormatError, match="must hold integers"):
        shd.read_sample(p, 0)
    p = write_shd_file(tmp_path / "ragged.h5", [([0.1, 0.2], [1])], [0])
    with pytest.raises(shd.ShdFormatError, match="2 spike times but 1 units"):
        shd.read_sample(p, 0)


@pytest.mark.parametrize("index", [2, 100, -1])
def test_index_out_of_range(tmp_path, index):
    """Is an index outside 0..n-1 an IndexError/ValueError that states the valid range?"""
    path = write_shd_file(tmp_path / "two.h5", [([0.1], [1]), ([0.2], [2])], [0, 1])
    with pytest.raises(
        shd.ShdIndexError,
        match=r"two.h5: sample index .* out of range; "
        r"the file has 2 sample\(s\), indices 0..1",
    ):
        shd.load_raster(path, index)
    with pytest.raises(IndexError):
        shd.read_sample(path, index)


@pytest.mark.parametrize("index", [1.0, "0", None, True])
def test_index_not_an_integer(tmp_path, index):
    """Is a non-integer index (float, str, None, bool) rejected, not silently truncated?"""
    path = write_shd_file(tmp_path / "two.h5", [([0.1], [1]), ([0.2], [2])], [0, 1])
    with pytest.raises(ValueError, match="sample index must be an integer"):
        shd.read_sample(path, index)


def test_unit_out_of_range(tmp_path):
    """Is a unit of 700 (only 0..699 exist) rejected with its position?"""
    path = write_shd_file(tmp_path / "u.h5", [([0.1, 0.2], [3, 700])], [0])
    with pytest.raises(
        shd.ShdValueError,
        match=r"u.h5: sample 0 has 1 unit\(s\) outside "
        r"0..699, first at position 1: 700",
    ):
        shd.load_raster(path)
    path = write_shd_file(tmp_path / "neg.h5", [([0.1], [-1])], [0], units_dtype=np.int16)
    with pytest.raises(shd.ShdValueError, match="outside 0..699"):
        shd.read_sample(path, 0)


@pytest.mark.parametrize("bad", [-0.001, float("nan"), float("inf")])
def test_bad_times(tmp_path, bad):
    """Are negative, NaN and infinite spike times rejected with the offending value?"""
    path = write_shd_file(tmp_path / "t.h5", [([0.1, bad], [3, 4])], [0])
    with pytest.raises(
        shd.ShdValueError,
        match=r"t.h5: sample 0 has 1 invalid spike time\(s\) "
        r"\(negative, NaN or infinite\), first at "
        r"position 1",
    ):
        shd.load_raster(path)


@pytest.mark.parametrize("width", [0, -1e-3, float("nan"), float("inf"), "1ms", None, True])
def test_bad_bin_width(tmp_path, width):
    """Is a bin width that is not a positive finite number of seconds rejected?"""
    path = write_shd_file(tmp_path / "b.h5", [([0.1], [3])], [0])
    with pytest.raises(shd.ShdValueError, match="bin_width must be a positive finite number"):
        shd.load_raster(path, 0, bin_width=width)


def test_bad_duration(tmp_path):
    """Is a zero or negative duration rejected?"""
    path = write_shd_file(tmp_path / "b.h5", [([0.1], [3])], [0])
    for d in (0, -1.0):
        with pytest.raises(shd.ShdValueError, match="duration must be a positive finite"):
            shd.load_raster(path, 0, duration=d)


def test_raster_too_large_is_refused(tmp_path):
    """Is a bin width so fine that the raster would need GiBs refused before allocating it?"""
    path = write_shd_file(tmp_path / "big.h5", [([1.0], [3])], [0])
    with pytest.raises(shd.ShdValueError, match="would need .* GiB"):
        shd.load_raster(path, 0, bin_width=1e-9)
