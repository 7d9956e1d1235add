"""Tau sliders that move pictures on the static website and in a live notebook.

Every slider is an ``ipywidgets.SelectionSlider`` whose ``index`` is linked *in the
browser* (``widgets.jslink``) to the ``selected_index`` of a ``widgets.Stack`` of frames
(``widgets.HTML`` holding an ``<img>`` with a data: URI and alt text; ``widgets.Image``
has no alt text).  The frames are PNG pictures precomputed from the reference
models (``solutions.neurons.li`` / ``solutions.neurons.lif``) when the cell runs, so the
widget state that myst-nb saves into the page carries every picture: moving the slider
on the static page needs no kernel, no callback and no network.  The same cell works
unchanged in JupyterLab / Jupyter Notebook with a live kernel.

Chapter usage (one cell each, tagged ``remove-input``)::

    from course.sliders import li_trace_slider
    li_trace_slider()

Design decisions (see the functions for the parameters):

* tau values are log-spaced (powers of two) and each option is labelled with its unit,
  ``"tau = 8 steps"`` for the traces (time in steps) and ``"tau = 8 steps (8 ms)"`` for
  the surfaces (one step = one raster bin of ``bin_width`` seconds).
* Colour scale of the time surfaces: ONE scale for all tau of a slider, with a colour
  bar, so that brightness means the same voltage in every frame and moving the slider
  shows what tau really does (a larger tau gives longer but *lower* traces of each
  spike).  The leaky-integrator surface uses a fixed logarithmic scale (voltages span
  three decades between tau = 1 and tau = 256; a linear scale would make the large-tau
  frames black); the LIF membrane uses a fixed linear scale from 0 to the threshold
  (the membrane never exceeds it after the reset), with output spikes drawn on top.
* Legibility in light and dark mode: frames are opaque, white background, dark text
  (a white card is legible on both themes; a transparent frame would need a text
  colour that works on both, which the colour bars and spike markers do not have).
* Size: surfaces are reduced to at most 350 x 500 (channels x time) by whole-block
  reduction (mean for voltages, max for spikes; 2 x 2 for a 700 x 1000 raster) and drawn
  into a 500 x 350 px box; all frames are 8-bit palette PNGs (a fixed palette of the
  colour map's own colours for the surfaces, so the colour bar keeps every shade).
  34 frames are ~0.8 MB of PNG, ~1.1 MB base64 in the page (bench/bench_sliders.py).
* Accessibility: next to the slider, a labelled drop-down ("time constant") with the same
  options, linked the same way, is the visible readout; the slider itself is named "time
  constant tau" and reads the option's label (tau with its unit) as its value; every frame
  is an ``<img>`` whose alt text says what it shows, including tau.

Task 4.3 grading stand-in: :func:`drive_widget` drives a student's widget inside the
kernel and checks that the picture or data it shows changes with tau.
"""
from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "TRACE_TAUS", "SURFACE_TAUS", "TRACE_STEPS", "TRACE_THRESHOLD",
    "Frames", "tau_label", "sample_raster", "reduce_blocks",
    "li_trace_frames", "lif_trace_frames", "li_surface_frames", "lif_surface_frames",
    "tau_slider", "frame_html", "li_trace_slider", "lif_trace_slider", "li_surface_slider",
    "lif_surface_slider", "drive_widget", "WidgetDriveError",
]

# ---- parameters (named once) -------------------------------------------------------
TRACE_TAUS = (1, 2, 4, 8, 16, 32, 64, 128)          # steps, log-spaced
SURFACE_TAUS = (1, 2, 4, 8, 16, 32, 64, 128, 256)   # steps (= bins), log-spaced
TRACE_STEPS = 200                                   # length of the trace inputs
TRACE_CONSTANT = 1.0                                # constant input current
TRACE_OSC_MAX_X = 8 * np.pi                         # cosine_signal(max_x): 4 periods
TRACE_THRESHOLD = 0.5                               # LIF trace threshold (input in [0, 1])
SURFACE_SHAPE = (350, 500)                          # shown channels x time bins
SURFACE_LOG_RANGE = (1e-3, 1.0)                     # LI surface colour scale (log)
START_INDEX = 3                                     # initial tau = 8 steps
SLIDER_NAME = "time constant tau"                   # the range input's accessible name
DPI = 100
TRACE_SIZE_PX = (640, 400)                          # frame width x height, traces
SURFACE_CMAP = "magma"                              # perceptually uniform, dark = 0
SURFACE_LEVELS = 192                                # colour-map steps (rest: greys, lines)
SPIKE_COLOUR = "#3fd0ff"                            # LIF output spikes on the surface
RASTER_SHAPE = (700, 1000)                          # stand-in raster, channels x bins
REPO_ROOT = Path(__file__).resolve().parent.parent
SHD_LOADER = REPO_ROOT / "book" / "module1" / "shd_data.py"


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


# ---- small helpers ---------------------------------------------------------------------
def _models():
    """The reference fast paths (never reimplemented here)."""
    from solutions.neurons import li, lif
    return li, lif


def _check_taus(taus) -> tuple:
    taus = tuple(float(t) if not float(t).is_integer() else int(t) for t in taus)
    if len(taus) < 2:
        raise ValueError(f"need at least two tau values, got {taus!r}")
    if any(not np.isfinite(t) or t < 1 for t in taus):
        raise ValueError(f"every tau must be a finite number >= 1 (in steps), got {taus!r}")
    if any(b <= a for a, b in zip(taus, taus[1:])):
        raise ValueError(f"tau values must be strictly increasing, got {taus!r}")
    return taus


def _fmt(x: float) -> str:
    return f"{x:g}"


def tau_label(tau: float, bin_width: float | None = None) -> str:
    """Slider label of one tau: ``tau = 8 steps`` or, with a bin width in seconds,
    ``tau = 8 steps (8 ms)``."""
    steps = "step" if tau == 1 else "steps"
    label = f"tau = {_fmt(tau)} {steps}"
    if bin_width is not None:
        if not bin_width > 0:
            raise ValueError(f"bin_width must be > 0 seconds, got {bin_width!r}")
        ms = tau * bin_width * 1e3
        label += f" ({_fmt(round(ms, 3))} ms)" if ms < 1000 else f" ({_fmt(round(ms / 1e3, 3))} s)"
    return label


def sample_raster(index: int = 0, bin_width: float = 1e-3) -> np.ndarray:
    """The spiking-digit raster (700, T) from ``book/module1/shd_data.py``; until that
    loader exists, a seeded random sparse stand-in of shape (700, 1000) (with a warning)."""
    if SHD_LOADER.exists():
        spec = importlib.util.spec_from_file_location("shd_data", SHD_LOADER)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        if Path(mod.DEFAULT_SAMPLE).exists():
            return np.asarray(mod.load_raster(index=index, bin_width=bin_width),
                              dtype=np.float32)
    warnings.warn("the shipped SHD sample (book/module1/shd_data.py, DEFAULT_SAMPLE) is not "
                  "there yet: using a seeded random stand-in raster", stacklevel=2)
    rng = np.random.default_rng(index)
    rate = 0.002 + 0.04 * rng.random((RASTER_SHAPE[0], 1))       # spikes per bin per channel
    envelope = np.exp(-0.5 * ((np.arange(RASTER_SHAPE[1]) - 500) / 200) ** 2)
    return (rng.random(RASTER_SHAPE) < rate * envelope).astype(np.float32)


def reduce_blocks(a: np.ndarray, shape: tuple, how: str = "mean") -> np.ndarray:
    """Shrink a (channels, time) array to at most ``shape`` by whole-block mean or max
    (block sizes ceil(n / target); the ragged edge is padded with edge values/zeros)."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"expected a (channels, time) array, got shape {a.shape}")
    out = a
    for axis, target in enumerate(shape):
        n = out.shape[axis]
        f = -(-n // target)                      # ceil
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


def _check_raster(raster) -> np.ndarray:
    try:
        import torch  # noqa: F401
        if hasattr(raster, "detach"):
            raster = raster.detach().cpu().numpy()
    except ImportError:
        pass
    r = np.asarray(raster, dtype=np.float32)
    if r.ndim != 2 or min(r.shape) < 2:
        raise ValueError(f"raster must be a (channels, time) array, got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("raster contains NaN or infinite values")
    return r


# ---- drawing ---------------------------------------------------------------------------
def _palette(cmap, extra=()):
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


def _png(fig, palette=None) -> bytes:
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


def _figure(width_px: int, height_px: int):
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _style_axes(ax):
    ax.set_facecolor("white")
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    ax.tick_params(colors="#222222", labelsize=9)
    ax.xaxis.label.set_color("#222222")
    ax.yaxis.label.set_color("#222222")


def _default_style(func):
    """Draw with matplotlib's default style whatever rcParams the notebook has set, so the
    frames are the same in the book, a live notebook and the tests."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import matplotlib
        with matplotlib.rc_context():
            matplotlib.rcdefaults()
            return func(*args, **kwargs)
    return wrapper


@_default_style
def _trace_frames(kind: str, taus, threshold: float | None, steps: int) -> Frames:
    from solutions.reference import cosine_signal
    li, lif = _models()
    taus = _check_taus(taus)
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps!r}")
    t0 = time.perf_counter()
    inputs = [("constant input", np.full(steps, TRACE_CONSTANT)),
              ("oscillating input (cos x + 1) / 2",
               np.asarray(cosine_signal(TRACE_OSC_MAX_X, samples=steps), dtype=float))]
    w, h = TRACE_SIZE_PX
    fig = _figure(w, h)
    axes = fig.subplots(2, 1, sharex=True)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.8, bottom=0.11, hspace=0.42)
    k = np.arange(steps)
    lines, spike_marks = [], []
    for ax, (name, x) in zip(axes, inputs):
        _style_axes(ax)
        ax.plot(k, x, color="#9a9a9a", lw=1.2, label="input")
        (line,) = ax.plot(k, x * 0, color="#1f5fbf", lw=1.8,
                          label="voltage v" if kind == "li" else "membrane v")
        lines.append(line)
        if kind == "lif":
            ax.axhline(threshold, color="#c0392b", lw=1.2, ls="--", label="threshold")
            (marks,) = ax.plot([], [], ls="none", marker="|", ms=9, mew=1.6,
                               color="#c0392b", label="spike")
            spike_marks.append(marks)
        ax.set_ylim(-0.05, 1.15 if kind == "li" else 1.25)
        ax.set_ylabel("v", color="#222222", rotation=0, labelpad=10)
        ax.set_title(name, fontsize=10, color="#222222", loc="left")
    axes[-1].set_xlabel("time step k")
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper left", bbox_to_anchor=(0.09, 0.935), ncol=4,
               fontsize=9, frameon=False, labelcolor="#222222", handlelength=1.6)
    suptitle = fig.suptitle("", fontsize=11, color="#111111", x=0.1, y=0.985, ha="left")
    labels, pngs, data, titles = [], [], [], []
    for tau in taus:
        label = tau_label(tau)
        arrays = {}
        for i, (name, x) in enumerate(inputs):
            if kind == "li":
                v = np.asarray(li(x, tau), dtype=float)
                lines[i].set_ydata(v)
                arrays[f"v{i}"] = v
            else:
                z, v = lif(x, tau, threshold)
                z, v = np.asarray(z, dtype=float), np.asarray(v, dtype=float)
                lines[i].set_ydata(v)
                sk = np.flatnonzero(z > 0)
                spike_marks[i].set_data(sk, np.full(sk.size, 1.15))
                arrays[f"v{i}"], arrays[f"z{i}"] = v, z
        what = "Leaky integrator" if kind == "li" else f"LIF neuron, threshold {_fmt(threshold)}"
        title = f"{what}, {label}"
        suptitle.set_text(title)
        labels.append(label)
        titles.append(title)
        pngs.append(_png(fig))
        data.append(arrays)
    return Frames(taus, labels, pngs, data, (w, h), time.perf_counter() - t0, titles)


def li_trace_frames(taus=TRACE_TAUS, steps: int = TRACE_STEPS) -> Frames:
    """Frames of the leaky-integrator voltage for a constant and an oscillating input."""
    return _trace_frames("li", taus, None, steps)


def lif_trace_frames(taus=TRACE_TAUS, threshold: float = TRACE_THRESHOLD,
                     steps: int = TRACE_STEPS) -> Frames:
    """Frames of the LIF membrane (threshold line, spikes) for the same two inputs."""
    if not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
    return _trace_frames("lif", taus, float(threshold), steps)


@_default_style
def _surface_frames(kind: str, raster, taus, threshold, bin_width) -> Frames:
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm, Normalize
    li, lif = _models()
    taus = _check_taus(taus)
    r = _check_raster(raster)
    t0 = time.perf_counter()
    ch, nt = r.shape
    shown = reduce_blocks(np.zeros((ch, nt)), SURFACE_SHAPE).shape
    fy, fx = -(-ch // SURFACE_SHAPE[0]), -(-nt // SURFACE_SHAPE[1])
    # figure: the surface fills a SURFACE_SHAPE pixel box (1:1 when the reduced raster has
    # that shape, stretched by whole or nearest pixels otherwise), colour bar on the right
    box_h, box_w = SURFACE_SHAPE
    left, bottom, top, right = 62, 46, 52, 110
    w, h = box_w + left + right, box_h + bottom + top
    fig = _figure(w, h)
    ax = fig.add_axes((left / w, bottom / h, box_w / w, box_h / h))
    cax = fig.add_axes(((left + box_w + 14) / w, bottom / h, 14 / w, box_h / h))
    _style_axes(ax)
    cmap = colormaps[SURFACE_CMAP].resampled(SURFACE_LEVELS)
    palette = _palette(cmap, extra=(SPIKE_COLOUR,))
    if kind == "li":
        lo, hi = SURFACE_LOG_RANGE
        norm = LogNorm(lo, hi, clip=True)
        cmap.set_bad(cmap(0.0))
        cmap.set_under(cmap(0.0))
        clabel = "voltage v (log scale)"
    else:
        norm = Normalize(0.0, threshold, clip=True)
        clabel = "membrane v (0 to threshold)"
    extent = (-0.5 * fx, (shown[1] - 0.5) * fx, (shown[0] - 0.5) * fy, -0.5 * fy)
    im = ax.imshow(np.zeros(shown), cmap=cmap, norm=norm, aspect="auto",
                   interpolation="nearest", extent=extent)
    cb = fig.colorbar(im, cax=cax)
    cb.set_label(clabel, color="#222222", fontsize=9)
    cb.ax.tick_params(colors="#222222", labelsize=8)
    ax.set_xlabel(f"time bin ({_fmt(bin_width * 1e3)} ms each)")
    ax.set_ylabel("channel (0 = highest frequency)")
    title = fig.text(left / w, 1 - 8 / h, "", fontsize=10, color="#111111", ha="left",
                     va="top", linespacing=1.4)
    spikes_art = None
    if kind == "lif":
        (spikes_art,) = ax.plot([], [], ls="none", marker="s", ms=1.2, mew=0,
                                color=SPIKE_COLOUR, label="output spike")
    labels, pngs, data, titles = [], [], [], []
    for tau in taus:
        label = tau_label(tau, bin_width)
        if kind == "li":
            v = np.asarray(li(r, tau), dtype=np.float64)
            small = reduce_blocks(v, SURFACE_SHAPE, "mean")
            im.set_data(np.ma.masked_less_equal(small, 0))
            arrays = {"v": v}
            text = f"Leaky-integrator time surface\n{label}"
        else:
            z, v = lif(r, tau, threshold)
            z, v = np.asarray(z, dtype=np.float64), np.asarray(v, dtype=np.float64)
            im.set_data(reduce_blocks(v, SURFACE_SHAPE, "mean"))
            zs = reduce_blocks(z, SURFACE_SHAPE, "max")
            yy, xx = np.nonzero(zs)
            spikes_art.set_data(xx * fx, yy * fy)
            arrays = {"v": v, "z": z}
            text = (f"LIF time surface, threshold {_fmt(threshold)}\n{label}: "
                    f"{int(z.sum())} output spikes")
        title.set_text(text)
        labels.append(label)
        titles.append(text.replace("\n", ", "))
        pngs.append(_png(fig, palette))
        data.append(arrays)
    return Frames(taus, labels, pngs, data, (w, h), time.perf_counter() - t0, titles)


def li_surface_frames(raster, taus=SURFACE_TAUS, bin_width: float = 1e-3) -> Frames:
    """Frames of the leaky-integrator time surface li(raster, tau) (Task 4.1)."""
    return _surface_frames("li", raster, taus, None, bin_width)


def lif_surface_frames(raster, threshold: float, taus=SURFACE_TAUS,
                       bin_width: float = 1e-3) -> Frames:
    """Frames of the LIF time surface lif(raster, tau, threshold) (Task 4.2)."""
    if threshold is None or not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
    return _surface_frames("lif", raster, taus, float(threshold), bin_width)


# ---- the widget --------------------------------------------------------------------------
def frame_html(png: bytes, alt: str, size: tuple) -> str:
    """One frame as an ``<img>`` with a data: URI and alt text (what a screen reader says).

    ``widgets.Image`` has no alt text, and its ``tooltip`` breaks the html-manager
    (``updateTooltip`` reads the missing ``description``), so frames are HTML widgets."""
    w, h = size
    alt = alt.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    b64 = base64.b64encode(png).decode("ascii")
    return (f'<img class="tau-frame" src="data:image/png;base64,{b64}" alt="{alt}" '
            f'width="{w}" height="{h}" style="width:100%;max-width:{w}px;height:auto;'
            f'display:block">')


def tau_slider(frames: Frames, description: str = "time constant", tooltip: str = "",
               start: int = START_INDEX):
    """VBox(HBox(choice, slider), Stack(frames)): a labelled drop-down and a slider, both
    jslinked (``index`` <-> ``selected_index``) to a Stack of the precomputed frames.

    The slider is for the mouse and the arrow keys; the drop-down (a native ``<select>``
    with a ``<label>``, so screen readers announce "time constant, tau = 8 steps (8 ms)")
    is the slider's visible readout and its twin.  The slider's description
    (``SLIDER_NAME``, "time constant tau") is its accessible name; its (hidden) readout is
    the option's label, so it reads the tau with its unit.  ipywidgets' noUiSlider handle
    does not use either by itself: on the site ``book/_static/a11y.js`` links the handle to
    them and ``book/_static/a11y.css`` hides the description, which repeats the
    drop-down's visible label.  Each frame's alt text names its tau, and only the shown
    frame is displayed, so the picture's text changes with the slider.  ``slider.value``
    (and ``choice.value``) is the tau of the shown frame, in steps, in a live kernel."""
    import ipywidgets as widgets
    n = len(frames.pngs)
    start = min(max(int(start), 0), n - 1)
    w, _ = frames.size
    options = list(zip(frames.labels, frames.taus))
    images = [widgets.HTML(frame_html(png, title, frames.size)) for png, title
              in zip(frames.pngs, frames.titles)]
    stack = widgets.Stack(images, selected_index=start)
    tip = tooltip or f"{description} tau"
    choice = widgets.Dropdown(options=options, index=start, description=description,
                              tooltip=tip, style={"description_width": "initial"},
                              layout=widgets.Layout(width="auto", flex="0 0 auto"))
    slider = widgets.SelectionSlider(options=options, index=start, description=SLIDER_NAME,
                                     tooltip=tip, continuous_update=True, readout=False,
                                     layout=widgets.Layout(width="auto", flex="1 1 auto"))
    links = (widgets.jslink((slider, "index"), (stack, "selected_index")),
             widgets.jslink((choice, "index"), (stack, "selected_index")))
    controls = widgets.HBox([choice, slider], layout=widgets.Layout(width="100%"))
    box = widgets.VBox([controls, stack], layout=widgets.Layout(max_width=f"{w + 24}px"))
    box.add_class("tau-slider")
    box.slider, box.choice, box.stack, box.links, box.frames = slider, choice, stack, links, frames
    return box


def li_trace_slider(taus=TRACE_TAUS):
    """Tau slider over the leaky-integrator trace (constant and oscillating input)."""
    return tau_slider(li_trace_frames(taus), tooltip="Time constant tau of the leaky integrator")


def lif_trace_slider(taus=TRACE_TAUS, threshold: float = TRACE_THRESHOLD):
    """Tau slider over the LIF membrane trace with its threshold line and spikes."""
    return tau_slider(lif_trace_frames(taus, threshold),
                      tooltip="Time constant tau of the LIF neuron")


def li_surface_slider(raster, taus=SURFACE_TAUS, bin_width: float = 1e-3):
    """Tau slider over the leaky-integrator time surface of a (channels, time) raster."""
    return tau_slider(li_surface_frames(raster, taus, bin_width),
                      tooltip="Time constant tau of the leaky-integrator time surface")


def lif_surface_slider(raster, threshold: float, taus=SURFACE_TAUS, bin_width: float = 1e-3):
    """Tau slider over the LIF time surface (membrane, output spikes) of a raster."""
    return tau_slider(lif_surface_frames(raster, threshold, taus, bin_width),
                      tooltip="Time constant tau of the LIF time surface")


# ---- Task 4.3: driving a student's widget (grading stand-in) -----------------------------
class WidgetDriveError(AssertionError):
    """The student's widget could not be driven, or what it shows does not follow tau."""


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()) or ():
        yield from _walk(child)


def _controls(widget):
    import ipywidgets as widgets
    kinds = (widgets.widget_int._Int, widgets.widget_float._Float,
             widgets.widget_selection._Selection)
    return [w for w in _walk(widget) if isinstance(w, kinds)
            and not isinstance(w, (widgets.Play, widgets.IntProgress, widgets.FloatProgress))]


def _find_control(widget, control):
    if control is not None:
        return control
    found = _controls(widget)
    if len(found) > 1:
        named = [w for w in found
                 if any(k in str(getattr(w, "description", "")).lower() for k in ("tau", "τ"))]
        found = named or found
    if len(found) != 1:
        raise WidgetDriveError(
            f"expected one tau control (slider, dropdown, ...) in the widget, found "
            f"{len(found)}: {[type(w).__name__ for w in found]}; pass control=<the slider>")
    return found[0]


def _default_values(ctl):
    """Two clearly different tau values the control accepts (a quarter and three
    quarters of its range, or its second and last option)."""
    import ipywidgets as widgets
    if isinstance(ctl, widgets.widget_selection._Selection):
        opts = [o[1] if isinstance(o, tuple) else o for o in ctl.options]
        if len(opts) < 2:
            raise WidgetDriveError("the tau control offers fewer than two options")
        return [opts[min(1, len(opts) - 1)], opts[-1]]
    lo, hi = float(ctl.min), float(ctl.max)
    if not hi > lo:
        raise WidgetDriveError(f"the tau control's range [{lo}, {hi}] is empty")
    vals = [lo + 0.25 * (hi - lo), lo + 0.75 * (hi - lo)]
    if isinstance(ctl, widgets.FloatLogSlider):
        base = float(ctl.base)
        vals = [base ** v for v in vals]
    if isinstance(ctl, widgets.widget_int._Int):
        vals = [int(round(v)) for v in vals]
    return vals


def _digest(obj) -> str:
    h = hashlib.sha256()
    if isinstance(obj, (bytes, bytearray, memoryview)):
        h.update(bytes(obj))
    elif isinstance(obj, np.ndarray):
        h.update(str(obj.shape).encode())
        h.update(np.ascontiguousarray(obj, dtype=np.float64).tobytes())
    else:
        h.update(repr(obj).encode())
    return h.hexdigest()[:16]


def drive_widget(widget, values=None, control=None, expected=None, require_repeatable=True):
    """Drive a student's tau widget inside the kernel and check that what it shows follows tau.

    ``widget``: what the student's cell shows: an ``interactive`` (``interact`` /
    ``interactive``), a box holding a slider and an ``Output`` / ``Image``, or the slider
    itself (when its ``observe`` callbacks draw somewhere).  The tau control is found in the
    widget tree (the one value widget, or the one whose description mentions tau), or given
    as ``control``.  For each of two tau ``values`` (default: a quarter and three quarters of
    the control's range), the control's value is set from Python, which runs the student's
    callbacks synchronously, and everything the widget then shows is recorded: what was
    displayed (images, text; errors count as failures), the bytes of every ``Image`` widget
    in the tree, and ``interactive.result``.  Then the first value is set again.

    Raises :class:`WidgetDriveError` when nothing is shown, when an update raised or showed
    a traceback, when two different taus show the same thing, when ``require_repeatable``
    and the first tau does not show the same thing again, or when ``expected`` (a function
    tau -> array) is given and ``interactive.result`` differs from ``expected(tau)``.
    Returns ``{tau: digest}``.  The control's original value is restored.
    """
    import ipywidgets as widgets
    ctl = _find_control(widget, control)
    vals = list(values) if values is not None else _default_values(ctl)
    if len(vals) < 2 or len({repr(v) for v in vals}) < 2:
        raise WidgetDriveError(f"need two different tau values, got {vals!r}")
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:
        shell = None
    pub = getattr(shell, "display_pub", None)
    shown: list = []
    errors: list = []

    def record(data, *args, **kwargs):
        shown.append({k: v for k, v in data.items()
                      if k in ("image/png", "image/svg+xml", "image/jpeg", "text/plain",
                               "text/html", "application/vnd.jupyter.widget-view+json")})
        return original(data, *args, **kwargs)

    original = getattr(pub, "publish", None)
    old_value = ctl.value

    def show(v):
        shown.clear()
        errors.clear()
        try:
            ctl.value = v
        except Exception as err:  # the student's callback raised while we set the value
            raise WidgetDriveError(f"setting tau = {v!r} raised {type(err).__name__}: {err}")
        parts = [("display", _digest(repr(shown)))] if shown else []
        for w in _walk(widget):
            if isinstance(w, widgets.Image) and w.value:
                parts.append(("image", _digest(w.value)))
        result = getattr(widget, "result", None)
        if result is not None:
            try:
                arr = np.asarray(result, dtype=np.float64)
                parts.append(("result", _digest(arr)))
                if expected is not None:
                    want = np.asarray(expected(v), dtype=np.float64)
                    if arr.shape != want.shape or not np.allclose(arr, want, rtol=1e-6,
                                                                  atol=1e-9):
                        raise WidgetDriveError(
                            f"at tau = {v!r} the widget's result differs from the expected "
                            f"surface (shape {arr.shape} vs {want.shape})")
            except (TypeError, ValueError):
                parts.append(("result", _digest(repr(result))))
        if errors:
            raise WidgetDriveError(f"at tau = {v!r} the widget's update failed: {errors[0]}")
        if not parts:
            raise WidgetDriveError(
                f"at tau = {v!r} the widget showed nothing (no image, no display, no result)")
        return _digest(repr(parts))

    if pub is not None:
        pub.publish = record
    saved_showtb = None
    if shell is not None:
        saved_showtb = shell.showtraceback
        shell.showtraceback = lambda *a, **k: errors.append(
            "an exception was shown (traceback) during the update")
    try:
        first = show(vals[0])
        digests = {vals[0]: first}
        for v in vals[1:]:
            digests[v] = show(v)
        again = show(vals[0])
    finally:
        if pub is not None:
            pub.publish = original
        if shell is not None:
            shell.showtraceback = saved_showtb
        try:
            ctl.value = old_value
        except Exception:
            pass
    distinct = set(digests.values())
    if len(distinct) < len(digests):
        raise WidgetDriveError(
            f"the widget shows the same picture/data for different tau values {vals!r}: "
            "it does not redraw when tau changes")
    if require_repeatable and again != first:
        raise WidgetDriveError(
            f"setting tau = {vals[0]!r} again shows something else than the first time")
    return digests
