"""Reprocess plots: a frame with its sources and candidates drawn over it, thumbnails, and
the points of a run's light curve (drawn by :func:`app.plots.products.plot_light_curve`)."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
from astropy.time import Time
from astropy.wcs import WCS

from app.plots.images import plot_image, plot_sky_circle

SOURCE_COLOR = "#00c853"
CANDIDATE_COLOR = "#ff1744"
TRANSIENT_COLOR = "#ffd600"


def pixel_points(table: pd.DataFrame, x: str, y: str, *, label: str, vdims=()) -> hv.Points:
    """Sources at 0-based pixel positions, drawn at the centres of their pixels on a
    :func:`~app.plots.images.plot_image` (x + 0.5, y + 0.5)."""
    shown = pd.DataFrame(
        {"x": np.asarray(table[x], float) + 0.5, "y": np.asarray(table[y], float) + 0.5}
    )
    for name in vdims:
        shown[name] = np.asarray(table[name])
    shown = shown[np.isfinite(shown["x"]) & np.isfinite(shown["y"])]
    return hv.Points(shown, ["x", "y"], list(vdims), label=label)


def plot_frame(
    data: np.ndarray,
    *,
    title: str,
    block: int = 1,
    sources: pd.DataFrame | None = None,
    candidates: pd.DataFrame | None = None,
    candidate_xy: tuple[str, str] = ("x", "y"),
    wcs: WCS | None = None,
    alert: tuple[float, float, float] | None = None,
) -> hv.Overlay:
    """A frame on a zscale stretch (pan, zoom) with its sources as green circles and its
    candidates as red squares (the transient's in yellow).

    Parameters
    ----------
    data : ndarray
        The image (block means when ``block`` > 1).
    block : int, optional
        Frame pixels per side of a pixel of ``data``.
    sources : DataFrame, optional
        ``x``, ``y`` (0-based frame pixels), ``flux``.
    candidates : DataFrame, optional
        Columns ``candidate_xy`` (0-based frame pixels), ``snr``, ``transient``.
    wcs : astropy.wcs.WCS, optional
        The frame's WCS: the hover gives RA and Dec, and ``alert`` can be drawn.
    alert : (ra, dec, error) in deg, optional
        The alert's position and error radius, drawn as a blue cross and circle (with a WCS).
    """
    layers: list = [plot_image(data, title=title, label="e-", block=block, wcs=wcs)]
    if wcs is not None and alert is not None:
        layers.append(plot_sky_circle(wcs, *alert, label="alert position"))
    if sources is not None and len(sources):
        vdims = [c for c in ("flux", "fwhm") if c in sources]
        layers.append(
            pixel_points(sources, "x", "y", label="sources", vdims=vdims).opts(
                marker="circle",
                size=12,
                fill_alpha=0,
                line_color=SOURCE_COLOR,
                line_width=1.5,
                color=SOURCE_COLOR,
                tools=["hover"],
            )
        )
    if candidates is not None and len(candidates):
        x, y = candidate_xy
        transient = candidates.get("transient", pd.Series(False, index=candidates.index))
        transient = transient.fillna(False).astype(bool)
        kinds = (
            (candidates[~transient], "candidates", CANDIDATE_COLOR),
            (candidates[transient], "transient", TRANSIENT_COLOR),
        )
        for rows, label, color in kinds:
            if len(rows):
                vdims = [c for c in ("snr", "ra", "dec") if c in rows]
                layers.append(
                    pixel_points(rows, x, y, label=label, vdims=vdims).opts(
                        marker="square",
                        size=16,
                        fill_alpha=0,
                        line_color=color,
                        color=color,
                        line_width=2,
                        tools=["hover"],
                    )
                )
    return hv.Overlay(layers).opts(legend_position="top_right", toolbar="above")


def plot_thumbnail(data: np.ndarray, *, title: str) -> hv.Image:
    """A small frame on a zscale stretch, without axes (the image strip of a folder)."""
    return plot_image(data, title=title).opts(
        colorbar=False,
        xaxis=None,
        yaxis=None,
        min_height=150,
        height=150,
        width=150,
        responsive=False,
        tools=[],
        toolbar=None,
        fontsize={"title": 8},
    )


def light_curve_points(light_curve: pd.DataFrame, t0: str) -> pd.DataFrame:
    """The photometry table as plotted: filter, t_s (mid-exposure after T0, s), mag,
    mag_err, detected (bool), limit_mag."""
    if light_curve.empty or not t0:
        return pd.DataFrame(columns=["filter", "t_s", "mag", "mag_err", "detected", "limit_mag"])
    trigger = Time(t0, format="isot", scale="utc")
    start = Time(list(light_curve["t_start"]), format="isot", scale="utc")
    end = Time(list(light_curve["t_end"]), format="isot", scale="utc")
    return pd.DataFrame(
        {
            "image_id": light_curve["image_id"].astype(str),
            "filter": light_curve["filter"].astype(str),
            "t_s": ((start - trigger).sec + (end - trigger).sec) / 2.0,
            "mag": light_curve["mag"].astype(float),
            "mag_err": light_curve["mag_err"].astype(float),
            "detected": light_curve["detected"].astype(int).astype(bool),
            "limit_mag": light_curve["limit_mag"].astype(float),
        }
    )
