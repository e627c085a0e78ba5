"""Calibration plots: plain functions from DataFrames and arrays to plots.

Trends of one statistic against DATE (one line per instrument and filter, invalid masters
marked, validity limits drawn) and the completeness grid as a heat map are the Bokeh figures
the Bias, Dark and Flat pages open with (:mod:`app.plots.figures`); a master or difference
image on a zscale stretch and the difference histogram with its limits, opened on demand,
are HoloViews objects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import cycle

import holoviews as hv
import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, FactorRange, Range1d
from bokeh.plotting import figure

from app.plots.figures import (
    LIMIT_COLOR,
    PALETTE,
    add_hover,
    add_limit_lines,
    column_source,
    finish_legend,
    new_figure,
)

INVALID_COLOR = "#d62728"
#: The completeness verdicts and their colours.
VERDICT_COLORS = {"OK": "#2ca02c", "invalid": "#d62728", "missing": "#c7c7c7"}
#: The name of a trend's point renderers, whose rows are masters a click can pick.
POINTS = "masters"


def kind_label(instrument: str, filter_: str) -> str:
    """'DDRAGO1 r', or just 'DDRAGO1' for filter-free masters (FILTER NONE)."""
    return instrument if filter_ in ("NONE", "", None) else f"{instrument} {filter_}"


def plot_statistic(
    trend: pd.DataFrame,
    column: str,
    *,
    title: str,
    unit: str = "",
    limits: Sequence[tuple[float, float]] = (),
    x_range=None,
) -> figure:
    """One statistic against DATE: a line and points per instrument and filter.

    Parameters
    ----------
    trend : DataFrame
        ``CalibrationStore.trend`` rows: date, instrument, filter, verdict, report_id,
        im_name and ``column``.
    column : str
        The statistic (``median``, ``rms``, ``mediandif``, ``rmsdiff``...).
    title, unit : str
        Plot title and the y axis unit.
    limits : sequence of (low, high)
        Validity limits to draw as dashed red lines (every distinct value is drawn).
    x_range : bokeh Range, optional
        Another trend's ``x_range``: zooming or panning one zooms both (one DATE axis).

    Returns
    -------
    bokeh.plotting.figure
        Every point renderer (one per instrument and filter, and the invalid masters: a
        red cross for each master whose verdict in force is bad) is named :data:`POINTS`;
        its source holds date, ``column``, instrument, filter, im_name and report_id.
    """
    shown = trend.dropna(subset=[column]) if len(trend) else trend
    y_range = _y_range(shown[column] if len(shown) else [], limits)
    fig = new_figure(
        title=title, x_label="DATE (UTC)", x_axis_type="datetime", x_range=x_range,
        y_label=f"{column.upper()} [{unit}]" if unit else column.upper(),
        y_range=Range1d(*y_range) if y_range else None,
    )  # fmt: skip
    fields = ["date", column, "instrument", "filter", "im_name", "report_id"]
    points = []
    groups = shown.groupby(["instrument", "filter"], sort=True)
    for color, ((instrument, filter_), rows) in zip(cycle(PALETTE), groups):
        source = column_source(rows, fields)
        label = kind_label(instrument, filter_)
        fig.line("date", column, source=source, color=color, line_width=1.2, legend_label=label)
        points.append(fig.scatter("date", column, source=source, color=color, size=5,
                                  legend_label=label, name=POINTS))  # fmt: skip
    bad = shown[~shown["verdict"].astype(bool)] if len(shown) else shown
    if len(bad):
        points.append(fig.scatter("date", column, source=column_source(bad, fields), marker="x",
                                  color=INVALID_COLOR, size=13, line_width=3,
                                  legend_label="invalid", name=POINTS))  # fmt: skip
    add_limit_lines(fig, [value for pair in limits for value in pair])
    add_hover(fig, points, [("DATE", "@date{%F %T}"), (column.upper(), f"@{column}"),
                            ("IM_NAME", "@im_name")])  # fmt: skip
    finish_legend(fig)
    if fig.legend:  # beside the plot, small: a flat has ten series
        fig.add_layout(fig.legend[0], "right")
        fig.legend.update(label_text_font_size="8pt", label_height=14, glyph_height=14,
                          spacing=0, padding=4)  # fmt: skip
    return fig


def _y_range(values, limits: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """A y range holding the values and every finite limit (so the limits show), padded 5 %,
    at least 0.2 % of the values' size wide (a flat's MEDIAN of 1 ± 1e-7 is a flat line)."""
    points = [float(v) for v in values if math.isfinite(v)]
    points += [v for pair in limits for v in pair if math.isfinite(v)]
    if not points:
        return None
    low, high = min(points), max(points)
    pad = max(0.05 * (high - low), 1e-3 * max(abs(low), abs(high)), 1e-9)
    return low - pad, high + pad


def plot_histogram(
    counts: np.ndarray,
    edges: np.ndarray,
    *,
    title: str,
    limits: tuple[float, float] | None = None,
    center: float | None = None,
    xlabel: str = "new − ref",
) -> hv.Overlay:
    """The difference histogram, the MEANDIFF limits as dashed red lines, MEDIANDIF solid."""
    layers: list = [
        hv.Histogram(
            (np.asarray(edges), np.asarray(counts)), kdims=[xlabel], vdims=["pixels"]
        ).opts(color="#4c72b0", line_color=None, tools=["hover"])
    ]
    if limits is not None:
        layers += [hv.VLine(v).opts(color=LIMIT_COLOR, line_dash="dashed") for v in limits]
    if center is not None and math.isfinite(center):
        layers.append(hv.VLine(center).opts(color="black", line_width=1.5))
    return hv.Overlay(layers).opts(
        title=title, responsive=True, min_height=320, show_grid=True, toolbar="above"
    )


def plot_completeness(grid: pd.DataFrame) -> figure:
    """Night × instrument and filter, coloured by verdict (OK, invalid, missing).

    Parameters
    ----------
    grid : DataFrame
        ``CalibrationStore.completeness`` rows: night, instrument, filter, arrived,
        n_frames, verdict.

    Returns
    -------
    bokeh.plotting.figure
        One cell per row on categorical axes, nights left to right and the kinds top down
        in alphabetical order; hovering a cell shows its night, kind, verdict and frames.
    """
    cells = ColumnDataSource({
        "night": pd.to_datetime(grid["night"]).dt.strftime("%Y-%m-%d").to_numpy(),
        "kind": np.array([kind_label(i, f) for i, f in
                          zip(grid["instrument"], grid["filter"], strict=True)], dtype=object),
        "verdict": grid["verdict"].to_numpy(),
        "color": grid["verdict"].map(VERDICT_COLORS).to_numpy(),
        "frames": grid["n_frames"].astype("Float64").fillna(0).astype(int).to_numpy(),
    })  # fmt: skip
    kinds = sorted(set(cells.data["kind"]))
    fig = new_figure(
        title="Completeness (green OK, red invalid, grey missing)", x_label="night",
        x_axis_type="auto", y_axis_type="auto", height=120 + 22 * len(kinds),
        x_range=FactorRange(*sorted(set(cells.data["night"]))),
        y_range=FactorRange(*reversed(kinds)),  # the first kind on top
    )  # fmt: skip
    cells_drawn = fig.rect("night", "kind", width=1, height=1, source=cells, color="color",
                           line_color="white", line_width=1)  # fmt: skip
    add_hover(fig, [cells_drawn], [("night", "@night"), ("kind", "@kind"),
                                   ("verdict", "@verdict"), ("frames", "@frames")])  # fmt: skip
    fig.xaxis.major_label_orientation = math.pi / 2
    fig.grid.grid_line_color = None
    return fig
