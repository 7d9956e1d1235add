"""The tau slider widget: a labelled drop-down and a slider that flip through precomputed
frames in the browser, with no Python running.

Both controls' ``index`` is linked *in the browser* (``widgets.jslink``) to the
``selected_index`` of a ``widgets.Stack`` of frames (``widgets.HTML`` holding an ``<img>``
with a data: URI and alt text; ``widgets.Image`` has no alt text), so the widget state that
myst-nb saves into the page carries every picture. The same widget works unchanged in
JupyterLab / Jupyter Notebook with a live kernel.
"""

from __future__ import annotations

import base64

import ipywidgets as widgets

from course.slider_frames import Frames

START_INDEX = 3  # initial tau = 8 steps
SLIDER_NAME = "time constant tau"  # the range input's accessible name
CHOICE_NAME = "time constant"  # the drop-down's visible label
CSS_CLASS = "tau-slider"  # styled by book/_static/a11y.css


def frame_html(png: bytes, alt: str, size: tuple) -> str:
    """One frame as an ``<img>`` with a data: URI and alt text (what a screen reader says).

    ``widgets.Image`` has no alt text, and its ``tooltip`` breaks the html-manager
    (``updateTooltip`` reads the missing ``description``), so frames are HTML widgets."""
    w, h = size
    alt = alt.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    b64 = base64.b64encode(png).decode("ascii")
    return (
        f'<img class="tau-frame" src="data:image/png;base64,{b64}" alt="{alt}" '
        f'width="{w}" height="{h}" style="width:100%;max-width:{w}px;height:auto;'
        f'display:block">'
    )


class TauSlider(widgets.VBox):
    """VBox(HBox(choice, slider), Stack(frames)), both controls jslinked (``index`` <->
    ``selected_index``) to the Stack of the precomputed frames.

    The slider is for the mouse and the arrow keys; the drop-down (a native ``<select>`` with
    a ``<label>``, so screen readers announce "time constant, tau = 8 steps (8 ms)") is its
    visible readout and its twin. The slider's description (``SLIDER_NAME``) is its
    accessible name; its (hidden) readout is the option's label, so it reads the tau with
    its unit. ipywidgets' noUiSlider handle uses neither by itself: on the site
    ``book/_static/a11y.js`` links the handle to them and ``book/_static/a11y.css`` hides the
    description, which repeats the drop-down's visible label. Each frame's alt text names
    its tau, and only the shown frame is displayed.

    Attributes: ``slider``, ``choice``, ``stack``, ``links`` (the two jslinks) and
    ``frames``; ``slider.value`` (and ``choice.value``) is the tau of the shown frame, in
    steps, in a live kernel. The model on the page is a plain VBox.
    """

    def __init__(self, frames: Frames, description: str = CHOICE_NAME, tooltip: str = "", start: int = START_INDEX):
        n = len(frames.pngs)
        start = min(max(int(start), 0), n - 1)
        w, _ = frames.size
        options = list(zip(frames.labels, frames.taus))
        tip = tooltip or f"{description} tau"
        self.frames = frames
        self.stack = widgets.Stack(
            [widgets.HTML(frame_html(png, title, frames.size)) for png, title in zip(frames.pngs, frames.titles)],
            selected_index=start,
        )
        self.choice = widgets.Dropdown(
            options=options,
            index=start,
            description=description,
            tooltip=tip,
            style={"description_width": "initial"},
            layout=widgets.Layout(width="auto", flex="0 0 auto"),
        )
        self.slider = widgets.SelectionSlider(
            options=options,
            index=start,
            description=SLIDER_NAME,
            tooltip=tip,
            continuous_update=True,
            readout=False,
            layout=widgets.Layout(width="auto", flex="1 1 auto"),
        )
        self.links = (
            widgets.jslink((self.slider, "index"), (self.stack, "selected_index")),
            widgets.jslink((self.choice, "index"), (self.stack, "selected_index")),
        )
        controls = widgets.HBox([self.choice, self.slider], layout=widgets.Layout(width="100%"))
        super().__init__([controls, self.stack], layout=widgets.Layout(max_width=f"{w + 24}px"))
        self.add_class(CSS_CLASS)


def tau_slider(
    frames: Frames, description: str = CHOICE_NAME, tooltip: str = "", start: int = START_INDEX
) -> TauSlider:
    """A :class:`TauSlider` over ``frames``."""
    return TauSlider(frames, description, tooltip, start)
