"""Telemetry plots: plain functions from DataFrames to Bokeh figures."""

from __future__ import annotations

import pandas as pd
from bokeh.models import Line, Scatter, VArea
from bokeh.plotting import figure

from app.plots.figures import PALETTE, add_hover, add_legend, column_source, new_figure

ERROR_COLOR = "#d62728"
#: Height of one unit's panel, in screen pixels.
PANEL_HEIGHT = 260
#: The panel of the sensors without a unit.
NO_UNIT = "no unit"


def plot_series(
    series: pd.DataFrame, errors: pd.DataFrame, units: dict[str, str], *, title: str = ""
) -> list[figure]:
    """One panel per unit: each sensor's mean as a line inside its min-max band, error
    readings as red crosses; the panels share their time axis, the legends beside them.

    Parameters
    ----------
    series : DataFrame
        name, bucket_start, min, mean, max, count (from ``StatusStore.series``).
    errors : DataFrame
        name, ts, numeric_value, error_code (from ``StatusStore.errors``).
    units : dict
        Sensor name to unit: the panel it goes to and its y-axis label.
    title : str, optional
        The first panel's title.

    Returns
    -------
    list of bokeh.plotting.figure
        One per unit in order of name (none without series): a band (``VArea``) and a line
        (``Line``) per sensor, named after it, then its error readings (``Scatter``).
    """
    unit_of = {name: units.get(name) or NO_UNIT for name in series["name"].unique()}
    figures: list[figure] = []
    for unit in sorted(set(unit_of.values())):
        names = [name for name, of in unit_of.items() if of == unit]
        fig = new_figure(
            title=title if not figures else "",
            x_label="time (UTC)",
            y_label=unit,
            x_axis_type="datetime",
            height=PANEL_HEIGHT,
            dates_of=figures[0] if figures else None,
        )
        _draw_unit(
            fig,
            series[series["name"].isin(names)],
            errors[errors["name"].isin(names)] if len(errors) else errors,
            offset=len(figures),
        )
        figures.append(fig)
    return figures


def _draw_unit(fig: figure, series: pd.DataFrame, errors: pd.DataFrame, *, offset: int) -> None:
    lines, legend = [], []
    for index, (name, rows) in enumerate(series.groupby("name", sort=True)):
        color = PALETTE[(index + offset) % len(PALETTE)]
        source = column_source(rows, ("bucket_start", "min", "mean", "max", "count"))
        band = fig.add_glyph(
            source, VArea(x="bucket_start", y1="min", y2="max", fill_color=color, fill_alpha=0.25)
        )
        lines.append(
            fig.add_glyph(
                source, Line(x="bucket_start", y="mean", line_color=color, line_width=1.5)
            )
        )
        legend += [(str(name), band), (str(name), lines[-1])]
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
    add_legend(fig, legend, place="right")
