"""Images for the eye: block means for the browser, a zscale stretch, pan and zoom.

Shared by the calibration pages (masters and difference images) and the Reprocess page
(reduced and difference frames with sources drawn over them, in RA/Dec when the frame has
a WCS, with the alert's position and error circle).
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales

from analysis.images import block_mean, block_size, zscale_limits


def plot_image(
    data: np.ndarray,
    *,
    title: str,
    label: str = "value",
    block: int = 1,
    wcs: WCS | None = None,
) -> hv.Image:
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
    wcs : astropy.wcs.WCS, optional
        The frame's celestial WCS (0-based frame pixels): the hover then gives each pixel's
        RA and Dec (deg) beside its value.
    """
    shown = block_mean(data)
    factor = block * block_size(np.shape(data))
    ny, nx = shown.shape
    xs, ys = (np.arange(nx) + 0.5) * factor, (np.arange(ny) + 0.5) * factor
    layers, vdims = [shown], [label]
    if wcs is not None:
        gx, gy = np.meshgrid(xs - 0.5, ys - 0.5)  # the 0-based frame pixel of each centre
        ra, dec = wcs.pixel_to_world_values(gx, gy)
        layers += [np.asarray(ra) % 360.0, np.asarray(dec)]
        vdims += ["RA (deg)", "Dec (deg)"]
    image = hv.Image((xs, ys, *layers), kdims=["x", "y"], vdims=vdims)
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


def plot_sky_circle(
    wcs: WCS, ra: float, dec: float, radius_deg: float, *, label: str, color: str = "#2979ff"
) -> hv.Overlay:
    """A sky position and its error circle drawn over a :func:`plot_image` of the frame
    whose WCS is ``wcs`` (deg; the radius through the WCS's mean pixel scale).

    Returns an empty overlay when the WCS cannot place the position (a NaN pixel).
    """
    x, y = (float(v) + 0.5 for v in wcs.world_to_pixel_values(ra, dec))
    if not (np.isfinite(x) and np.isfinite(y)):
        return hv.Overlay([])
    scale = float(np.mean(proj_plane_pixel_scales(wcs.celestial)))
    centre = hv.Points(
        [(x, y, ra, dec, radius_deg * 3600.0)],
        ["x", "y"],
        ["RA (deg)", "Dec (deg)", "error (arcsec)"],
        label=label,
    ).opts(marker="cross", size=14, color=color, line_width=2, tools=["hover"])
    layers = [centre]
    if radius_deg > 0 and scale > 0:
        diameter = 2.0 * radius_deg / scale
        layers.append(hv.Ellipse(x, y, diameter).opts(color=color, line_width=2))
    return hv.Overlay(layers)
