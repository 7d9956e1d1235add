"""Task 4.3: drive a student's tau widget and record what it shows at several tau values.

Runs where the student's widget lives: in a Jupyter kernel, or in the grader's render
sandbox (shipped there as source text, like ``wire.py``), so it imports nothing from the
project; numpy and ipywidgets are imported when needed. Setting the tau control's value from
Python runs the student's callbacks synchronously; what they show is recorded through the
IPython shell (its display publisher and its traceback display), and Image widgets and
``interactive.result`` are read directly.

Steps: :func:`find_control` (the tau slider in the widget tree), :func:`tau_values` (values
spread over its range), :func:`show_at` (set one tau, return a :class:`View` of what is
shown), :func:`verdict` (do the views follow tau?). :func:`drive_widget` (raise on a
failure) and :func:`widget_frames` (the frames, for graders to look at) compose them.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

#: positions in the control's range that drive_widget sets (a quarter, three quarters)
DRIVE_POSITIONS = (0.25, 0.75)
#: mime types of a display that count as "what the widget shows"
SHOWN_TYPES = (
    "image/png",
    "image/svg+xml",
    "image/jpeg",
    "text/plain",
    "text/html",
    "application/vnd.jupyter.widget-view+json",
)
TAU_WORDS = ("tau", "τ")  # a control whose description names tau is the one


class WidgetDriveError(AssertionError):
    """The student's widget could not be driven, or what it shows does not follow tau."""


@dataclass
class View:
    """What the widget showed at one tau: digests of its parts and the PNG pictures."""

    tau: object
    parts: list = field(default_factory=list)  # (kind, digest)
    pngs: list = field(default_factory=list)  # PNG bytes (displayed figures, Image widgets)

    def digest(self) -> str:
        return digest(repr(self.parts))


def digest(obj) -> str:
    import numpy as np

    h = hashlib.sha256()
    if isinstance(obj, (bytes, bytearray, memoryview)):
        h.update(bytes(obj))
    elif isinstance(obj, np.ndarray):
        h.update(str(obj.shape).encode())
        h.update(np.ascontiguousarray(obj, dtype=np.float64).tobytes())
    else:
        h.update(repr(obj).encode())
    return h.hexdigest()[:16]


# ---- finding the control -----------------------------------------------------------------
def walk(widget):
    yield widget
    for child in getattr(widget, "children", ()) or ():
        yield from walk(child)


def tau_controls(widget) -> list:
    import ipywidgets as widgets

    kinds = (widgets.widget_int._Int, widgets.widget_float._Float, widgets.widget_selection._Selection)
    return [
        w
        for w in walk(widget)
        if isinstance(w, kinds) and not isinstance(w, (widgets.Play, widgets.IntProgress, widgets.FloatProgress))
    ]


def find_control(widget, control=None):
    """The one value control of the widget, or the one whose description names tau."""
    if control is not None:
        return control
    found = tau_controls(widget)
    if len(found) > 1:
        named = [w for w in found if any(k in str(getattr(w, "description", "")).lower() for k in TAU_WORDS)]
        found = named or found
    if len(found) != 1:
        raise WidgetDriveError(
            f"expected one tau control (slider, dropdown, ...) in the widget, found "
            f"{len(found)}: {[type(w).__name__ for w in found]}; pass control=<the slider>"
        )
    return found[0]


def tau_values(ctl, positions=DRIVE_POSITIONS) -> list:
    """Clearly different tau values the control accepts: those ``positions`` (fractions) of
    its range (log range for a FloatLogSlider), or options spread over its options."""
    import ipywidgets as widgets

    if isinstance(ctl, widgets.widget_selection._Selection):
        opts = [o[1] if isinstance(o, tuple) else o for o in ctl.options]
        if len(opts) < 2:
            raise WidgetDriveError("the tau control offers fewer than two options")
        if tuple(positions) == DRIVE_POSITIONS:
            return [opts[1], opts[-1]]
        return list(dict.fromkeys(opts[round(p * (len(opts) - 1))] for p in positions))
    lo, hi = float(ctl.min), float(ctl.max)
    if not hi > lo:
        raise WidgetDriveError(f"the tau control's range [{lo}, {hi}] is empty")
    vals = [lo + p * (hi - lo) for p in positions]
    if isinstance(ctl, widgets.FloatLogSlider):
        vals = [float(ctl.base) ** v for v in vals]
    if isinstance(ctl, widgets.widget_int._Int):
        vals = list(dict.fromkeys(int(round(v)) for v in vals))
    return vals


# ---- recording what one tau shows ----------------------------------------------------------
class Recorder:
    """While open: every display through the IPython shell and every traceback it would
    show (an exception in an ``interact`` callback) is recorded, not lost."""

    def __init__(self):
        try:
            from IPython import get_ipython

            self.shell = get_ipython()
        except ImportError:
            self.shell = None
        self.shown: list = []
        self.errors: list = []

    def clear(self):
        self.shown.clear()
        self.errors.clear()

    def __enter__(self):
        pub = getattr(self.shell, "display_pub", None)
        self._pub, self._publish = pub, getattr(pub, "publish", None)
        if pub is not None:

            def record(data, *args, **kwargs):
                self.shown.append({k: v for k, v in data.items() if k in SHOWN_TYPES})
                return self._publish(data, *args, **kwargs)

            pub.publish = record
        if self.shell is not None:
            self._showtb = self.shell.showtraceback
            self.shell.showtraceback = lambda *a, **k: self.errors.append(
                "an exception was shown (traceback) during the update"
            )
        return self

    def __exit__(self, *exc):
        if self._pub is not None:
            self._pub.publish = self._publish
        if self.shell is not None:
            self.shell.showtraceback = self._showtb


def _png_bytes(value) -> bytes:
    return value if isinstance(value, (bytes, bytearray)) else base64.b64decode(value)


def _check_expected(v, arr, expected):
    import numpy as np

    want = np.asarray(expected(v), dtype=np.float64)
    if arr.shape != want.shape or not np.allclose(arr, want, rtol=1e-6, atol=1e-9):
        raise WidgetDriveError(
            f"at tau = {v!r} the widget's result differs from the expected surface (shape {arr.shape} vs {want.shape})"
        )


def set_tau(ctl, v) -> None:
    try:
        ctl.value = v
    except Exception as err:  # the student's callback raised while we set the value
        raise WidgetDriveError(f"setting tau = {v!r} raised {type(err).__name__}: {err}") from None


def show_at(widget, ctl, v, rec: Recorder, expected=None) -> View:
    """Set tau = v and return what the widget then shows; raise if it shows an error or
    nothing, or (``expected``: tau -> array) a result other than ``expected(v)``."""
    import ipywidgets as widgets
    import numpy as np

    rec.clear()
    set_tau(ctl, v)
    view = View(v)
    if rec.shown:
        view.parts.append(("display", digest(repr(rec.shown))))
        view.pngs += [_png_bytes(d["image/png"]) for d in rec.shown if d.get("image/png")]
    for w in walk(widget):
        if isinstance(w, widgets.Image) and w.value:
            view.parts.append(("image", digest(w.value)))
            if w.format == "png":
                view.pngs.append(bytes(w.value))
    result = getattr(widget, "result", None)
    if result is not None:
        try:
            arr = np.asarray(result, dtype=np.float64)
            view.parts.append(("result", digest(arr)))
            if expected is not None:
                _check_expected(v, arr, expected)
        except (TypeError, ValueError):
            view.parts.append(("result", digest(repr(result))))
    if rec.errors:
        raise WidgetDriveError(f"at tau = {v!r} the widget's update failed: {rec.errors[0]}")
    if not view.parts:
        raise WidgetDriveError(f"at tau = {v!r} the widget showed nothing (no image, no display, no result)")
    return view


def verdict(views: list, again: View | None = None) -> None:
    """Raise unless every tau shows something different (and the first tau, set again,
    shows the same as the first time)."""
    vals = [v.tau for v in views]
    if len({v.digest() for v in views}) < len(views):
        raise WidgetDriveError(
            f"the widget shows the same picture/data for different tau values {vals!r}: "
            "it does not redraw when tau changes"
        )
    if again is not None and again.digest() != views[0].digest():
        raise WidgetDriveError(f"setting tau = {vals[0]!r} again shows something else than the first time")


def drive(widget, vals, ctl, expected=None, repeat=True) -> tuple:
    """Show each tau of ``vals`` in turn (then the first again when ``repeat``); the
    control's original value is restored. Returns (views, the repeated view or None)."""
    if len(vals) < 2 or len({repr(v) for v in vals}) < 2:
        raise WidgetDriveError(f"need two different tau values, got {vals!r}")
    old_value = ctl.value
    try:
        with Recorder() as rec:
            views = [show_at(widget, ctl, v, rec, expected) for v in vals]
            again = show_at(widget, ctl, vals[0], rec, expected) if repeat else None
    finally:
        try:
            ctl.value = old_value
        except Exception:
            pass
    return views, again


# ---- the two uses ------------------------------------------------------------------------
def drive_widget(widget, values=None, control=None, expected=None, require_repeatable=True):
    """Drive a student's tau widget and check that what it shows follows tau.

    ``widget``: what the student's cell shows (an ``interactive``, a box holding a slider
    and an ``Output`` / ``Image``, or the slider itself); the tau control is found in its
    tree or given as ``control``. For each of two tau ``values`` (default: a quarter and
    three quarters of the control's range) everything the widget then shows is recorded;
    then the first value is set again. Raises :class:`WidgetDriveError` when nothing is
    shown, when an update raised or showed a traceback, when two taus show the same thing,
    when ``require_repeatable`` and the first tau does not show the same thing again, or
    when ``expected`` (tau -> array) differs from ``interactive.result``. Returns
    ``{tau: digest}``; the control's original value is restored."""
    ctl = find_control(widget, control)
    vals = list(values) if values is not None else tau_values(ctl)
    views, again = drive(widget, vals, ctl, expected, require_repeatable)
    verdict(views, again)
    return {v.tau: v.digest() for v in views}


def widget_frames(widget, positions) -> dict:
    """What a grader looks at: the PNG pictures the widget shows at tau values spread over
    its control (``positions``; the views up to a failing one are kept), and ``problem``:
    why it fails Task 4.3, or None."""
    views, problem = [], None
    try:
        ctl = find_control(widget)
        with Recorder() as rec:
            for v in tau_values(ctl, positions):
                views.append(show_at(widget, ctl, v, rec))
        verdict(views)
    except WidgetDriveError as err:
        problem = str(err)
    return {"frames": [{"tau": repr(v.tau), "pngs": v.pngs} for v in views], "problem": problem}
