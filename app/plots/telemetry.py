"""Telemetry plots: plain functions from DataFrames to Bokeh figures."""

from __future__ import annotations

import pandas as pd
from bokeh.models import Line, Scatter, VArea
from bokeh.plotting import figure

from app.plots.figures import PALETTE, add_hover, add_legend, column_source, new_figure

ERROR_COLOR = "#d62728"


def plot_series(
    series: pd.DataFrame, errors: pd.DataFrame, units: dict[str, str], *, title: str = ""
) -> figure:
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
    fig = new_figure(
        title=title, x_label="time (UTC)", y_label="value", x_axis_type="datetime", height=380
    )
    lines, legend = [], []
    for index, (name, rows) in enumerate(series.groupby("name", sort=True)):
        label = f"{name} [{units.get(name, '')}]" if units.get(name) else str(name)
        color = PALETTE[index % len(PALETTE)]
        source = column_source(rows, ("bucket_start", "min", "mean", "max", "count"))
        band = fig.add_glyph(
            source, VArea(x="bucket_start", y1="min", y2="max", fill_color=color, fill_alpha=0.25)
        )
        lines.append(
            fig.add_glyph(
                source, Line(x="bucket_start", y="mean", line_color=color, line_width=1.5)
            )
        )
        legend += [(label, band), (label, lines[-1])]
    if lines:
        add_hover(
            fig,
            lines,
            [
                ("time", "@bucket_start{%F %T}"),
                ("mean", "@mean"),
                ("min", "@min"),
                ("max", "@max"),
                ("readings", "@count"),
            ],
        )
    marked = errors.dropna(subset=["numeric_value"]) if len(errors) else errors
    if len(marked):
        source = column_source(marked, ("ts", "numeric_value", "name", "error_code"))
        crosses = fig.add_glyph(
            source,
            Scatter(
                x="ts", y="numeric_value", marker="x", size=9, line_color=ERROR_COLOR, line_width=2
            ),
        )
        add_hover(
            fig,
            [crosses],
            [
                ("time", "@ts{%F %T}"),
                ("sensor", "@name"),
                ("value", "@numeric_value"),
                ("error code", "@error_code"),
            ],
        )
        legend.append(("error code", crosses))
    add_legend(fig, legend, place="center")
    return fig
