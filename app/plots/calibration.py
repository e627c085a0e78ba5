"""Calibration plots: plain functions from DataFrames and arrays to HoloViews objects.

Trends of one statistic against DATE (one line per instrument and filter, invalid masters
marked, validity limits drawn), a master or difference image on a zscale stretch, the
difference histogram with its limits, and the completeness grid as a heat map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import holoviews as hv
import numpy as np
import pandas as pd

INVALID_COLOR = "#d62728"
LIMIT_COLOR = "#d62728"
#: The completeness verdicts and their colours, in the order of the heat map's codes.
VERDICT_COLORS = {"OK": "#2ca02c", "invalid": "#d62728", "missing": "#c7c7c7"}


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
) -> hv.Overlay:
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
        Validity limits to draw as dashed red lines (every distinct pair is drawn).

    Returns
    -------
    hv.Overlay
        Masters whose verdict in force is bad carry a red cross.
    """
    layers: list = []
    vdims = [column, "instrument", "filter", "im_name", "report_id"]
    shown = trend.dropna(subset=[column]) if len(trend) else trend
    for (instrument, filter_), rows in shown.groupby(["instrument", "filter"], sort=True):
        label = kind_label(instrument, filter_)
        layers.append(hv.Curve(rows, "date", vdims, label=label).opts(line_width=1.2))
        layers.append(
            hv.Scatter(rows, "date", vdims, label=label).opts(size=5, tools=["hover", "tap"])
        )
    bad = shown[~shown["verdict"].astype(bool)] if len(shown) else shown
    if len(bad):
        layers.append(
            hv.Scatter(bad, "date", vdims, label="invalid").opts(
                color=INVALID_COLOR, marker="x", size=13, line_width=3, tools=["hover"]
            )
        )
    for low, high in sorted(set(limits)):
        for value in (low, high):
            if math.isfinite(value):
                layers.append(hv.HLine(value).opts(color=LIMIT_COLOR, line_dash="dashed"))
    if not layers:
        layers.append(hv.Curve([], "date", column))
    ylabel = f"{column.upper()} [{unit}]" if unit else column.upper()
    overlay = hv.Overlay(layers).opts(
        title=title, responsive=True, min_height=260, xlabel="DATE (UTC)", ylabel=ylabel,
        legend_position="right", show_grid=True, toolbar="above",
    )  # fmt: skip
    y_range = _y_range(shown[column] if len(shown) else [], limits)
    return overlay.opts(ylim=y_range) if y_range else overlay


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


def plot_completeness(grid: pd.DataFrame) -> hv.HeatMap:
    """Night × instrument and filter, coloured by verdict (OK, invalid, missing).

    Parameters
    ----------
    grid : DataFrame
        ``CalibrationStore.completeness`` rows: night, instrument, filter, arrived,
        n_frames, verdict.
    """
    codes = {verdict: code for code, verdict in enumerate(VERDICT_COLORS)}
    frame = pd.DataFrame(
        {
            "night": pd.to_datetime(grid["night"]).dt.strftime("%Y-%m-%d"),
            "kind": [
                kind_label(i, f) for i, f in zip(grid["instrument"], grid["filter"], strict=True)
            ],  # fmt: skip
            "code": grid["verdict"].map(codes).astype(float),
            "verdict": grid["verdict"],
            "frames": grid["n_frames"].astype("Float64").fillna(0).astype(int),
        }
    )
    frame = frame.astype({"night": object, "kind": object, "verdict": object})  # not Arrow
    heat = hv.HeatMap(frame, ["night", "kind"], ["code", "verdict", "frames"])
    return heat.opts(
        cmap=list(VERDICT_COLORS.values()), clim=(-0.5, len(VERDICT_COLORS) - 0.5),
        colorbar=False, tools=["hover"], xrotation=90, responsive=True,
        min_height=120 + 22 * frame["kind"].nunique(), line_color="white",
        line_width=1, xlabel="night", ylabel="", title="Completeness (green OK, red invalid, "
        "grey missing)", invert_yaxis=True,
    )  # fmt: skip
