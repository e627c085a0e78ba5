"""The Night page's trends: each quality figure of one instrument and filter against the night.

Plain functions from the store's DataFrames to Bokeh figures (:mod:`app.plots.figures`):
every frame a point at its night (red when it lies outside the limits), the nightly median
a line, the limit a dashed red line, the night shown a vertical band.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from bokeh.models import BoxAnnotation, ColumnDataSource, Line, Scatter
from bokeh.plotting import figure

from analysis.colibri import filter_color
from analysis.frame_quality import QualityLimits
from app.plots.figures import LIMIT_COLOR, add_hover, add_limit_lines, column_source, new_figure

#: Colour of a frame within the limits (the nightly median takes the filter's colour).
FRAME_COLOR = "#7f7f7f"


@dataclass(frozen=True)
class Figure:
    """One quality figure to trend: its column, title, unit and the limit it keeps."""

    column: str
    title: str
    unit: str
    limit: str = ""  # the QualityLimits field, '' for none

    def limit_value(self, limits: QualityLimits) -> float:
        return float(getattr(limits, self.limit)) if self.limit else 0.0


#: The figures trended, in the page's order.
FIGURES: tuple[Figure, ...] = (
    Figure("zp", "Zero point", "AB mag for 1 e-/s", "zero_point_min"),
    Figure("fwhm_arcsec", "FWHM", "arcsec", "fwhm_max_arcsec"),
    Figure("ellipticity", "Ellipticity", "1 - b/a", "ellipticity_max"),
    Figure("sky_mag_arcsec2", "Sky brightness", "AB mag/arcsec²", "sky_min_mag_arcsec2"),
    Figure("sky_adu", "Sky level", "ADU per pixel", "sky_max_adu"),
    Figure("limit_mag", "Limiting magnitude (5σ)", "AB mag"),
    Figure("airmass", "Airmass", "", "airmass_max"),
)


def _night_axis(nights: pd.Series) -> pd.Series:
    return pd.to_datetime(pd.Series(nights, dtype=object).astype(str))


def plot_night_trends(
    frames: pd.DataFrame,
    nightly: pd.DataFrame,
    limits: QualityLimits,
    *,
    filter_name: str = "",
    night: date | None = None,
    figures: Sequence[Figure] = FIGURES,
) -> list[figure]:
    """Each figure of the frames against their night, with the nightly medians and the limit.

    Parameters
    ----------
    frames : DataFrame
        :meth:`QualityStore.frames_between` rows (night, image_id, outside, the figures).
    nightly : DataFrame
        :meth:`QualityStore.nightly` rows (night, the figures' medians).
    limits : QualityLimits
    filter_name : str, optional
        The filter, for the median line's colour.
    night : date, optional
        The night shown, marked by a band.
    figures : sequence of Figure, optional

    Returns
    -------
    list of bokeh.plotting.figure
        In the order of ``figures``, their night axes linked.
    """
    columns = [f.column for f in figures]
    points = frames.assign(x=_night_axis(frames["night"]), flagged=frames["outside"] != "")
    points["color"] = points["flagged"].map({True: LIMIT_COLOR, False: FRAME_COLOR})
    source = column_source(points, ["x", "image_id", "outside", "color", *columns])
    medians = ColumnDataSource(
        {
            "x": _night_axis(nightly["night"]).to_numpy(),
            **{c: nightly[c].to_numpy() for c in columns},
        }
    )
    shown: list[figure] = []
    for spec in figures:
        fig = new_figure(
            title=spec.title,
            x_label="night",
            x_axis_type="datetime",
            y_label=f"{spec.title} [{spec.unit}]" if spec.unit else spec.title,
            dates_of=shown[0] if shown else None,
            height=220,
        )
        fig.add_glyph(
            medians, Line(x="x", y=spec.column, line_color=filter_color(filter_name or "?"))
        )
        dots = fig.add_glyph(
            source, Scatter(x="x", y=spec.column, size=6, fill_color="color", line_color="color")
        )
        if limit := spec.limit_value(limits):
            add_limit_lines(fig, [limit])
        if night is not None:
            start = pd.Timestamp(night) - timedelta(hours=12)
            fig.add_layout(
                BoxAnnotation(
                    left=start, right=start + timedelta(days=1), fill_alpha=0.1, fill_color="navy"
                )
            )
        add_hover(
            fig,
            [dots],
            [("frame", "@image_id"), (spec.title, f"@{spec.column}"), ("outside", "@outside")],
        )
        shown.append(fig)
    return shown
