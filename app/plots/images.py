"""Images for the eye: block means for the browser, a zscale stretch, pan and zoom.

Shared by the calibration pages (masters and difference images) and the Reprocess page
(reduced and difference frames with sources drawn over them).
"""

from __future__ import annotations

import holoviews as hv
import numpy as np

from analysis.images import block_mean, block_size, zscale_limits


def plot_image(data: np.ndarray, *, title: str, label: str = "value", block: int = 1) -> hv.Image:
    """An image on a zscale stretch, row 0 at the bottom, with pan, zoom and hover.

    Images larger than :data:`analysis.images.DISPLAY_MAX_SIDE` are shown as block means;
    the axes keep the full frame's pixel coordinates: pixel (i, j), 0-based, covers x in
    [i, i + 1] and y in [j, j + 1], so a source at 0-based (x, y) is drawn at
    (x + 0.5, y + 0.5).

    Parameters
    ----------
    data : ndarray
    title, label : str
    block : int, optional
        Frame pixels per side of a pixel of ``data`` (when ``data`` is already block means).
    """
    shown = block_mean(data)
    factor = block * block_size(np.shape(data))
    ny, nx = shown.shape
    image = hv.Image(
        np.flipud(shown), bounds=(0, 0, nx * factor, ny * factor), kdims=["x", "y"], vdims=[label]
    )
    return image.opts(
        title=title,
        cmap="gray",
        clim=zscale_limits(shown),
        colorbar=True,
        tools=["hover"],
        active_tools=["wheel_zoom"],
        aspect="equal",
        responsive=True,
        min_height=320,
        xlabel="x (pixel)",
        ylabel="y (pixel)",
    )
