"""The shipped spiking-digit sample (book/module1/data/shd_sample.h5): real SHD layout,
plausible content, and identical to a fresh run of tools/make_digit.py when espeak-ng is
installed."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "book" / "module1" / "data" / "shd_sample.h5"
GENERATOR = ROOT / "tools" / "make_digit.py"


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


shd = _load("shd_data", ROOT / "book" / "module1" / "shd_data.py")


def test_default_sample_is_the_shipped_file():
    """Does the loader's default path point at the committed sample, next to the module?"""
    assert shd.DEFAULT_SAMPLE.resolve() == SAMPLE.resolve()
    assert SAMPLE.is_file()
    assert shd.N_CHANNELS == 700


def test_sample_uses_the_real_shd_layout_and_dtypes():
    """Is the file laid out like shd_train.h5: vlen float16 seconds, vlen uint16 units,
    integer labels, 20 keys (English then German digits), speaker ids; and small?"""
    assert SAMPLE.stat().st_size < 100_000
    with h5py.File(SAMPLE, "r") as f:
        assert h5py.check_vlen_dtype(f["spikes/times"].dtype) == np.float16
        assert h5py.check_vlen_dtype(f["spikes/units"].dtype) == np.uint16
        assert np.issubdtype(f["labels"].dtype, np.integer)
        n = len(f["labels"])
        assert len(f["spikes/times"]) == len(f["spikes/units"]) == len(f["extra/speaker"]) == n
        keys = [k.decode() for k in f["extra/keys"][()]]
    assert len(keys) == 20
    assert keys[:10] == ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    assert keys[10:12] == ["null", "eins"] and keys[19] == "neun"


def test_sample_content_is_a_plausible_spoken_digit():
    """Does sample 0 look like an SHD recording: the word 'seven', 0.3-1.4 s long, thousands
    of spikes over hundreds of channels, mostly in the speech range (units 150-699), and a
    1 ms raster that is over 95 % empty?"""
    times, units, label, key = shd.read_sample(SAMPLE, 0)
    assert (label, key) == (7, "seven")
    assert 0.3 < times.max() < 1.4
    assert 3_000 < times.size < 20_000
    counts = np.bincount(units, minlength=700)
    assert 300 < (counts > 0).sum() <= 700
    assert counts[150:].sum() > 0.95 * counts.sum()
    raster = shd.load_raster()
    assert raster.shape == (700, int(times.max() * 1000) + 1)
    assert raster.sum() == times.size
    assert (raster == 0).mean() > 0.95


def test_sample_torch_and_numpy_rasters_agree():
    """Does the shipped sample give the same raster as a torch tensor at 1 ms and 0.1 ms?"""
    torch = pytest.importorskip("torch")
    for width in (1e-3, 1e-4):
        a = shd.load_raster(bin_width=width)
        t = shd.load_raster(bin_width=width, as_torch=True)
        assert t.dtype == torch.float32
        np.testing.assert_array_equal(t.numpy(), a)


def _espeak_version():
    exe = shutil.which("espeak-ng")
    if exe is None:
        return None
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    return out.split(":", 1)[1].split()[0]


def test_sample_equals_a_fresh_regeneration(tmp_path):
    """Does running tools/make_digit.py now give the committed file byte for byte (so the
    shipped sample is what the script says, and the script is deterministic)?"""
    version = _espeak_version()
    if version is None:
        pytest.skip("espeak-ng is not installed: cannot regenerate the sample (apt-get install espeak-ng)")
    with h5py.File(SAMPLE, "r") as f:
        made_with = f.attrs["espeak_ng_version"]
    if version != made_with:
        pytest.skip(f"espeak-ng {version} installed, sample made with {made_with}: audio may differ")
    # one fresh run: the committed file came from an earlier run, so equality also shows
    # that the generator is deterministic across runs (no timestamps, seeded noise)
    out = tmp_path / "fresh.h5"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--quiet", "--out", str(out)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.read_bytes() == SAMPLE.read_bytes(), (
        "shipped sample differs from a fresh run of tools/make_digit.py: regenerate and commit"
    )


def test_lauscher_comparison_table_matches_the_stored_spikes():
    """Is lauscher_comparison.csv (quoted in data/README.md) what the shipped sample and the
    stored Lauscher spikes (lauscher_seven.h5, same audio) actually contain, band by band?"""
    data = SAMPLE.parent
    rows = [line.split(",") for line in (data / "lauscher_comparison.csv").read_text().split()]
    assert rows[0] == ["channels", "stand_in_spikes", "lauscher_spikes", "stand_in_active", "lauscher_active"]
    _, u_stand, _, _ = shd.read_sample(SAMPLE, 0)
    _, u_laus, label, key = shd.read_sample(data / "lauscher_seven.h5", 0)
    assert (label, key) == (7, "seven")
    c_stand = np.bincount(u_stand, minlength=700)
    c_laus = np.bincount(u_laus, minlength=700)
    for row in rows[1:]:
        lo, hi = (0, 699) if row[0] == "all" else map(int, row[0].split("-"))
        s, l = c_stand[lo : hi + 1], c_laus[lo : hi + 1]
        assert [int(x) for x in row[1:]] == [s.sum(), l.sum(), (s > 0).sum(), (l > 0).sum()]
    assert rows[-1][0] == "all" and len(rows) == 9
    readme = (data / "README.md").read_text()
    assert f"| all | {c_stand.sum():,} | {c_laus.sum():,} |" in readme
