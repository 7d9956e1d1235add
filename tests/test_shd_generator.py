"""The pieces of the stand-in cochlea in tools/make_digit.py, checked against closed forms
and the measured SHD frequency map (no espeak-ng needed)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

ROOT = Path(__file__).resolve().parent.parent
FS = 22050


def _load():
    spec = importlib.util.spec_from_file_location("make_digit", ROOT / "tools" / "make_digit.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


md = _load()


@pytest.mark.parametrize("unit, measured_hz", [(0, 22500), (200, 4500), (400, 1000), (600, 220), (699, 100)])
def test_place_map_matches_shd_best_frequencies(unit, measured_hz):
    """Are the centre frequencies within 10 % of the best frequencies measured on Lauscher's
    700 channels (research note), channel 0 highest?"""
    cfs = md.centre_frequencies()
    assert abs(cfs[unit] / measured_hz - 1) < 0.10
    assert np.all(np.diff(cfs) < 0)


@pytest.mark.parametrize("cf, min_corr", [(100.0, 0.99), (300.0, 0.99), (1000.0, 0.99), (4000.0, 0.99), (9000.0, 0.95)])
def test_gammatone_sections_match_the_gammatone_closed_form(cf, min_corr):
    """Is the 4-section cascade a gammatone: impulse-response envelope
    t^3 exp(-2 pi b t), b = 1.019 ERB(cf) (correlation > 0.99; > 0.95 at 9 kHz, 0.41 fs,
    where the sampled design departs from the analog filter), |H| peaking at cf with
    gain 1, and a -3 dB bandwidth within 15 % of the 4th-order gammatone's
    2 b sqrt(2^(1/4) - 1)?"""
    sos = md.gammatone_sos(cf, FS)
    n = int(0.08 * FS) if cf < 200 else int(0.03 * FS)
    imp = np.zeros(n)
    imp[0] = 1.0
    h = signal.sosfilt(sos, imp)
    t = np.arange(n) / FS
    b = 1.019 * (24.7 + cf / 9.26449)  # Glasberg-Moore ERB, Patterson's b
    env_ref = t**3 * np.exp(-2 * np.pi * b * t)
    env = np.abs(signal.hilbert(h))
    assert np.corrcoef(env, env_ref)[0, 1] > min_corr
    freqs = np.linspace(cf / 3, min(cf * 3, 0.49 * FS), 20000)
    _, H = signal.sosfreqz(sos, worN=freqs, fs=FS)
    mag = np.abs(H)
    assert abs(freqs[np.argmax(mag)] / cf - 1) < 0.03
    assert abs(mag.max() - 1) < 0.02
    above = freqs[mag >= mag.max() / math.sqrt(2)]
    bw_ref = 2 * b * math.sqrt(2**0.25 - 1)  # -3 dB bandwidth of a 4th-order gammatone
    assert abs((above[-1] - above[0]) / bw_ref - 1) < 0.15


def test_every_built_channel_is_stable():
    """Are all poles of all built channels inside the unit circle (scipy's own 'iir'
    gammatone is unstable below ~75 Hz at 22 kHz), and are channels above 0.45 fs skipped?"""
    cfs = md.centre_frequencies()
    built = cfs[cfs < md.MAX_CF_FRACTION * FS]
    assert 550 < built.size < 700
    for cf in built:
        _, p, _ = signal.sos2zpk(md.gammatone_sos(cf, FS))
        assert np.abs(p).max() < 1
    x = np.zeros(200)
    x[0] = 1
    bm = md.basilar_membrane(x, FS, cfs, progress=False)
    assert not bm[cfs >= md.MAX_CF_FRACTION * FS].any()


def test_lif_encoder_fires_at_the_closed_form_rate(monkeypatch):
    """Without noise and with a constant drive I = g r > 1, does each channel spike when
    v_n = I (1 - (1 - k)^n) first exceeds 1, then after every refractory + n* steps?"""
    monkeypatch.setattr(md, "NOISE_SIGMA", 0.0)
    r = np.array([0.5, 0.8, 2.0, 0.1])  # 0.1 * g stays below threshold
    steps = 3000
    drive = np.repeat(r[:, None], steps, axis=1)
    times, units = md.lif_encode(drive, FS, progress=False)
    k = (1 / FS) / md.LIF_TAU_S
    refr = round(md.REFRACTORY_S * FS)
    for ch, rate in enumerate(r):
        I = md.LIF_GAIN * rate
        got = np.round(times[units == ch] * FS).astype(int)
        if I <= 1:
            assert got.size == 0
            continue
        n_star = math.ceil(math.log(1 - 1 / I) / math.log(1 - k))
        want = np.arange(n_star - 1, steps, refr + n_star)
        np.testing.assert_array_equal(got, want)


def test_encoder_is_seeded():
    """Does the noisy encoder give the same spikes for the same seed and others for another?"""
    rng = np.random.default_rng(3)
    drive = rng.uniform(0, 0.5, size=(20, 2000))
    a = md.lif_encode(drive, FS, seed=1, progress=False)
    b = md.lif_encode(drive, FS, seed=1, progress=False)
    c = md.lif_encode(drive, FS, seed=2, progress=False)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
