"""Frames of the tau sliders: PNG pictures of the reference models, one per tau.

The frames are precomputed from the module's ``li`` / ``lif`` (its manifest's ``models``; never
reimplemented here) and carried by the widget (:mod:`course.tau_slider`) into the static page.

* tau values are log-spaced (powers of two); each frame's label gives tau with its unit,
  ``"tau = 8 steps"`` for the traces, ``"tau = 8 steps (8 ms)"`` for the surfaces (one step =
  one raster bin of ``bin_width`` seconds).
* ONE colour scale for all tau of a surface slider, with a colour bar, so brightness means
  the same voltage in every frame: logarithmic for the leaky integrator (its voltages span
  three decades between tau = 1 and 256), linear from 0 to the threshold for the LIF membrane
  (never above it after the reset), output spikes on top.
* Opaque white frames with dark text: legible in light and dark mode.
* Surfaces are reduced to at most ``SURFACE_SHAPE`` by whole-block mean (voltages) or max
  (spikes); frames are 8-bit palette PNGs (surfaces: a fixed palette of the colour map's own
  colours, so the colour bar keeps every shade), ~0.8 MB for the chapter's 34 frames.

Each model is a small record of what differs (how to run it, what it draws on top, its
title); ONE frame loop (:func:`frame_loop`) draws every frame of every model.
"""

from __future__ import annotations

import functools
import hashlib
import io
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


# ---- parameters (named once) -------------------------------------------------------
TRACE_TAUS = (1, 2, 4, 8, 16, 32, 64, 128)  # steps, log-spaced
SURFACE_TAUS = (1, 2, 4, 8, 16, 32, 64, 128, 256)  # steps (= bins), log-spaced
TRACE_STEPS = 200  # length of the trace inputs
TRACE_CONSTANT = 1.0  # constant input current
TRACE_OSC_MAX_X = 8 * np.pi  # cosine_signal(max_x): 4 periods
TRACE_THRESHOLD = 0.5  # LIF trace threshold (input in [0, 1])
SURFACE_SHAPE = (350, 500)  # shown channels x time bins
SURFACE_LOG_RANGE = (1e-3, 1.0)  # LI surface colour scale (log)
DPI = 100
TRACE_SIZE_PX = (640, 400)  # frame width x height, traces
SURFACE_MARGINS_PX = (62, 46, 52, 110)  # left, bottom, top, right of the surface box
SURFACE_CMAP = "magma"  # perceptually uniform, dark = 0
SURFACE_LEVELS = 192  # colour-map steps (rest: greys, lines)
SPIKE_COLOUR = "#3fd0ff"  # LIF output spikes on the surface
TEXT_COLOUR = "#222222"


@dataclass
class Frames:
    """Precomputed frames of one slider.

    taus[k] is the tau of frame k, labels[k] its slider label, pngs[k] its PNG bytes,
    data[k] the arrays the frame draws (for tests), size the frame's (width, height)."""

    taus: tuple
    labels: list
    pngs: list
    data: list
    size: tuple
    seconds: float = 0.0
    titles: list = field(default_factory=list)

    def digest(self, k: int) -> str:
        """sha256 of frame k's PNG bytes."""
        return hashlib.sha256(self.pngs[k]).hexdigest()


# ---- checks and labels -----------------------------------------------------------------
def check_taus(taus) -> tuple:
    """At least two finite, strictly increasing tau >= 1 (whole numbers kept as int)."""
    taus = tuple(float(t) if not float(t).is_integer() else int(t) for t in taus)
    if len(taus) < 2:
        raise ValueError(f"need at least two tau values, got {taus!r}")
    if any(not np.isfinite(t) or t < 1 for t in taus):
        raise ValueError(f"every tau must be a finite number >= 1 (in steps), got {taus!r}")
    if any(b <= a for a, b in zip(taus, taus[1:])):
        raise ValueError(f"tau values must be strictly increasing, got {taus!r}")
    return taus


def check_threshold(threshold) -> float:
    if threshold is None or not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
    return float(threshold)


def fmt(x: float) -> str:
    return f"{x:g}"


def tau_label(tau: float, bin_width: float | None = None) -> str:
    """Slider label of one tau: ``tau = 8 steps`` or, with a bin width in seconds,
    ``tau = 8 steps (8 ms)``."""
    steps = "step" if tau == 1 else "steps"
    label = f"tau = {fmt(tau)} {steps}"
    if bin_width is not None:
        if not bin_width > 0:
            raise ValueError(f"bin_width must be > 0 seconds, got {bin_width!r}")
        ms = tau * bin_width * 1e3
        label += f" ({fmt(round(ms, 3))} ms)" if ms < 1000 else f" ({fmt(round(ms / 1e3, 3))} s)"
    return label


# ---- drawing ---------------------------------------------------------------------------
def palette_image(cmap, extra=()):
    """A 256-colour PIL palette image: the colour map's own colours, greys for text and
    antialiasing, and the few line colours (so surfaces and colour bars keep every shade)."""
    from PIL import Image
    from matplotlib.colors import to_rgb

    cols = [tuple(int(round(255 * c)) for c in cmap(i)[:3]) for i in range(cmap.N)]
    cols += [(g, g, g) for g in np.linspace(0, 255, 256 - cmap.N - len(extra)).round().astype(int)]
    cols += [tuple(int(round(255 * c)) for c in to_rgb(e)) for e in extra]
    assert len(cols) == 256, len(cols)
    pal = Image.new("P", (1, 1))
    pal.putpalette([v for c in cols for v in c])
    return pal


def figure_png(fig, palette=None) -> bytes:
    """Render a matplotlib figure to an 8-bit palette PNG (deterministic bytes): an
    adaptive palette for line plots, or the given fixed palette (surfaces)."""
    from PIL import Image

    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    img = Image.fromarray(rgba[..., :3].copy(), "RGB")
    if palette is None:
        img = img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    else:
        img = img.quantize(palette=palette, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def new_figure(width_px: int, height_px: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def style_axes(ax):
    ax.set_facecolor("white")
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    ax.tick_params(colors=TEXT_COLOUR, labelsize=9)
    ax.xaxis.label.set_color(TEXT_COLOUR)
    ax.yaxis.label.set_color(TEXT_COLOUR)


def default_style(func):
    """Draw with matplotlib's default style whatever rcParams the notebook has set, so the
    frames are the same in the book, a live notebook and the tests."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context():
            matplotlib.rcdefaults()
            return func(*args, **kwargs)

    return wrapper


# ---- the one frame loop ----------------------------------------------------------------
#: draw(tau, label) -> (arrays shown, title): updates the figure's artists for one tau
Draw = Callable[[float, str], tuple]


def frame_loop(
    fig, taus, label_of: Callable[[float], str], draw: Draw, palette=None, started: float | None = None
) -> Frames:
    """Every frame of one slider: for each tau, update the figure and keep its PNG."""
    started = time.perf_counter() if started is None else started
    labels, pngs, data, titles = [], [], [], []
    for tau in taus:
        label = label_of(tau)
        arrays, title = draw(tau, label)
        labels.append(label)
        titles.append(title.replace("\n", ", "))
        pngs.append(figure_png(fig, palette))
        data.append(arrays)
    w, h = (int(round(v)) for v in fig.get_size_inches() * DPI)
    return Frames(taus, labels, pngs, data, (w, h), time.perf_counter() - started, titles)


def models():
    """The module's reference fast paths ``li``, ``lif`` (its manifest's ``models``; never
    reimplemented here)."""
    from course.manifest import module

    code = module().code("models")
    return code.li, code.lif
