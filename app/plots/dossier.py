"""A burst's timeline: every event of its life (notices, trigger file, frames, runs, product
actions) on one UTC axis, one row per kind of event."""

from __future__ import annotations

import pandas as pd
from bokeh.plotting import figure

from app.plots.figures import add_hover, column_source, new_figure

#: What the hover tells of an event.
TIMELINE_TOOLTIPS = [
    ("event", "@event"),
    ("at (UTC)", "@at{%F %T}"),
    ("since T0 (s)", "@since_t0_s{0.0}"),
    ("what", "@detail"),
    ("who", "@user"),
]


def plot_timeline(timeline: pd.DataFrame, *, title: str = "") -> figure:
    """The events of :attr:`pipelines.dossier.Dossier.timeline` on one time axis.

    Parameters
    ----------
    timeline : DataFrame
        at (UTC), since_t0_s, event, detail, user.
    """
    kinds = list(dict.fromkeys(timeline["event"]))[::-1]
    fig = new_figure(
        title=title,
        x_label="UTC",
        x_axis_type="datetime",
        height=80 + 28 * len(kinds),
        y_range=kinds,
    )
    source = column_source(timeline, ["at", "since_t0_s", "event", "detail", "user"])
    dots = fig.scatter("at", "event", source=source, size=9, fill_alpha=0.7)
    add_hover(fig, [dots], TIMELINE_TOOLTIPS)
    return fig
