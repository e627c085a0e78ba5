"""Alert plots: the all-sky map of the bursts, and one burst's altitude over the night.

The sky map is an Aitoff projection (:func:`analysis.sky.aitoff`) centred on RA 12 h, RA
increasing to the left; it draws the galactic plane, the Sun and the Moon, the sky above
the site's horizon now and the sky that rises above :data:`~analysis.observability.MIN_ALTITUDE_DEG`
during the coming astronomical night, and each burst's best position with its error circle
at its true size on the sphere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from bokeh.models import BoxAnnotation, ColumnDataSource, Label, MultiLine, Scatter, Span
from bokeh.plotting import figure

from analysis.observability import MIN_ALTITUDE_DEG
from analysis.sky import aitoff, cut_at_edge, small_circle
from app.plots.figures import add_hover, add_legend, column_source, new_figure

#: Colours of the burst kinds on the sky map.
KIND_COLORS = {"observation": "#1f77b4", "test": "#ff7f0e", "retracted": "#7f7f7f"}
#: What the hover tells of a burst on the sky map.
SKY_MAP_TOOLTIPS = [
    ("burst", "@burst_id"),
    ("best position from", "@best_instrument"),
    ("instruments", "@instruments"),
    ("RA, Dec (deg)", "@ra{0.000}, @dec{0.000}"),
    ("error radius (deg)", "@error_deg{0.0000}"),
    ("T0 (UTC)", "@t0{%F %T}"),
    ("altitude now (deg)", "@altitude_deg{0.0}"),
]
#: What the hover tells of a point of the altitude track.
TRACK_TOOLTIPS = [
    ("time (UTC)", "@time{%F %T}"),
    ("altitude (deg)", "@altitude{0.0}"),
    ("airmass", "@airmass{0.00}"),
]


@dataclass(frozen=True)
class SkyLayers:
    """What the sky map draws besides the bursts, as ICRS (RA, Dec) arrays in degrees."""

    site: str
    galactic_plane: tuple[np.ndarray, np.ndarray]
    sun: tuple[float, float]
    moon: tuple[float, float]
    horizon_now: tuple[np.ndarray, np.ndarray]
    above_now: tuple[np.ndarray, np.ndarray]
    above_tonight: tuple[np.ndarray, np.ndarray]


def projected_lines(curves) -> dict[str, list[np.ndarray]]:
    """The ``xs``/``ys`` of a MultiLine: each (RA, Dec) curve cut at the map's edge, projected."""
    xs, ys = [], []
    for ra, dec in curves:
        x, y = aitoff(*cut_at_edge(ra, dec))
        xs.append(x)
        ys.append(y)
    return {"xs": xs, "ys": ys}


def graticule() -> list[tuple[np.ndarray, np.ndarray]]:
    """Meridians every 2 h of RA and parallels every 30 deg, with the map's outline."""
    dec = np.linspace(-90, 90, 91)
    lines = [(np.full_like(dec, ra), dec) for ra in range(0, 360, 30)]
    ra = np.linspace(180.0001, 539.9999, 181) % 360
    lines += [(ra, np.full_like(ra, d)) for d in (-60, -30, 0, 30, 60)]
    lines += [(np.full_like(dec, 180.0001), dec), (np.full_like(dec, 179.9999), dec)]
    return lines


def burst_kinds(bursts: pd.DataFrame) -> np.ndarray:
    """'retracted', 'test' or 'observation' for each burst."""
    retracted = bursts["retracted"].fillna(False).astype(bool)
    test = bursts["test"].fillna(False).astype(bool)
    return np.where(retracted, "retracted", np.where(test, "test", "observation"))


def _add_sky(fig: figure, sky: SkyLayers, legend: list) -> None:
    fig.add_glyph(
        ColumnDataSource(projected_lines(graticule())),
        MultiLine(xs="xs", ys="ys", line_color="#cccccc", line_width=1),
    )
    for hours in range(0, 24, 4):
        x, y = aitoff(hours * 15.0, 0.0)
        fig.add_layout(Label(x=float(x), y=float(y), text=f"{hours}h", text_font_size="9pt"))
    for label, (ra, dec), color, alpha in (
        (f"above {MIN_ALTITUDE_DEG:.0f}° tonight", sky.above_tonight, "#9ecae1", 0.35),
        ("above the horizon now", sky.above_now, "#3182bd", 0.25),
    ):
        x, y = aitoff(ra, dec)
        shade = ColumnDataSource({"x": x, "y": y})
        marker = Scatter(x="x", y="y", marker="square", size=9, fill_alpha=alpha, line_alpha=0)
        marker.fill_color = color
        legend.append((label, fig.add_glyph(shade, marker)))
    for label, curve, color, dash in (
        ("horizon now", sky.horizon_now, "#31a354", "solid"),
        ("galactic plane", sky.galactic_plane, "#8c6d31", "dashed"),
    ):
        line = MultiLine(xs="xs", ys="ys", line_color=color, line_dash=dash, line_width=1.5)
        legend.append((label, fig.add_glyph(ColumnDataSource(projected_lines([curve])), line)))
    for label, (ra, dec), color, size in (
        ("Sun", sky.sun, "#ffcc00", 16),
        ("Moon", sky.moon, "#969696", 13),
    ):
        x, y = aitoff(ra, dec)
        body = Scatter(x="x", y="y", size=size, fill_color=color, line_color="black")
        legend.append((label, fig.add_glyph(ColumnDataSource({"x": [x], "y": [y]}), body)))


def plot_sky_map(bursts: pd.DataFrame, sky: SkyLayers, *, selected: str | None = None) -> figure:
    """The bursts on an all-sky Aitoff map from the site (see the module's description), the
    selected burst ringed and zoomed to; the hover tells each burst's values.

    Parameters
    ----------
    bursts : DataFrame
        burst_id, ra, dec, error_deg (deg), best_instrument, instruments, t0, retracted,
        test and altitude_deg (now, deg), as the Alerts view gives them; bursts without a
        position are left out.
    sky : SkyLayers
    selected : str, optional
        The burst to ring and zoom to.
    """
    located = bursts.dropna(subset=["ra", "dec"]).copy()
    located["x"], located["y"] = aitoff(located["ra"].to_numpy(), located["dec"].to_numpy())
    located["kind"] = burst_kinds(located)
    fig = new_figure(
        title=f"Sky from {sky.site}", x_range=(-185, 185), y_range=(-95, 95), height=420
    )
    fig.axis.visible = False
    fig.grid.visible = False
    legend: list = []
    _add_sky(fig, sky, legend)
    hovered = []
    for kind, rows in located.groupby("kind"):
        color = KIND_COLORS[kind]
        circles = [
            small_circle(ra, dec, error)
            for ra, dec, error in rows[["ra", "dec", "error_deg"]].itertuples(index=False)
            if error > 0
        ]
        outline = MultiLine(xs="xs", ys="ys", line_color=color, line_width=1.5)
        fig.add_glyph(ColumnDataSource(projected_lines(circles)), outline)
        columns = ["x", "y", *_HOVER_COLUMNS]
        points = Scatter(x="x", y="y", size=8, fill_color=color, line_color=color, marker="x")
        hovered.append(fig.add_glyph(column_source(rows, columns), points))
        legend.append((f"bursts: {kind}", hovered[-1]))
    chosen = located[located["burst_id"] == selected]
    if len(chosen):
        _ring_and_zoom(fig, chosen.iloc[0])
    add_hover(fig, hovered, SKY_MAP_TOOLTIPS)
    add_legend(fig, legend, place="right")
    return fig


#: The columns of a burst the sky map's hover reads.
_HOVER_COLUMNS = [
    "burst_id",
    "best_instrument",
    "instruments",
    "ra",
    "dec",
    "error_deg",
    "t0",
    "altitude_deg",
]


def _ring_and_zoom(fig: figure, burst: pd.Series) -> None:
    fig.add_glyph(
        ColumnDataSource({"x": [burst["x"]], "y": [burst["y"]]}),
        Scatter(x="x", y="y", fill_alpha=0, line_color="black", line_width=2, size=22),
    )
    half = max(10.0, 8 * float(burst["error_deg"] if burst["error_deg"] > 0 else 0))
    fig.x_range.start, fig.x_range.end = burst["x"] - 2 * half, burst["x"] + 2 * half
    fig.y_range.start, fig.y_range.end = burst["y"] - half, burst["y"] + half


def plot_altitude_track(seen: dict, *, title: str = "") -> figure:
    """A position's altitude over the coming night: the twilights shaded, the
    :data:`~analysis.observability.MIN_ALTITUDE_DEG` line, "now" marked; the hover gives the
    time, altitude and airmass.

    Parameters
    ----------
    seen : dict
        :meth:`analysis.observability.Observability.to_dict`.
    """
    fig = new_figure(
        title=title,
        x_label="UTC",
        y_label="altitude (deg)",
        x_axis_type="datetime",
        height=260,
        y_range=(0, 90),
    )
    night = {name: _moment(value) for name, value in seen["night"].items()}
    for start, end, color in (
        ("sunset", "evening_astronomical", "#c6dbef"),
        ("evening_astronomical", "morning_astronomical", "#6baed6"),
        ("morning_astronomical", "sunrise", "#c6dbef"),
    ):
        if night[start] is not None and night[end] is not None:
            box = BoxAnnotation(left=night[start], right=night[end], fill_color=color)
            box.fill_alpha = 0.3
            fig.add_layout(box)
    fig.add_layout(Span(location=MIN_ALTITUDE_DEG, dimension="width", line_dash="dashed"))
    now = _moment(seen["at"])
    if night["sunset"] <= now <= night["sunrise"]:
        fig.add_layout(Span(location=now, dimension="height", line_color="#d62728"))
    track = seen["track"]
    source = ColumnDataSource(
        {
            "time": pd.to_datetime(track["time"]).tz_localize(None).to_numpy(),
            "altitude": np.array(track["altitude_deg"], dtype=float),
            "airmass": np.array([np.nan if a is None else a for a in track["airmass"]]),
        }
    )
    line = fig.line("time", "altitude", source=source, line_width=2)
    add_hover(fig, [line], TRACK_TOOLTIPS)
    return fig


def _moment(iso: str | None):
    return None if iso is None else pd.Timestamp(iso).tz_localize(None).to_pydatetime()
