"""Alert plots: the sky map of positions with their error circles."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd

#: Colours of the alert kinds on the sky map.
KIND_COLORS = {"observation": "#1f77b4", "test": "#ff7f0e", "retracted": "#7f7f7f"}


def error_circles(frame: pd.DataFrame, *, points: int = 72) -> list[np.ndarray]:
    """Each alert's error circle as an (x, y) polygon in RA/Dec degrees, RA stretched by
    1/cos(Dec) so that the circle is round on the sky (clipped at the poles)."""
    angles = np.linspace(0, 2 * np.pi, points)
    circles = []
    for ra, dec, radius in frame[["ra", "dec", "error_deg"]].itertuples(index=False):
        stretch = 1 / max(np.cos(np.radians(dec)), 0.05)
        circles.append(np.column_stack([
            ra + radius * stretch * np.cos(angles),
            np.clip(dec + radius * np.sin(angles), -90, 90),
        ]))  # fmt: skip
    return circles


def plot_sky_map(alerts: pd.DataFrame, *, selected: str | None = None) -> hv.Overlay:
    """Alert positions on an RA/Dec map (RA increasing to the left), error circles drawn,
    test packets and retracted bursts in their own colours, the selected alert ringed."""
    located = alerts.dropna(subset=["ra", "dec"]).copy()
    located["error_deg"] = located["error_deg"].fillna(0.0)
    located["kind"] = np.where(located["retracted"], "retracted",
                               np.where(located["test"], "test", "observation"))  # fmt: skip
    layers: list = [hv.Path([], ["ra", "dec"])]
    for kind, rows in located.groupby("kind"):
        color = KIND_COLORS[kind]
        layers.append(hv.Path(error_circles(rows), ["ra", "dec"]).opts(color=color, alpha=0.6))
        layers.append(
            hv.Points(
                rows, ["ra", "dec"], ["burst_id", "instrument", "error_deg", "ivorn"], label=kind
            ).opts(color=color, size=7, tools=["hover"])  # fmt: skip
        )
    chosen = located[located["ivorn"] == selected]
    if len(chosen):
        layers.append(hv.Points(chosen, ["ra", "dec"]).opts(
            marker="circle", fill_alpha=0, line_color="black", line_width=2, size=18))  # fmt: skip
    return hv.Overlay(layers).opts(
        xlim=(360, 0), ylim=(-90, 90), xlabel="RA (deg)", ylabel="Dec (deg)",
        responsive=True, min_height=320, show_grid=True, legend_position="bottom_left",
    )  # fmt: skip
