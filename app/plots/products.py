"""Product plots: a burst's light curve with its upper limits and the QTI power-law fits."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from bokeh.models import Line, Scatter, Segment
from bokeh.plotting import figure

from analysis.afterglow import DecayFit
from app.plots.figures import add_hover, add_legend, column_source, new_figure

#: One colour per COLIBRI filter (others cycle through the rest).
FILTER_COLORS = {"g": "#2ca02c", "r": "#d62728", "i": "#8c564b", "z": "#7f7f7f",
                 "J": "#1f77b4", "H": "#9467bd"}  # fmt: skip
OTHER_COLORS = ("#ff7f0e", "#e377c2", "#bcbd22", "#17becf")


def filter_color(name: str, index: int = 0) -> str:
    """The colour of a filter on every product plot."""
    return FILTER_COLORS.get(name, OTHER_COLORS[index % len(OTHER_COLORS)])


def fit_label(filter_name: str, index: float, index_err: float) -> str:
    """The legend of a filter's decay fit: ``r: α = 1.21 ± 0.03`` (decay index and its error,
    a QTI's FITINDEX and ERFITINDEX or a reprocessing's fit)."""
    return f"{filter_name}: α = {index:.2f} ± {index_err:.2g}"


def fit_curve(row: pd.Series, *, points: int = 50) -> pd.DataFrame:
    """The magnitudes of one QTI fit between its TFITSTART and TFITSTOP (s after T0)."""
    fit = DecayFit(n_points=int(row["NFIT"]), t_first=float(row["TFITSTART"]),
                   t_last=float(row["TFITSTOP"]), norm_ujy=float(row["FITNORM"]),
                   index=float(row["FITINDEX"]), index_err=float(row["ERFITINDEX"]),
                   valid=True)  # fmt: skip
    t_s = np.geomspace(max(fit.t_first, 1e-3), max(fit.t_last, fit.t_first * 1.01, 1e-3), points)
    return pd.DataFrame({"t_s": t_s, "mag": fit.magnitude(t_s)})


#: Per filter, the (legend, DataFrame of t_s and mag) of each fitted decay line drawn.
FitLines = Mapping[str, list[tuple[str, pd.DataFrame]]]


def light_curve_figure(points: pd.DataFrame, fit_lines: FitLines, *, title: str = "",
                       height: int = 380) -> figure:  # fmt: skip
    """Magnitude against time since T0 (log axis, bright up), one colour per filter:
    detections with their error bars, upper limits as downward triangles at the limiting
    magnitude, the filter's fitted decay lines dashed with their legends.

    Parameters
    ----------
    points : DataFrame
        filter, t_s (s after T0, mid-exposure), mag, mag_err, detected, limit_mag (AB mag),
        and image_id when known (shown by the hover).
    fit_lines : FitLines
        The fits of the filters with points (the others are not drawn).
    title : str, optional
    height : int, optional
        In pixels.

    Returns
    -------
    bokeh.plotting.figure
    """
    fig = new_figure(title=title, x_label="time since T0 (s)", y_label="AB magnitude",
                     x_axis_type="log", height=height)  # fmt: skip
    fig.y_range.flipped = True
    named = [c for c in ("filter", "image_id") if c in points]
    detections, limits, legend = [], [], []
    for index, (name, rows) in enumerate(points.groupby("filter", sort=True)):
        name, color = str(name), filter_color(str(name), index)
        seen, missed = rows[rows["detected"]], rows[~rows["detected"]]
        if len(seen):
            bars = seen.assign(
                low=seen["mag"] - seen["mag_err"], high=seen["mag"] + seen["mag_err"]
            )
            source = column_source(bars, ["t_s", "mag", "mag_err", "low", "high", *named])
            detections.append(fig.add_glyph(source, Scatter(x="t_s", y="mag", size=7,
                                                            fill_color=color, line_color=color)))  # fmt: skip
            legend += [(name, fig.add_glyph(source, Segment(x0="t_s", y0="low", x1="t_s",
                                                            y1="high", line_color=color))),
                       (name, detections[-1])]  # fmt: skip
        if len(missed):
            source = column_source(missed.assign(mag=missed["limit_mag"]), ["t_s", "mag", *named])
            limits.append(fig.add_glyph(source, Scatter(
                x="t_s", y="mag", size=10, marker="inverted_triangle", fill_color=color,
                line_color=color, fill_alpha=0.3)))  # fmt: skip
            legend.append((f"{name} upper limit", limits[-1]))
        for label, line in fit_lines.get(name, []):
            source = column_source(line, ["t_s", "mag"])
            legend.append((label, fig.add_glyph(source, Line(
                x="t_s", y="mag", line_color=color, line_dash="dashed", line_width=2))))  # fmt: skip
    said = [(c, f"@{c}") for c in named]
    add_hover(fig, detections, [*said, ("time since T0 (s)", "@t_s{0.0}"),
                                ("AB mag", "@mag{0.00} ± @mag_err{0.00}")])  # fmt: skip
    add_hover(fig, limits, [*said, ("time since T0 (s)", "@t_s{0.0}"),
                            ("upper limit (AB mag)", "@mag{0.00}")])  # fmt: skip
    add_legend(fig, legend)  # beside the plot: the late limits sit in its corners
    return fig


def plot_light_curve(points: pd.DataFrame, fits: pd.DataFrame, *, title: str = "") -> figure:
    """A burst's light curve (:func:`light_curve_figure`) with each filter's valid QTI
    power-law fit drawn over its fitted range, its index in the legend.

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
    bokeh.plotting.figure
    """
    valid_fits = fits[fits["FITVALID"].astype(bool)] if len(fits) else fits
    fit_lines = {}
    for _, row in valid_fits.iterrows():
        name = str(row["FILTER"])
        label = fit_label(name, row["FITINDEX"], row["ERFITINDEX"])
        fit_lines.setdefault(name, []).append((label, fit_curve(row)))
    return light_curve_figure(points, fit_lines, title=title)
