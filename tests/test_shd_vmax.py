"""The Task 4 `vmax` claim, measured on rendered pixels of the shipped sample (matplotlib Agg,
the backend that draws the book's figures): at 0.1 ms bins (~6,100 columns in ~1,000
pixels) an averaging renderer dilutes single spikes so the image looks nearly empty with
the default colour scale (vmax = the maximum count, 1), and lowering vmax brings them back;
with interpolation='none' the renderer picks one bin per pixel instead, and vmax changes
nothing."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("shd_data", ROOT / "book/module1/shd_data.py")
shd = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shd)


def ink(raster, **imshow_kwargs):
    """Mean darkness (0 = white, 1 = black) of the axes area when the raster is drawn in a
    16 x 4 inch figure at 72 dpi (about 1,000 x 230 pixels) with a white-to-black map."""
    fig = plt.figure(figsize=(16, 4), dpi=72)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_axis_off()
    ax.imshow(raster, aspect="auto", origin="upper", cmap="Greys", **imshow_kwargs)
    buf = io.BytesIO()
    fig.savefig(buf, format="rgba", dpi=72)
    plt.close(fig)
    w, h = fig.canvas.get_width_height()
    rgba = np.frombuffer(buf.getvalue(), dtype=np.uint8).reshape(h, w, 4)
    return 1 - rgba[..., :3].mean() / 255


@pytest.fixture(scope="module")
def rasters():
    return shd.load_raster(bin_width=1e-3), shd.load_raster(bin_width=1e-4)


def test_fine_bins_averaged_look_empty_until_vmax_is_lowered(rasters):
    """Averaged into pixels (interpolation_stage='data'), does the 0.1 ms raster draw at
    least 5x less ink with the default vmax than with vmax=0.1, and with vmax=0.1 about as
    much as the 1 ms raster where every bin has its own pixels?"""
    coarse, fine = rasters
    assert fine.max() == 1
    avg = dict(interpolation="antialiased", interpolation_stage="data")
    default, lowered = ink(fine, **avg), ink(fine, vmax=0.1, **avg)
    reference = ink(coarse, interpolation="none")
    assert lowered > 5 * default
    assert 0.4 * reference < lowered < 2 * reference


def test_nearest_pixel_rendering_ignores_vmax(rasters):
    """With interpolation='none' (one bin per pixel, the rest dropped) does vmax leave the
    0.1 ms image unchanged, and does it show several times less ink than the 1 ms image?"""
    coarse, fine = rasters
    none_default = ink(fine, interpolation="none")
    assert ink(fine, interpolation="none", vmax=0.1) == pytest.approx(none_default, rel=1e-6)
    assert none_default < 0.5 * ink(coarse, interpolation="none")
