"""Tau sliders that move pictures on the static website and in a live notebook: the
chapter's four sliders.

Chapter usage (one cell each, tagged ``remove-input``)::

    from course.sliders import li_trace_slider
    li_trace_slider()

The pieces: :mod:`course.slider_frames` (parameters, the frame loop, PNG drawing),
:mod:`course.slider_models` (what the LI and LIF sliders draw), :mod:`course.tau_slider`
(the widget) and :mod:`course.rasters` (the spoken digit's raster). Their public names are
re-exported here. Task 4.3 (a student's own slider) is graded on the grader's side
(``grader/neurograder/widgets.py``).
"""

from __future__ import annotations

from course.rasters import reduce_blocks, sample_raster
from course.slider_frames import (
    SURFACE_TAUS,
    TRACE_CONSTANT,
    TRACE_OSC_MAX_X,
    TRACE_STEPS,
    TRACE_TAUS,
    TRACE_THRESHOLD,
    Frames,
    tau_label,
)
from course.slider_models import li_surface_frames, li_trace_frames, lif_surface_frames, lif_trace_frames
from course.tau_slider import SLIDER_NAME, TauSlider, frame_html, tau_slider

__all__ = [
    "TRACE_TAUS",
    "SURFACE_TAUS",
    "TRACE_STEPS",
    "TRACE_CONSTANT",
    "TRACE_OSC_MAX_X",
    "TRACE_THRESHOLD",
    "SLIDER_NAME",
    "Frames",
    "tau_label",
    "sample_raster",
    "reduce_blocks",
    "li_trace_frames",
    "lif_trace_frames",
    "li_surface_frames",
    "lif_surface_frames",
    "TauSlider",
    "tau_slider",
    "frame_html",
    "li_trace_slider",
    "lif_trace_slider",
    "li_surface_slider",
    "lif_surface_slider",
]


def li_trace_slider(taus=TRACE_TAUS) -> TauSlider:
    """Tau slider over the leaky-integrator trace (constant and oscillating input)."""
    return TauSlider(li_trace_frames(taus), tooltip="Time constant tau of the leaky integrator")


def lif_trace_slider(taus=TRACE_TAUS, threshold: float = TRACE_THRESHOLD) -> TauSlider:
    """Tau slider over the LIF membrane trace with its threshold line and spikes."""
    return TauSlider(lif_trace_frames(taus, threshold), tooltip="Time constant tau of the LIF neuron")


def li_surface_slider(raster, taus=SURFACE_TAUS, bin_width: float = 1e-3) -> TauSlider:
    """Tau slider over the leaky-integrator time surface of a (channels, time) raster."""
    return TauSlider(
        li_surface_frames(raster, taus, bin_width), tooltip="Time constant tau of the leaky-integrator time surface"
    )


def lif_surface_slider(raster, threshold: float, taus=SURFACE_TAUS, bin_width: float = 1e-3) -> TauSlider:
    """Tau slider over the LIF time surface (membrane, output spikes) of a raster."""
    return TauSlider(
        lif_surface_frames(raster, threshold, taus, bin_width), tooltip="Time constant tau of the LIF time surface"
    )
