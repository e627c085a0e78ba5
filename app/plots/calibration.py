"""Calibration plots: plain functions from DataFrames and arrays to plots.

Trends of the statistics against DATE (one line per instrument and filter, invalid masters
marked, validity limits drawn) and the completeness grid as a heat map are the Bokeh figures
the Bias, Dark and Flat pages open with (:mod:`app.plots.figures`); a master or difference
image on a zscale stretch and the difference histogram with its limits, opened on demand,
are HoloViews objects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import cycle

import holoviews as hv
import numpy as np
import pandas as pd
from bokeh.models import (
    ColumnDataSource,
    FactorRange,
    Legend,
    LegendItem,
    MultiLine,
    Range1d,
    Scatter,
)
from bokeh.plotting import figure

from app.plots.figures import (
    LIMIT_COLOR,
    PALETTE,
    add_hover,
    add_limit_lines,
    column_source,
    new_figure,
)

INVALID_COLOR = "#d62728"
#: The completeness verdicts and their colours.
VERDICT_COLORS = {"OK": "#2ca02c", "invalid": "#d62728", "missing": "#c7c7c7"}
#: The name of the trends' point renderers, whose rows are masters a click can pick.
POINTS = "masters"


def kind_label(instrument: str, filter_: str) -> str:
    """'DDRAGO1 r', or just 'DDRAGO1' for filter-free masters (FILTER NONE)."""
    return instrument if filter_ in ("NONE", "", None) else f"{instrument} {filter_}"


@dataclass(frozen=True)
class Trend:
    """One statistic of the masters to draw against DATE.

    Attributes
    ----------
    column : str
        The statistic (``median``, ``rms``, ``mediandif``, ``rmsdiff``...).
    title, unit : str
        The figure's title and the y axis unit.
    limits : sequence of (low, high)
        Validity limits, drawn as dashed red lines (every distinct finite value).
    bounds : (str, str), optional
        Columns of each master's own limits (low, high), drawn as red dashes at its date:
        limits relative to the reference's level or noise differ from master to master.
    """

    column: str
    title: str
    unit: str = ""
    limits: Sequence[tuple[float, float]] = ()
    bounds: tuple[str, str] | None = None


def plot_trends(trend: pd.DataFrame, statistics: Sequence[Trend]) -> list[figure]:
    """Each statistic against DATE, one figure each, every instrument and filter in it.

    The figures share their data and their DATE axis: zooming one zooms all, and a master
    selected in one is selected in all. A figure holds three renderers whatever the number
    of instruments and filters (which keeps a page of ten flat series quick to build): a
    line per instrument and filter (one ``MultiLine``, broken where a night has no master:
    a line drawn across a missing night would invent it), the masters as points coloured
    by instrument and filter, and a red cross on each master whose verdict in force is bad;
    a statistic with ``bounds`` also gets each master's limits as red dashes.

    Parameters
    ----------
    trend : DataFrame
        ``CalibrationStore.trend`` rows: date, instrument, filter, verdict, report_id,
        im_name, every statistic's column and its bounds' columns; ``night`` when given
        (else the date's day) tells the missing nights.
    statistics : sequence of Trend

    Returns
    -------
    list of bokeh.plotting.figure
        In the order of ``statistics``. The points and the crosses are named
        :data:`POINTS`; their sources hold date, instrument, filter, kind (the legend's
        label), im_name, report_id and the statistics, one row per master.
    """
    columns = [statistic.column for statistic in statistics]
    columns += [c for statistic in statistics for c in statistic.bounds or () if c not in columns]
    frame = trend.assign(
        kind=[kind_label(i, f) for i, f in zip(trend["instrument"], trend["filter"], strict=True)]
    )
    frame = frame.sort_values(["kind", "date"], kind="stable").reset_index(drop=True)
    kinds = list(dict.fromkeys(frame["kind"]))
    first_rows = [int(np.flatnonzero(frame["kind"] == kind)[0]) for kind in kinds]  # legend
    colors = dict(zip(kinds, cycle(PALETTE)))
    frame["color"] = frame["kind"].map(colors)
    fields = ["date", "instrument", "filter", "kind", "color", "im_name", "report_id", *columns]
    masters = column_source(frame, fields)
    bad = column_source(frame[~frame["verdict"].astype(bool)], fields)
    groups = [_with_breaks(frame[frame["kind"] == kind], columns) for kind in kinds]
    lines = ColumnDataSource(
        {
            "xs": [rows["date"].to_numpy() for rows in groups],
            "color": [colors[kind] for kind in kinds],
            **{c: [rows[c].to_numpy(dtype=float) for rows in groups] for c in columns},
        }
    )
    figures: list[figure] = []
    for statistic in statistics:
        column = statistic.column
        own = [frame[c] for c in statistic.bounds or ()]
        y_range = _y_range(pd.concat([frame[column], *own]), statistic.limits)
        fig = new_figure(
            title=statistic.title,
            x_label="DATE (UTC)",
            x_axis_type="datetime",
            dates_of=figures[0] if figures else None,
            y_label=f"{column.upper()} [{statistic.unit}]" if statistic.unit else column.upper(),
            y_range=Range1d(*y_range) if y_range else None,
        )
        fig.add_glyph(lines, MultiLine(xs="xs", ys=column, line_color="color", line_width=1.2))
        points = fig.add_glyph(
            masters,
            Scatter(x="date", y=column, size=5, fill_color="color", line_color="color"),
            name=POINTS,
        )
        crosses = fig.add_glyph(
            bad,
            Scatter(
                x="date", y=column, marker="x", size=13, line_width=3, line_color=INVALID_COLOR
            ),
            name=POINTS,
        )
        add_limit_lines(fig, [value for pair in statistic.limits for value in pair])
        for bound in statistic.bounds or ():
            fig.add_glyph(
                masters,
                Scatter(x="date", y=bound, marker="dash", size=14, line_color=LIMIT_COLOR),
            )
        add_hover(
            fig,
            [points, crosses],
            [
                ("DATE", "@date{%F %T}"),
                ("", "@kind"),
                (column.upper(), f"@{column}"),
                ("IM_NAME", "@im_name"),
            ],
        )
        items = [
            LegendItem(label=kind, renderers=[points], index=row)
            for kind, row in zip(kinds, first_rows, strict=True)
        ]
        if len(bad.data["date"]):
            items.append(LegendItem(label="invalid", renderers=[crosses]))
        if items:  # beside the plot, small: a flat has ten series
            fig.add_layout(
                Legend(
                    items=items,
                    label_text_font_size="8pt",
                    label_height=14,
                    glyph_height=14,
                    spacing=0,
                    padding=4,
                ),
                "right",
            )
        figures.append(fig)
    return figures


def _with_breaks(rows: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """One kind's rows (by date) with a row of NaN statistics between two masters whose
    nights are more than one night apart, so that the line stops there."""
    nights = pd.to_datetime(rows["night"] if "night" in rows else rows["date"]).dt.normalize()
    gaps = np.flatnonzero(np.diff(nights.to_numpy()) > np.timedelta64(1, "D"))
    if not gaps.size:
        return rows
    dates = rows["date"].to_numpy()
    breaks = pd.DataFrame({"date": dates[gaps] + (dates[gaps + 1] - dates[gaps]) / 2})
    for column in columns:
        breaks[column] = np.nan
    parts = [rows[["date", *columns]], breaks]
    return pd.concat(parts, ignore_index=True).sort_values("date", kind="stable")


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
    cells = ColumnDataSource(
        {
            "night": pd.to_datetime(grid["night"]).dt.strftime("%Y-%m-%d").to_numpy(),
            "kind": np.array(
                [kind_label(i, f) for i, f in zip(grid["instrument"], grid["filter"], strict=True)],
                dtype=object,
            ),
            "verdict": grid["verdict"].to_numpy(),
            "color": grid["verdict"].map(VERDICT_COLORS).to_numpy(),
            "frames": grid["n_frames"].astype("Float64").fillna(0).astype(int).to_numpy(),
        }
    )
    kinds = sorted(set(cells.data["kind"]))
    fig = new_figure(
        title="Completeness (green OK, red invalid, grey missing)",
        x_label="night",
        x_axis_type="auto",
        y_axis_type="auto",
        height=120 + 22 * len(kinds),
        x_range=FactorRange(*sorted(set(cells.data["night"]))),
        y_range=FactorRange(*reversed(kinds)),  # the first kind on top
    )
    cells_drawn = fig.rect(
        "night",
        "kind",
        width=1,
        height=1,
        source=cells,
        color="color",
        line_color="white",
        line_width=1,
    )
    add_hover(
        fig,
        [cells_drawn],
        [("night", "@night"), ("kind", "@kind"), ("verdict", "@verdict"), ("frames", "@frames")],
    )
    fig.xaxis.major_label_orientation = math.pi / 2
    fig.grid.grid_line_color = None
    return fig
