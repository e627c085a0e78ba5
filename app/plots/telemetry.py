"""Telemetry plots: plain functions from DataFrames to Bokeh figures."""

from __future__ import annotations

import pandas as pd
from bokeh.plotting import figure

from app.plots.figures import PALETTE, add_hover, column_source, finish_legend, new_figure

ERROR_COLOR = "#d62728"


def plot_series(series: pd.DataFrame, errors: pd.DataFrame, units: dict[str, str], *,
                title: str = "") -> figure:  # fmt: skip
    """Each sensor's mean as a line inside its min-max band, error readings as red crosses.

    Parameters
    ----------
    series : DataFrame
        name, bucket_start, min, mean, max, count (from ``StatusStore.series``).
    errors : DataFrame
        name, ts, numeric_value, error_code (from ``StatusStore.errors``).
    units : dict
        Sensor name to unit, for the legend.
    title : str, optional

    Returns
    -------
    bokeh.plotting.figure
        A band (``VArea``) and a line (``Line``) per sensor, named after it with its unit,
        then the error readings (``Scatter``).
    """
    fig = new_figure(title=title, x_label="time (UTC)", y_label="value",
                     x_axis_type="datetime", height=380)  # fmt: skip
    lines = []
    for index, (name, rows) in enumerate(series.groupby("name", sort=True)):
        label = f"{name} [{units.get(name, '')}]" if units.get(name) else str(name)
        color = PALETTE[index % len(PALETTE)]
        source = column_source(rows, ("bucket_start", "min", "mean", "max", "count"))
        fig.varea("bucket_start", "min", "max", source=source, color=color, alpha=0.25,
                  legend_label=label)  # fmt: skip
        lines.append(fig.line("bucket_start", "mean", source=source, color=color,
                              line_width=1.5, legend_label=label))  # fmt: skip
    if lines:
        add_hover(fig, lines, [("time", "@bucket_start{%F %T}"), ("mean", "@mean"),
                               ("min", "@min"), ("max", "@max"), ("readings", "@count")])  # fmt: skip
    marked = errors.dropna(subset=["numeric_value"]) if len(errors) else errors
    if len(marked):
        source = column_source(marked, ("ts", "numeric_value", "name", "error_code"))
        crosses = fig.scatter("ts", "numeric_value", source=source, marker="x", size=9,
                              color=ERROR_COLOR, line_width=2, legend_label="error code")  # fmt: skip
        add_hover(fig, [crosses], [("time", "@ts{%F %T}"), ("sensor", "@name"),
                                   ("value", "@numeric_value"), ("error code", "@error_code")])  # fmt: skip
    finish_legend(fig)
    return fig
