"""Product plots: a burst's light curve with its upper limits and its decay fits (the QTI
power law, or the smoothly broken one where the BIC prefers it)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping

import numpy as np
import pandas as pd
from bokeh.models import Line, Scatter, Segment
from bokeh.plotting import figure

from analysis.afterglow import BrokenDecayFit, DecayFit, fit_broken_decay
from analysis.colibri import filter_color
from app.plots.figures import add_hover, add_legend, column_source, new_figure


def fit_label(filter_name: str, index: float, index_err: float) -> str:
    """The legend of a filter's decay fit: ``r: α = 1.21 ± 0.03`` (decay index and its error,
    a QTI's FITINDEX and ERFITINDEX or a reprocessing's fit)."""
    return f"{filter_name}: α = {index:.2f} ± {index_err:.2g}"


def broken_fit_label(filter_name: str, fit: BrokenDecayFit) -> str:
    """The legend of a preferred broken fit: ``r: α₁ = 0.52 ± 0.02, α₂ = 1.60 ± 0.03,
    t_b = 8.1e+03 ± 5e+02 s``."""
    return (
        f"{filter_name}: α₁ = {fit.index1:.2f} ± {fit.index1_err:.2g}, α₂ = {fit.index2:.2f} ± "
        f"{fit.index2_err:.2g}, t_b = {fit.t_break:.3g} ± {fit.t_break_err:.2g} s (broken, BIC)"
    )


def fit_curve(fit: DecayFit, *, points: int = 50) -> pd.DataFrame:
    """The magnitudes of one fit between its first and last fitted times (s after T0): the
    broken law's when the BIC prefers it."""
    t_s = np.geomspace(max(fit.t_first, 1e-3), max(fit.t_last, fit.t_first * 1.01, 1e-3), points)
    model = fit.broken if fit.prefers_broken else fit
    return pd.DataFrame({"t_s": t_s, "mag": model.magnitude(t_s)})


def qti_fits(table: pd.DataFrame) -> dict[str, DecayFit]:
    """The valid fits of a QTI table (FILTER, NFIT, TFITSTART, TFITSTOP, FITNORM, FITINDEX,
    ERFITINDEX, FITCHI2, FITVALID; FITCHI2R when the product has it) by filter."""
    if not len(table):
        return {}
    return {
        str(row["FILTER"]): DecayFit(
            n_points=int(row["NFIT"]),
            t_first=float(row["TFITSTART"]),
            t_last=float(row["TFITSTOP"]),
            norm_ujy=float(row["FITNORM"]),
            index=float(row["FITINDEX"]),
            index_err=float(row["ERFITINDEX"]),
            chi2=float(row.get("FITCHI2", 0.0)),
            chi2_reduced=float(row.get("FITCHI2R", 0.0)),
            bic=float(row.get("FITCHI2", 0.0)) + 2 * np.log(max(int(row["NFIT"]), 1)),
            valid=True,
        )
        for _, row in table[table["FITVALID"].astype(bool)].iterrows()
    }


def with_broken_fits(points: pd.DataFrame, fits: Mapping[str, DecayFit]) -> dict[str, DecayFit]:
    """The fits, each with its broken power law fitted to the filter's detections over the
    fit's range where it has none (a QTI keeps only the single law)."""
    out = {}
    for name, fit in fits.items():
        if fit.valid and fit.broken is None and len(points):
            rows = points[(points["filter"] == name) & points["detected"].astype(bool)]
            columns = (tuple(rows[c].astype(float)) for c in ("t_s", "mag", "mag_err"))
            fit = dataclasses.replace(fit, broken=_broken_fit(*columns, (fit.t_first, fit.t_last)))
        out[name] = fit
    return out


@functools.lru_cache(maxsize=256)
def _broken_fit(
    t_s: tuple[float, ...],
    mag: tuple[float, ...],
    mag_err: tuple[float, ...],
    window_s: tuple[float, float],
) -> BrokenDecayFit:
    """:func:`fit_broken_decay` of a light curve, fitted once per process: every visitor of a
    product's page and every refresh draws the same curve (the fit took a tenth of a
    second, a fifteenth of the Products page's build)."""
    return fit_broken_decay(np.array(t_s), np.array(mag), np.array(mag_err), window_s=window_s)


def _fit_line(name: str, fit: DecayFit) -> tuple[str, pd.DataFrame]:
    if fit.prefers_broken:
        return broken_fit_label(name, fit.broken), fit_curve(fit)
    return fit_label(name, fit.index, fit.index_err), fit_curve(fit)


#: Per filter, the (legend, DataFrame of t_s and mag) of each fitted decay line drawn.
FitLines = Mapping[str, list[tuple[str, pd.DataFrame]]]


def light_curve_figure(
    points: pd.DataFrame, fit_lines: FitLines, *, title: str = "", height: int = 380
) -> figure:
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
    fig = new_figure(
        title=title,
        x_label="time since T0 (s)",
        y_label="AB magnitude",
        x_axis_type="log",
        height=height,
    )
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
            detections.append(
                fig.add_glyph(
                    source, Scatter(x="t_s", y="mag", size=7, fill_color=color, line_color=color)
                )
            )
            legend += [
                (
                    name,
                    fig.add_glyph(
                        source, Segment(x0="t_s", y0="low", x1="t_s", y1="high", line_color=color)
                    ),
                ),
                (name, detections[-1]),
            ]
        if len(missed):
            source = column_source(missed.assign(mag=missed["limit_mag"]), ["t_s", "mag", *named])
            limits.append(
                fig.add_glyph(
                    source,
                    Scatter(
                        x="t_s",
                        y="mag",
                        size=10,
                        marker="inverted_triangle",
                        fill_color=color,
                        line_color=color,
                        fill_alpha=0.3,
                    ),
                )
            )
            legend.append((f"{name} upper limit", limits[-1]))
        for label, line in fit_lines.get(name, []):
            source = column_source(line, ["t_s", "mag"])
            legend.append(
                (
                    label,
                    fig.add_glyph(
                        source,
                        Line(x="t_s", y="mag", line_color=color, line_dash="dashed", line_width=2),
                    ),
                )
            )
    said = [(c, f"@{c}") for c in named]
    add_hover(
        fig,
        detections,
        [*said, ("time since T0 (s)", "@t_s{0.0}"), ("AB mag", "@mag{0.00} ± @mag_err{0.00}")],
    )
    add_hover(
        fig,
        limits,
        [*said, ("time since T0 (s)", "@t_s{0.0}"), ("upper limit (AB mag)", "@mag{0.00}")],
    )
    add_legend(fig, legend)  # beside the plot: the late limits sit in its corners
    return fig


def plot_light_curve(
    points: pd.DataFrame,
    fits: pd.DataFrame | Mapping[str, DecayFit],
    *,
    title: str = "",
    height: int = 380,
) -> figure:
    """A burst's light curve (:func:`light_curve_figure`) with each filter's valid decay fit
    drawn over its fitted range, its indices in the legend: the Products page's QTI fits
    and the Reprocess page's fits of a run, the same :func:`analysis.afterglow.fit_decay`.
    Where the BIC prefers the smoothly broken power law (:func:`with_broken_fits`), that is
    the line drawn, with both indices and the break.

    Parameters
    ----------
    points : DataFrame
        filter, t_s (s after T0, mid-exposure), mag, mag_err, detected, limit_mag (AB mag),
        as :meth:`ProductStore.light_curve` gives them.
    fits : DataFrame or mapping
        The QTI table (:func:`qti_fits`; may be empty), or filter → :class:`DecayFit`
        (invalid fits are not drawn).
    title : str, optional
    height : int, optional
        In pixels.

    Returns
    -------
    bokeh.plotting.figure
    """
    by_filter = with_broken_fits(points, qti_fits(fits) if isinstance(fits, pd.DataFrame) else fits)
    fit_lines = {name: [_fit_line(name, fit)] for name, fit in by_filter.items() if fit.valid}
    return light_curve_figure(points, fit_lines, title=title, height=height)
