"""Alert plots: the sky map of positions with their error circles."""

from __future__ import annotations

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, MultiLine, Scatter
from bokeh.plotting import figure

from app.plots.figures import add_hover, add_legend, column_source, new_figure

#: Colours of the alert kinds on the sky map.
KIND_COLORS = {"observation": "#1f77b4", "test": "#ff7f0e", "retracted": "#7f7f7f"}
#: What the hover tells of an alert on the sky map.
SKY_MAP_TOOLTIPS = [
    ("burst", "@burst_id"),
    ("instrument", "@instrument"),
    ("RA, Dec (deg)", "@ra{0.000}, @dec{0.000}"),
    ("error radius (deg)", "@error_deg{0.000}"),
    ("ivorn", "@ivorn"),
]


def error_circles(frame: pd.DataFrame, *, points: int = 72) -> list[np.ndarray]:
    """Each alert's error circle as an (x, y) polygon in RA/Dec degrees, RA stretched by
    1/cos(Dec) so that the circle is round on the sky (clipped at the poles)."""
    angles = np.linspace(0, 2 * np.pi, points)
    circles = []
    for ra, dec, radius in frame[["ra", "dec", "error_deg"]].itertuples(index=False):
        stretch = 1 / max(np.cos(np.radians(dec)), 0.05)
        circles.append(
            np.column_stack(
                [
                    ra + radius * stretch * np.cos(angles),
                    np.clip(dec + radius * np.sin(angles), -90, 90),
                ]
            )
        )
    return circles


def plot_sky_map(alerts: pd.DataFrame, *, selected: str | None = None) -> figure:
    """Alert positions on an RA/Dec map (RA increasing to the left), error circles drawn,
    test packets and retracted bursts in their own colours (clicking a legend entry hides
    them), the selected alert ringed; the hover tells each alert's burst and ivorn.

    Parameters
    ----------
    alerts : DataFrame
        ra, dec, error_deg (deg), test, retracted, burst_id, instrument, ivorn, as
        :meth:`AlertStore.alerts` gives them; alerts without a position are left out.
    selected : str, optional
        The ivorn of the alert to ring.
    """
    located = alerts.dropna(subset=["ra", "dec"]).copy()
    located["error_deg"] = located["error_deg"].fillna(0.0)
    located["kind"] = np.where(
        located["retracted"], "retracted", np.where(located["test"], "test", "observation")
    )
    fig = new_figure(
        x_label="RA (deg)", y_label="Dec (deg)", x_range=(360, 0), y_range=(-90, 90), height=320
    )
    hovered, legend = [], []
    for kind, rows in located.groupby("kind"):
        color = KIND_COLORS[kind]
        circles = error_circles(rows)
        outlines = ColumnDataSource(
            {"xs": [c[:, 0] for c in circles], "ys": [c[:, 1] for c in circles]}
        )
        legend.append(
            (
                kind,
                fig.add_glyph(
                    outlines, MultiLine(xs="xs", ys="ys", line_color=color, line_alpha=0.6)
                ),
            )
        )
        source = column_source(rows, ["ra", "dec", "burst_id", "instrument", "error_deg", "ivorn"])
        hovered.append(
            fig.add_glyph(
                source, Scatter(x="ra", y="dec", size=7, fill_color=color, line_color=color)
            )
        )
        legend.append((kind, hovered[-1]))
    chosen = located[located["ivorn"] == selected]
    if len(chosen):
        fig.add_glyph(
            column_source(chosen, ["ra", "dec"]),
            Scatter(
                x="ra",
                y="dec",
                marker="circle",
                fill_alpha=0,
                line_color="black",
                line_width=2,
                size=18,
            ),
        )
    add_hover(fig, hovered, SKY_MAP_TOOLTIPS)
    add_legend(fig, legend, place="center", location="bottom_left")
    return fig
