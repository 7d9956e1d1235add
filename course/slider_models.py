"""What each slider shows: the leaky integrator (LI) and the LIF neuron, as traces over two
inputs and as time surfaces of a raster.

A model is a record of what differs between them: how to run it at one tau, the legend name
of its voltage, what it draws on top of the voltage (nothing, or the threshold and the output
spikes) and its title. The figure is laid out once per slider and drawn by the one frame loop
(:func:`course.slider_frames.frame_loop`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from course import slider_frames as F
from course.rasters import check_raster, reduce_blocks

TRACE_INPUT_NAMES = ("constant input", "oscillating input (cos x + 1) / 2")
LINE_COLOUR, INPUT_COLOUR, THRESHOLD_COLOUR = "#1f5fbf", "#9a9a9a", "#c0392b"


@dataclass(frozen=True)
class Model:
    """One neuron model as a slider shows it."""

    run: Callable  # (x, tau) -> {"v": membrane[, "z": spikes]} as float arrays
    voltage: str  # legend name of the voltage line
    ylim_top: float  # upper y limit of the traces
    overlay: Callable  # (ax, x_scale, y_scale) -> update(arrays): what is drawn on top
    title: Callable  # (label, arrays) -> frame title (surfaces)
    trace_name: str  # title prefix of the traces
    norm: Callable  # () -> (matplotlib norm, colour-bar label) of the surfaces
    surface: Callable  # arrays -> the picture of the surface (before block reduction)


def _nothing_on_top(ax, fx=1.0, fy=1.0):
    return lambda arrays: None


def li_model() -> Model:
    from matplotlib.colors import LogNorm

    li, _ = F.models()

    def norm():
        return LogNorm(*F.SURFACE_LOG_RANGE, clip=True), "voltage v (log scale)"

    return Model(
        run=lambda x, tau: {"v": np.asarray(li(x, tau), dtype=np.float64)},
        voltage="voltage v",
        ylim_top=1.15,
        overlay=_nothing_on_top,
        title=lambda label, a: f"Leaky-integrator time surface\n{label}",
        trace_name="Leaky integrator",
        norm=norm,
        surface=lambda a: np.ma.masked_less_equal(reduce_blocks(a["v"], F.SURFACE_SHAPE, "mean"), 0),
    )


def lif_model(threshold: float, surface: bool) -> Model:
    from matplotlib.colors import Normalize

    _, lif = F.models()
    th = F.fmt(threshold)

    def run(x, tau):
        z, v = lif(x, tau, threshold)
        return {"v": np.asarray(v, dtype=np.float64), "z": np.asarray(z, dtype=np.float64)}

    def trace_overlay(ax, fx=1.0, fy=1.0):
        ax.axhline(threshold, color=THRESHOLD_COLOUR, lw=1.2, ls="--", label="threshold")
        (marks,) = ax.plot([], [], ls="none", marker="|", ms=9, mew=1.6, color=THRESHOLD_COLOUR, label="spike")

        def update(a):
            sk = np.flatnonzero(a["z"] > 0)
            marks.set_data(sk, np.full(sk.size, 1.15))

        return update

    def surface_overlay(ax, fx, fy):
        (marks,) = ax.plot([], [], ls="none", marker="s", ms=1.2, mew=0, color=F.SPIKE_COLOUR, label="output spike")

        def update(a):
            yy, xx = np.nonzero(reduce_blocks(a["z"], F.SURFACE_SHAPE, "max"))
            marks.set_data(xx * fx, yy * fy)

        return update

    return Model(
        run=run,
        voltage="membrane v",
        ylim_top=1.25,
        overlay=surface_overlay if surface else trace_overlay,
        title=lambda label, a: f"LIF time surface, threshold {th}\n{label}: {int(a['z'].sum())} output spikes",
        trace_name=f"LIF neuron, threshold {th}",
        norm=lambda: (Normalize(0.0, threshold, clip=True), "membrane v (0 to threshold)"),
        surface=lambda a: reduce_blocks(a["v"], F.SURFACE_SHAPE, "mean"),
    )


# ---- traces ------------------------------------------------------------------------------
def trace_inputs(steps: int) -> list:
    from course.manifest import module

    cosine_signal = module().code("reference").cosine_signal
    return [np.full(steps, F.TRACE_CONSTANT), np.asarray(cosine_signal(F.TRACE_OSC_MAX_X, samples=steps), dtype=float)]


@F.default_style
def trace_frames(model: Model, taus, steps: int) -> F.Frames:
    """Frames of a model's voltage for a constant and an oscillating input, one per tau."""
    taus = F.check_taus(taus)
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps!r}")
    t0 = time.perf_counter()
    inputs = trace_inputs(steps)
    fig = F.new_figure(*F.TRACE_SIZE_PX)
    axes = fig.subplots(2, 1, sharex=True)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.8, bottom=0.11, hspace=0.42)
    k = np.arange(steps)
    lines, overlays = [], []
    for ax, name, x in zip(axes, TRACE_INPUT_NAMES, inputs):
        F.style_axes(ax)
        ax.plot(k, x, color=INPUT_COLOUR, lw=1.2, label="input")
        lines.append(ax.plot(k, x * 0, color=LINE_COLOUR, lw=1.8, label=model.voltage)[0])
        overlays.append(model.overlay(ax))
        ax.set_ylim(-0.05, model.ylim_top)
        ax.set_ylabel("v", color=F.TEXT_COLOUR, rotation=0, labelpad=10)
        ax.set_title(name, fontsize=10, color=F.TEXT_COLOUR, loc="left")
    axes[-1].set_xlabel("time step k")
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        names,
        loc="upper left",
        bbox_to_anchor=(0.09, 0.935),
        ncol=4,
        fontsize=9,
        frameon=False,
        labelcolor=F.TEXT_COLOUR,
        handlelength=1.6,
    )
    suptitle = fig.suptitle("", fontsize=11, color="#111111", x=0.1, y=0.985, ha="left")

    def draw(tau, label):
        arrays = {}
        for i, (x, line, update) in enumerate(zip(inputs, lines, overlays)):
            a = model.run(x, tau)
            line.set_ydata(a["v"])
            update(a)
            arrays.update({f"{key}{i}": value for key, value in a.items()})
        title = f"{model.trace_name}, {label}"
        suptitle.set_text(title)
        return arrays, title

    return F.frame_loop(fig, taus, F.tau_label, draw, started=t0)


# ---- surfaces ----------------------------------------------------------------------------
@F.default_style
def surface_frames(model: Model, raster, taus, bin_width: float) -> F.Frames:
    """Frames of a model's time surface of a (channels, time) raster, one per tau, on one
    colour scale with a colour bar."""
    from matplotlib import colormaps

    taus = F.check_taus(taus)
    r = check_raster(raster)
    t0 = time.perf_counter()
    ch, nt = r.shape
    shown = reduce_blocks(np.zeros((ch, nt)), F.SURFACE_SHAPE).shape
    fy, fx = -(-ch // F.SURFACE_SHAPE[0]), -(-nt // F.SURFACE_SHAPE[1])
    # the surface fills a SURFACE_SHAPE pixel box (1:1 when the reduced raster has that
    # shape, stretched by whole or nearest pixels otherwise), colour bar on the right
    box_h, box_w = F.SURFACE_SHAPE
    left, bottom, top, right = F.SURFACE_MARGINS_PX
    w, h = box_w + left + right, box_h + bottom + top
    fig = F.new_figure(w, h)
    ax = fig.add_axes((left / w, bottom / h, box_w / w, box_h / h))
    cax = fig.add_axes(((left + box_w + 14) / w, bottom / h, 14 / w, box_h / h))
    F.style_axes(ax)
    cmap = colormaps[F.SURFACE_CMAP].resampled(F.SURFACE_LEVELS)
    palette = F.palette_image(cmap, extra=(F.SPIKE_COLOUR,))
    cmap.set_bad(cmap(0.0))  # masked (v <= 0) and below-range voltages are drawn as 0
    cmap.set_under(cmap(0.0))
    norm, clabel = model.norm()
    extent = (-0.5 * fx, (shown[1] - 0.5) * fx, (shown[0] - 0.5) * fy, -0.5 * fy)
    im = ax.imshow(np.zeros(shown), cmap=cmap, norm=norm, aspect="auto", interpolation="nearest", extent=extent)
    cb = fig.colorbar(im, cax=cax)
    cb.set_label(clabel, color=F.TEXT_COLOUR, fontsize=9)
    cb.ax.tick_params(colors=F.TEXT_COLOUR, labelsize=8)
    ax.set_xlabel(f"time bin ({F.fmt(bin_width * 1e3)} ms each)")
    ax.set_ylabel("channel (0 = highest frequency)")
    title = fig.text(left / w, 1 - 8 / h, "", fontsize=10, color="#111111", ha="left", va="top", linespacing=1.4)
    update = model.overlay(ax, fx, fy)

    def draw(tau, label):
        arrays = model.run(r, tau)
        im.set_data(model.surface(arrays))
        update(arrays)
        text = model.title(label, arrays)
        title.set_text(text)
        return arrays, text

    return F.frame_loop(fig, taus, lambda tau: F.tau_label(tau, bin_width), draw, palette, t0)


# ---- the four sliders' frames --------------------------------------------------------------
def li_trace_frames(taus=F.TRACE_TAUS, steps: int = F.TRACE_STEPS) -> F.Frames:
    """Frames of the leaky-integrator voltage for a constant and an oscillating input."""
    return trace_frames(li_model(), taus, steps)


def lif_trace_frames(taus=F.TRACE_TAUS, threshold: float = F.TRACE_THRESHOLD, steps: int = F.TRACE_STEPS) -> F.Frames:
    """Frames of the LIF membrane (threshold line, spikes) for the same two inputs."""
    return trace_frames(lif_model(F.check_threshold(threshold), surface=False), taus, steps)


def li_surface_frames(raster, taus=F.SURFACE_TAUS, bin_width: float = 1e-3) -> F.Frames:
    """Frames of the leaky-integrator time surface li(raster, tau) (Task 4.1)."""
    return surface_frames(li_model(), raster, taus, bin_width)


def lif_surface_frames(raster, threshold: float, taus=F.SURFACE_TAUS, bin_width: float = 1e-3) -> F.Frames:
    """Frames of the LIF time surface lif(raster, tau, threshold) (Task 4.2)."""
    return surface_frames(lif_model(F.check_threshold(threshold), surface=True), raster, taus, bin_width)
