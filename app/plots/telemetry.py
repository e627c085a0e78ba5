"""Telemetry plots: plain functions from DataFrames to HoloViews objects."""

from __future__ import annotations

import holoviews as hv
import pandas as pd

ERROR_COLOR = "#d62728"


def plot_series(series: pd.DataFrame, errors: pd.DataFrame, units: dict[str, str]) -> hv.Overlay:
    """Each sensor's mean as a line inside its min-max band, error readings as red crosses.

    Parameters
    ----------
    series : DataFrame
        name, bucket_start, min, mean, max, count (from ``StatusStore.series``).
    errors : DataFrame
        name, ts, numeric_value, error_code (from ``StatusStore.errors``).
    units : dict
        Sensor name to unit, for the legend.

    Returns
    -------
    hv.Overlay
    """
    layers: list = []
    for name, rows in series.groupby("name", sort=True):
        label = f"{name} [{units.get(name, '')}]" if units.get(name) else name
        layers.append(
            hv.Area(rows, "bucket_start", ["min", "max"], label=label).opts(
                alpha=0.25, line_alpha=0
            )
        )
        layers.append(
            hv.Curve(rows, "bucket_start", ["mean", "min", "max", "count"], label=label).opts(
                tools=["hover"], line_width=1.5
            )
        )
    marked = errors.dropna(subset=["numeric_value"]) if len(errors) else errors
    if len(marked):
        layers.append(
            hv.Scatter(
                marked, "ts", ["numeric_value", "name", "error_code"], label="error code"
            ).opts(color=ERROR_COLOR, marker="x", size=9, tools=["hover"])
        )
    if not layers:
        layers.append(hv.Curve([], "bucket_start", "mean"))
    return hv.Overlay(layers).opts(
        responsive=True,
        min_height=380,
        xlabel="time (UTC)",
        ylabel="value",
        legend_position="top_left",
        show_grid=True,
    )
