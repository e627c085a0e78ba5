"""Product plots: a burst's light curve with its upper limits and the QTI power-law fits."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd

from analysis.products.decay import DecayFit

#: One colour per COLIBRI filter (others cycle through the rest).
FILTER_COLORS = {"g": "#2ca02c", "r": "#d62728", "i": "#8c564b", "z": "#7f7f7f",
                 "J": "#1f77b4", "H": "#9467bd"}  # fmt: skip
OTHER_COLORS = ("#ff7f0e", "#e377c2", "#bcbd22", "#17becf")


def filter_color(name: str, index: int = 0) -> str:
    """The colour of a filter on every product plot."""
    return FILTER_COLORS.get(name, OTHER_COLORS[index % len(OTHER_COLORS)])


def fit_label(filter_name: str, row: pd.Series) -> str:
    """The legend of a filter's fit: ``r: α = 1.21 ± 0.03`` (the QTI FITINDEX and ERFITINDEX)."""
    return f"{filter_name}: α = {row['FITINDEX']:.2f} ± {row['ERFITINDEX']:.2g}"


def fit_curve(row: pd.Series, *, points: int = 50) -> pd.DataFrame:
    """The magnitudes of one QTI fit between its TFITSTART and TFITSTOP (s after T0)."""
    fit = DecayFit(n_points=int(row["NFIT"]), t_first=float(row["TFITSTART"]),
                   t_last=float(row["TFITSTOP"]), norm_ujy=float(row["FITNORM"]),
                   index=float(row["FITINDEX"]), index_err=float(row["ERFITINDEX"]),
                   valid=True)  # fmt: skip
    t_s = np.geomspace(max(fit.t_first, 1e-3), max(fit.t_last, fit.t_first * 1.01, 1e-3), points)
    return pd.DataFrame({"t_s": t_s, "mag": fit.magnitude(t_s)})


def plot_light_curve(points: pd.DataFrame, fits: pd.DataFrame, *, title: str = "") -> hv.Overlay:
    """Magnitude against time since T0 (log axis, bright up): detections with their error
    bars, upper limits as downward triangles at the limiting magnitude, each filter's QTI
    power-law fit drawn over its fitted range with its index in the legend.

    Parameters
    ----------
    points : DataFrame
        filter, t_s (s after T0, mid-exposure), mag, mag_err, detected, limit_mag (AB mag),
        as :meth:`ProductStore.light_curve` gives them.
    fits : DataFrame
        The QTI table: FILTER, NFIT, TFITSTART, TFITSTOP, FITNORM (µJy at 1 s), FITINDEX,
        ERFITINDEX, FITVALID; may be empty.
    title : str, optional

    Returns
    -------
    hv.Overlay
    """
    layers: list = [hv.Curve([], "t_s", "mag")]
    valid_fits = fits[fits["FITVALID"].astype(bool)] if len(fits) else fits
    for index, (name, rows) in enumerate(points.groupby("filter", sort=True)):
        color = filter_color(str(name), index)
        seen, limits = rows[rows["detected"]], rows[~rows["detected"]]
        if len(seen):
            layers.append(
                hv.ErrorBars(seen, "t_s", ["mag", "mag_err"]).opts(
                    color=color, lower_head=None, upper_head=None
                )
            )
            layers.append(hv.Scatter(seen, "t_s", ["mag", "mag_err", "filter"], label=str(name))
                          .opts(color=color, size=7, tools=["hover"]))  # fmt: skip
        if len(limits):
            layers.append(
                hv.Scatter(
                    limits[["t_s", "limit_mag", "filter"]].rename(columns={"limit_mag": "mag"}),
                    "t_s",
                    ["mag", "filter"],
                    label=f"{name} upper limit",
                ).opts(
                    color=color,
                    marker="inverted_triangle",
                    size=10,
                    fill_alpha=0.3,
                    tools=["hover"],
                )  # fmt: skip
            )
        for _, row in valid_fits[valid_fits["FILTER"] == name].iterrows():
            layers.append(hv.Curve(fit_curve(row), "t_s", "mag", label=fit_label(str(name), row))
                          .opts(color=color, line_dash="dashed", line_width=2))  # fmt: skip
    return hv.Overlay(layers).opts(
        logx=True, invert_yaxis=True, responsive=True, min_height=380, show_grid=True,
        xlabel="time since T0 (s)", ylabel="AB magnitude", legend_position="right",
        title=title,
    )  # fmt: skip
