"""Make the shipped spiking-digit sample (``book/module1/data/shd_sample.h5``).

A stand-in for one recording of the Spiking Heidelberg Digits (SHD), made the
way SHD was made but with a fast cochlea model:

1. **Speech.** eSpeak NG synthesises an English digit
   (``espeak-ng -v en -s 130 -w out.wav seven``: 22,050 Hz, 16 bit, identical
   bytes on every run). Leading and trailing silence is trimmed.
2. **Front end (as Lauscher does it).** RMS-normalise to 0.3, then multiply by
   one Hann window spanning the whole word.
3. **Basilar membrane.** 700 fourth-order gammatone filters, each a cascade of
   four second-order sections (Slaney 1993, "An efficient implementation of the
   Patterson-Holdsworth auditory filter bank"), normalised to unit gain at the
   centre frequency. Centre frequencies follow the SHD map measured on Lauscher,
   channel 0 highest:

   .. math:: f_c(u) = F_0 \\, 2^{-u / U_{oct}}, \\quad F_0 = 22\\,\\mathrm{kHz},\\;
             U_{oct} = 90 \\text{ units per octave}

   (unit 0 ~22 kHz, 200 ~4.7 kHz, 400 ~1 kHz, 600 ~215 Hz, 699 ~100 Hz),
   bandwidth :math:`1.019\\,\\mathrm{ERB}(f_c)` with
   :math:`\\mathrm{ERB}(f) = 24.7\\,(4.37 f/1000 + 1)` Hz. Channels whose centre
   frequency is at or above ``MAX_CF_FRACTION`` of the sample rate cannot be
   built at 22,050 Hz and stay silent (the synthesised audio has no energy
   there anyway).
4. **Hair cell.** Half-wave rectification, compression :math:`r = x_+^{0.3}`,
   then a second-order 1 kHz Butterworth low-pass (loss of phase locking).
5. **Encoder.** One leaky integrate-and-fire neuron per channel, forward Euler
   with step :math:`\\Delta t = 1/f_s`:

   .. math:: v \\leftarrow v + \\frac{\\Delta t}{\\tau} (g\\, r - v) + \\sigma \\sqrt{\\Delta t/\\tau}\\, \\xi,
             \\qquad z = [v > 1], \\qquad v \\leftarrow (1 - z) v

   with :math:`\\tau` = 2 ms, gain g, a refractory period of 1 ms after each
   spike (v held at 0), and small membrane noise :math:`\\xi \\sim N(0,1)` from a
   seeded generator (so the result is deterministic).

The spikes are written in the SHD HDF5 layout (``spikes/times`` float16
seconds, ``spikes/units`` uint16, ``labels``, ``extra/keys``, ``extra/speaker``)
with fixed HDF5 settings (no timestamps, fixed library format), so two runs
give identical bytes.

Usage (from the repository root)::

    .venv/bin/python tools/make_digit.py                 # writes the shipped sample
    .venv/bin/python tools/make_digit.py --out /tmp/x.h5 --wav-out /tmp/x.wav

Needs numpy, scipy, h5py, tqdm and the ``espeak-ng`` program. The book and the
tests never need this script; the tests only compare its output, when
``espeak-ng`` is present, with the committed file.

(A little over 300 lines: one pipeline from speech to spikes whose steps are listed above, in
the order the functions below run them.)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
from scipy import signal
from scipy.io import wavfile
from tqdm import tqdm

# ---- data layout ---------------------------------------------------------------------------
N_CHANNELS = 700
#: SHD's 20 classes: English digits then German digits (the real files name them in extra/keys)
KEYS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "null",
    "eins",
    "zwei",
    "drei",
    "vier",
    "fuenf",
    "sechs",
    "sieben",
    "acht",
    "neun",
)
#: the word shipped with the book
DEFAULT_WORD = "seven"
#: speaker id written to extra/speaker (SHD has 12 human speakers, 0..11; this is a synthetic one)
SPEAKER_ID = 12

# ---- speech --------------------------------------------------------------------------------
ESPEAK_VOICE = "en"
ESPEAK_SPEED = 130  # words per minute
TRIM_THRESHOLD = 0.02  # envelope level (fraction of its peak) counted as sound
TRIM_WINDOW_S = 0.010  # moving-average window of the envelope, seconds
TRIM_MARGIN_S = 0.020  # silence kept before and after the word, seconds

# ---- front end and cochlea -----------------------------------------------------------------
RMS_LEVEL = 0.3  # Lauscher's RmsNormalizer(0.3)
F_HIGHEST_HZ = 22000.0  # centre frequency of channel 0
UNITS_PER_OCTAVE = 90.0  # fitted to Lauscher's measured best frequencies
EAR_Q = 9.26449  # Glasberg & Moore ERB: ERB(f) = f / EAR_Q + MIN_BW
MIN_BW_HZ = 24.7
GAMMATONE_BW = 1.019  # bandwidth factor b in the gammatone envelope exp(-2 pi b ERB t)
MAX_CF_FRACTION = 0.45  # channels with cf >= this fraction of fs stay silent

# ---- hair cell and encoder -----------------------------------------------------------------
COMPRESSION = 0.3  # r = max(x, 0) ** COMPRESSION
HAIR_CELL_LOWPASS_HZ = 1000.0
LIF_TAU_S = 2e-3
LIF_THRESHOLD = 1.0
LIF_GAIN = 3.0  # g: drive = g * r
REFRACTORY_S = 1e-3
NOISE_SIGMA = 0.35  # membrane noise, in units of the threshold
SEED = 20201214  # seeds the membrane noise


def espeak_version() -> str:
    """Return the version line of the installed ``espeak-ng`` (e.g. '1.51')."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise FileNotFoundError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    out = subprocess.run([exe, "--version"], check=True, capture_output=True, text=True).stdout
    # "eSpeak NG text-to-speech: 1.51  Data at: ..."
    return out.split(":", 1)[1].split()[0]


def synthesize(word: str, voice: str = ESPEAK_VOICE, speed: int = ESPEAK_SPEED):
    """Speak ``word`` with eSpeak NG; return ``(fs, samples int16)``."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise FileNotFoundError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "word.wav"
        # -w writes a proper WAV; --stdout writes a bogus length field
        subprocess.run([exe, "-v", voice, "-s", str(speed), "-w", str(wav), word], check=True, capture_output=True)
        fs, x = wavfile.read(wav)
    if x.ndim != 1 or x.size == 0:
        raise RuntimeError(f"espeak-ng returned no mono audio for {word!r}")
    return int(fs), x


def trim_silence(x, fs, threshold=TRIM_THRESHOLD, window_s=TRIM_WINDOW_S, margin_s=TRIM_MARGIN_S):
    """Cut leading/trailing silence: keep where the moving-average |x| exceeds
    ``threshold`` times its peak, plus ``margin_s`` on each side."""
    a = np.abs(np.asarray(x, dtype=np.float64))
    w = max(1, int(round(window_s * fs)))
    env = np.convolve(a, np.ones(w) / w, mode="same")
    loud = np.flatnonzero(env > threshold * env.max())
    m = int(round(margin_s * fs))
    start, stop = max(0, loud[0] - m), min(len(x), loud[-1] + 1 + m)
    return np.asarray(x)[start:stop]


def front_end(x, level=RMS_LEVEL):
    """Lauscher's front end: scale to RMS ``level``, then one Hann window over the whole signal."""
    y = np.asarray(x, dtype=np.float64)
    y = y * (level / np.sqrt(np.mean(y**2)))
    return y * np.hanning(len(y))


def centre_frequencies(n=N_CHANNELS, f_highest=F_HIGHEST_HZ, units_per_octave=UNITS_PER_OCTAVE):
    r"""SHD-like place map, channel 0 highest: :math:`f_c(u) = F_0 2^{-u/U_{oct}}`."""
    return f_highest * 2.0 ** (-np.arange(n) / units_per_octave)


def erb(f):
    r""":math:`\mathrm{ERB}(f) = f/Q_{ear} + B_{min}` (Glasberg & Moore 1990), in Hz."""
    return np.asarray(f, dtype=np.float64) / EAR_Q + MIN_BW_HZ


def gammatone_sos(cf: float, fs: float) -> np.ndarray:
    r"""Fourth-order gammatone filter at centre frequency ``cf`` as 4 second-order sections.

    Impulse response approximately :math:`t^3 e^{-2\pi b t} \cos(2\pi f_c t)` with
    :math:`b = 1.019\,\mathrm{ERB}(f_c)`; poles and zeros from Slaney (1993). The cascade is
    scaled to gain 1 at ``cf``. Returns an array of shape (4, 6) for ``scipy.signal.sosfilt``.
    """
    T = 1.0 / fs
    B = GAMMATONE_BW * 2 * np.pi * erb(cf)
    arg = 2 * cf * np.pi * T
    decay = np.exp(B * T)
    a1 = -2 * np.cos(arg) / decay  # denominator: 1 + a1 z^-1 + a2 z^-2
    a2 = np.exp(-2 * B * T)
    sos = np.empty((4, 6))
    for k, (s1, s2) in enumerate([(+1, +1), (+1, -1), (-1, +1), (-1, -1)]):
        root = np.sqrt(3 + s1 * 2**1.5)
        b1 = -(2 * T * np.cos(arg) / decay + s2 * 2 * root * T * np.sin(arg) / decay) / 2
        sos[k] = [T, b1, 0.0, 1.0, a1, a2]
    _, h = signal.sosfreqz(sos, worN=[cf], fs=fs)
    sos[0, :3] /= np.abs(h[0])
    return sos


def basilar_membrane(x, fs, cfs, progress=True):
    """Filter ``x`` through one gammatone per centre frequency; returns (channels, samples)."""
    out = np.zeros((len(cfs), len(x)))
    for u in tqdm(range(len(cfs)), desc="gammatone filterbank", unit="ch", disable=not progress, file=sys.stderr):
        if cfs[u] < MAX_CF_FRACTION * fs:
            out[u] = signal.sosfilt(gammatone_sos(cfs[u], fs), x)
    return out


def hair_cell(bm, fs):
    r"""Half-wave rectify, compress :math:`x_+^{0.3}`, 1 kHz 2nd-order Butterworth low-pass."""
    r = np.maximum(bm, 0.0) ** COMPRESSION
    sos = signal.butter(2, HAIR_CELL_LOWPASS_HZ, btype="low", fs=fs, output="sos")
    return signal.sosfilt(sos, r, axis=-1)


def lif_encode(drive, fs, seed=SEED, progress=True):
    """One LIF neuron per row of ``drive`` (see module docstring); returns (times_s, units)."""
    rng = np.random.default_rng(seed)
    n_ch, n_t = drive.shape
    k = (1.0 / fs) / LIF_TAU_S
    noise_scale = NOISE_SIGMA * np.sqrt(k)
    refractory_steps = int(round(REFRACTORY_S * fs))
    v = np.zeros(n_ch)
    hold = np.zeros(n_ch, dtype=np.int64)  # remaining refractory steps
    spike_steps, spike_units = [], []
    for t in tqdm(range(n_t), desc="LIF encoder", unit="step", mininterval=0.5, disable=not progress, file=sys.stderr):
        xi = rng.standard_normal(n_ch)
        v = v + k * (LIF_GAIN * drive[:, t] - v) + noise_scale * xi
        v[hold > 0] = 0.0
        hold[hold > 0] -= 1
        z = v > LIF_THRESHOLD
        if z.any():
            units = np.flatnonzero(z)
            spike_steps.append(np.full(units.size, t))
            spike_units.append(units)
            v[z] = 0.0
            hold[z] = refractory_steps
    if not spike_steps:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    steps = np.concatenate(spike_steps)
    units = np.concatenate(spike_units)
    return steps / fs, units


def write_shd(path, samples, labels, speakers, keys=KEYS, attrs=None):
    """Write ``samples`` (a list of ``(times_s, units)``) in the SHD HDF5 layout.

    Byte-for-byte reproducible: fixed library format (``libver='earliest'``), no
    object timestamps (``track_times=False``), contiguous storage, sorted attributes.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    n = len(samples)
    with h5py.File(tmp, "w", libver="earliest", track_order=False) as f:
        spikes = f.create_group("spikes")
        extra = f.create_group("extra")
        t_ds = spikes.create_dataset("times", shape=(n,), dtype=h5py.vlen_dtype(np.float16), track_times=False)
        u_ds = spikes.create_dataset("units", shape=(n,), dtype=h5py.vlen_dtype(np.uint16), track_times=False)
        for i, (times, units) in enumerate(samples):
            t_ds[i] = np.asarray(times, dtype=np.float16)
            u_ds[i] = np.asarray(units, dtype=np.uint16)
        f.create_dataset("labels", data=np.asarray(labels, dtype=np.uint16), track_times=False)
        extra.create_dataset("speaker", data=np.asarray(speakers, dtype=np.uint16), track_times=False)
        extra.create_dataset("keys", data=np.array([k.encode("ascii") for k in keys]), track_times=False)
        for name in sorted(attrs or {}):
            f.attrs[name] = attrs[name]
    os.replace(tmp, path)


def make_sample(word=DEFAULT_WORD, progress=True):
    """Run the whole chain for one word; returns a dict with audio, spikes and facts."""
    if word not in KEYS[:10]:
        raise ValueError(f"word must be one of the English digits {KEYS[:10]}, got {word!r}")
    fs, raw = synthesize(word)
    x = trim_silence(raw, fs)
    y = front_end(x)
    cfs = centre_frequencies()
    bm = basilar_membrane(y, fs, cfs, progress=progress)
    r = hair_cell(bm, fs)
    times, units = lif_encode(r, fs, progress=progress)
    order = np.lexsort((units, times))  # by time, then unit, as in SHD
    return {
        "fs": fs,
        "audio": x,
        "times": times[order],
        "units": units[order],
        "label": KEYS.index(word),
        "word": word,
        "duration": len(x) / fs,
    }


def main(argv=None):
    here = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--word", default=DEFAULT_WORD, help="English digit to speak (default: seven)")
    p.add_argument("--out", type=Path, default=here / "book/module1/data/shd_sample.h5")
    p.add_argument("--wav-out", type=Path, help="also write the trimmed audio (int16 WAV) here")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)

    s = make_sample(args.word, progress=not args.quiet)
    attrs = {
        "description": "Synthetic SHD-layout sample: eSpeak NG speech -> 700-channel "
        "gammatone cochlea -> LIF encoder. Made by tools/make_digit.py.",
        "espeak_ng_version": espeak_version(),
        "word": s["word"],
        "seed": SEED,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_shd(args.out, [(s["times"], s["units"])], [s["label"]], [SPEAKER_ID], attrs=attrs)
    if args.wav_out:
        wavfile.write(args.wav_out, s["fs"], s["audio"])
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(
        f"{args.out}: word {s['word']!r} (label {s['label']}), {len(s['times'])} spikes, "
        f"{len(np.unique(s['units']))} active channels, audio {s['duration']:.3f} s, "
        f"{args.out.stat().st_size} bytes, sha256 {digest}"
    )


if __name__ == "__main__":
    main()
