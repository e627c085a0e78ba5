"""A burst's timeline: every event of its life (notices, trigger file, frames, runs, product
actions) on one UTC axis, one row per kind of event; and each GP2 run's light curve."""

from __future__ import annotations

import pandas as pd
from bokeh.plotting import figure

from app.plots.figures import add_hover, column_source, new_figure
from app.plots.products import plot_light_curve
from app.plots.reprocess import light_curve_points

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


def plot_run_light_curve(light_curve: pd.DataFrame, t0: str, *, run_id: str) -> figure | None:
    """A GP2 run's light curve against the time since the T0 it used: the Products and
    Reprocess pages' plot (:func:`app.plots.products.plot_light_curve`, one colour per filter
    from :func:`analysis.colibri.filter_color`), its points only (the run's decay fits are
    the Reprocess page's).

    Parameters
    ----------
    light_curve : DataFrame
        The run's photometry table (image_id, filter, t_start, t_end, mag, mag_err,
        detected, limit_mag).
    t0 : str
        ISO UTC; '' when the run had none.
    run_id : str

    Returns
    -------
    bokeh.plotting.figure or None
        None without points or without T0.
    """
    points = light_curve_points(light_curve, t0)
    if points.empty:
        return None
    return plot_light_curve(points, {}, title=f"run {run_id}: light curve", height=340)
