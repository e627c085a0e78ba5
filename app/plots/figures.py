"""The Bokeh figures the pages open with, built with Bokeh directly.

A page's first plots are built once per session, so their cost is paid by every visitor:
a Bokeh figure costs a fifth to a seventh of the same HoloViews overlay (``bench/load.py``,
bench/RESULTS.md). The plots a user opens on demand (a master's image, a histogram) stay in
HoloViews. Every page figure goes through :func:`new_figure`, so they share their tools,
toolbar, grid and legend behaviour.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import pandas as pd
from bokeh.models import (
    ColumnDataSource,
    DatetimeAxis,
    GlyphRenderer,
    Grid,
    HoverTool,
    Legend,
    LegendItem,
    Span,
    TapTool,
)
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

#: Colours cycled through by the series of a figure (instruments, filters...).
PALETTE: tuple[str, ...] = tuple(Category10_10)
#: Validity limits on every plot.
LIMIT_COLOR = "#d62728"
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"


def new_figure(
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    x_axis_type: str = "linear",
    y_axis_type: str = "linear",
    height: int = 280,
    x_range=None,
    y_range=None,
    dates_of: figure | None = None,
) -> figure:
    """A figure stretching to the page's width, toolbar above, pan/zoom/reset/save tools.

    ``x_range`` may be another figure's range, which links the two figures' x axes.
    ``dates_of``, a figure with a date x axis, gives this one the same x range and the same
    date ticks (one ticker and formatter for both: each date axis of its own brings a dozen
    models, which every visitor's page pays for).
    """
    if dates_of is not None:
        x_range, x_axis_type = dates_of.x_range, None
    ranges = {name: value for name, value in (("x_range", x_range), ("y_range", y_range)) if value}
    fig = figure(
        title=title,
        x_axis_type=x_axis_type,
        y_axis_type=y_axis_type,
        height=height,
        sizing_mode="stretch_width",
        tools=TOOLS,
        toolbar_location="above",
        **ranges,
    )
    if dates_of is not None:
        first = dates_of.below[0]
        axis = DatetimeAxis(ticker=first.ticker, formatter=first.formatter)
        fig.add_layout(Grid(dimension=0, axis=axis), "center")
        fig.add_layout(axis, "below")
    fig.xaxis.axis_label = x_label
    fig.yaxis.axis_label = y_label
    return fig


def column_source(frame: pd.DataFrame, columns: Iterable[str]) -> ColumnDataSource:
    """A data source of ``frame``'s ``columns`` (without the frame's index)."""
    return ColumnDataSource({name: frame[name].to_numpy() for name in columns})


def add_hover(fig: figure, renderers: Sequence, tooltips: list[tuple[str, str]]) -> None:
    """One hover tool for ``renderers``; a ``@field{%F %T}`` tooltip is shown as a UTC date."""
    dated = {spec.split("{")[0]: "datetime" for _, spec in tooltips if spec.endswith("{%F %T}")}
    fig.add_tools(HoverTool(renderers=list(renderers), tooltips=tooltips, formatters=dated))


def add_limit_lines(
    fig: figure,
    values: Iterable[float],
    *,
    dimension: str = "width",
    color: str = LIMIT_COLOR,
    dash: str = "dashed",
) -> None:
    """A line across the figure at each finite value (horizontal for ``dimension='width'``)."""
    for value in sorted({float(v) for v in values if math.isfinite(v)}):
        fig.add_layout(
            Span(
                location=value,
                dimension=dimension,
                line_color=color,
                line_dash=dash,
                line_width=1.5,
            )
        )


def on_tap(
    figures: Sequence[figure], name: str, callback: Callable[[ColumnDataSource, int], None]
) -> None:
    """Clicking a point of a renderer named ``name`` in any of ``figures`` calls
    ``callback(source, row)`` (on a server or in a notebook), once per click even when the
    figures share their data source."""
    sources: dict[str, ColumnDataSource] = {}
    for fig in figures:
        renderers = [r for r in fig.renderers if r.name == name]  # select() walks every model
        fig.add_tools(TapTool(renderers=renderers))
        sources.update((r.data_source.id, r.data_source) for r in renderers)
    for source in sources.values():

        def tapped(attr, old, new, source=source):
            if new:
                callback(source, new[0])

        source.selected.on_change("indices", tapped)


def add_legend(
    fig: figure,
    entries: Iterable[tuple[str, GlyphRenderer]],
    *,
    place: str = "right",
    location: str = "top_left",
) -> None:
    """A legend with one entry per label, in the order first seen; renderers sharing a label
    share the entry, and a click on it hides them. ``place`` is beside the figure
    (``"right"``) or inside it (``"center"``, at ``location``); no legend without entries.

    The page figures add their glyphs with ``fig.add_glyph`` (one glyph model each, where
    ``fig.scatter`` and the like make three, which every visitor's page pays for) and name
    them here; the calibration trends, whose one point renderer holds every series, build
    their legend from the rows instead."""
    grouped: dict[str, list[GlyphRenderer]] = {}
    for label, renderer in entries:
        grouped.setdefault(label, []).append(renderer)
    if grouped:
        items = [LegendItem(label=label, renderers=shown) for label, shown in grouped.items()]
        legend = Legend(
            items=items, location=location, click_policy="hide", background_fill_alpha=0.6
        )
        fig.add_layout(legend, place)
