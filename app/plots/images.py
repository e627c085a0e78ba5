"""Images for the eye: block means for the browser, a zscale stretch, pan and zoom.

Shared by the calibration pages (masters and difference images) and the Reprocess page
(reduced and difference frames with sources drawn over them).
"""

from __future__ import annotations

import math

import holoviews as hv
import numpy as np
from astropy.visualization import ZScaleInterval

#: Longest side, in pixels, of an image sent to the browser.
DISPLAY_MAX_SIDE = 1024


def downsample_factor(shape: tuple[int, ...], max_side: int = DISPLAY_MAX_SIDE) -> int:
    """The side of the blocks :func:`downsample` averages for an image of this shape."""
    return max(1, math.ceil(max(shape) / max_side))


def downsample(data: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> np.ndarray:
    """Block means (NaN ignored) so that no side exceeds ``max_side`` pixels.

    An image already small enough is returned as it is; a block of NaN only stays NaN.
    The blocks tile the image from (0, 0); a last partial row or column of blocks is left out.
    """
    data = np.asarray(data, dtype=np.float32)
    factor = downsample_factor(data.shape, max_side)
    if factor <= 1:
        return data
    ny, nx = (data.shape[0] // factor) * factor, (data.shape[1] // factor) * factor
    blocks = data[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor)
    finite = np.isfinite(blocks)
    sums = np.where(finite, blocks, 0).sum(axis=(1, 3), dtype=np.float64)
    counts = finite.sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan).astype(np.float32)


def zscale_limits(data: np.ndarray) -> tuple[float, float]:
    """The zscale display range of an image (IRAF's, via astropy), NaN left out."""
    values = np.asarray(data)[np.isfinite(data)]
    if values.size == 0:
        return 0.0, 1.0
    low, high = ZScaleInterval().get_limits(values)
    return (float(low), float(high)) if high > low else (float(low) - 0.5, float(low) + 0.5)


def plot_image(data: np.ndarray, *, title: str, label: str = "value", block: int = 1) -> hv.Image:
    """An image on a zscale stretch, row 0 at the bottom, with pan, zoom and hover.

    Images larger than :data:`DISPLAY_MAX_SIDE` are shown as block means; the axes keep
    the full frame's pixel coordinates: pixel (i, j), 0-based, covers x in [i, i + 1] and
    y in [j, j + 1], so a source at 0-based (x, y) is drawn at (x + 0.5, y + 0.5).

    Parameters
    ----------
    data : ndarray
    title, label : str
    block : int, optional
        Frame pixels per side of a pixel of ``data`` (when ``data`` is already block means).
    """
    shown = downsample(data)
    factor = block * downsample_factor(np.shape(data))
    ny, nx = shown.shape
    image = hv.Image(np.flipud(shown), bounds=(0, 0, nx * factor, ny * factor), kdims=["x", "y"],
                     vdims=[label])  # fmt: skip
    return image.opts(
        title=title, cmap="gray", clim=zscale_limits(shown), colorbar=True, tools=["hover"],
        active_tools=["wheel_zoom"], aspect="equal", responsive=True, min_height=320,
        xlabel="x (pixel)", ylabel="y (pixel)",
    )  # fmt: skip
