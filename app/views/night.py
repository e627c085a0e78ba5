"""A night's image quality: its science frames with their figures, a frame outside the
``[quality]`` limits flagged with why, and the trends of one instrument and filter over the
nights up to it.

The same view runs in the server's Night page and in a notebook::

    stores = Stores.open("demo-workspace", read_only=True)
    NightQuality(stores.quality, night="20261130", instrument="DDRAGO1", filter="g")
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import panel as pn
import param

from app.markup import SafeMarkdown, markdown, paragraphs
from app.plots.night import plot_night_trends
from app.views.tables import table
from data_access.frame_quality import QualityStore, nightly_medians, parse_night

#: The frames table's columns, in order (the telemetry readings follow).
TABLE_COLUMNS = [
    "image_id",
    "outside",
    "instrument",
    "filter",
    "t_mid",
    "exptime",
    "zp",
    "zp_err",
    "fwhm_arcsec",
    "fwhm_px",
    "ellipticity",
    "sky_adu",
    "sky_mag_arcsec2",
    "limit_mag",
    "airmass",
    "source",
    "run_id",
]
#: Figures rounded in the table: column → decimals.
ROUNDED = {"zp": 3, "zp_err": 3, "fwhm_arcsec": 2, "fwhm_px": 2, "ellipticity": 3}
ROUNDED |= {"sky_adu": 0, "sky_mag_arcsec2": 2, "limit_mag": 2, "airmass": 3}


class NightQuality(pn.viewable.Viewer):
    """One night's frames and the trends of one instrument and filter (the page keeps the
    three in the URL: ``/night?night=YYYYMMDD&instrument=DDRAGO1&filter=g``).

    Parameters
    ----------
    store : QualityStore
    night : str, optional
        ``YYYYMMDD``; empty, the newest night with frames.
    instrument, filter : str, optional
        The trends' instrument and filter; empty, the first of the night's frames.
    """

    store = param.ClassSelector(class_=QualityStore, constant=True)
    night = param.Selector(default="", objects=[""], check_on_set=False, doc="YYYYMMDD")
    instrument = param.Selector(default="", objects=[""], check_on_set=False)
    filter = param.Selector(default="", objects=[""], check_on_set=False)

    def __init__(self, store: QualityStore, **params) -> None:
        super().__init__(store=store, **params)
        nights = [f"{n:%Y%m%d}" for n in store.nights()]
        kinds = store.kinds()
        if not self.night and nights:
            self.night = nights[0]
        # a value asked for (a link's) stays a choice, so that the page says what it is
        for name, known in (
            ("night", nights),
            ("instrument", ["", *sorted(set(kinds["instrument"]))]),
            ("filter", ["", *sorted(set(kinds["filter"]))]),
        ):
            asked = getattr(self, name)
            self.param[name].objects = known + ([asked] if asked not in known else [])

    # -- data -----------------------------------------------------------------------------
    def chosen_night(self) -> date | None:
        """The night shown, None when the URL's is not a night (see :meth:`problem`)."""
        try:
            return parse_night(self.night) if self.night else None
        except ValueError:
            return None

    def frames(self) -> pd.DataFrame:
        """The night's frames, every instrument and filter (:meth:`QualityStore.frames`)."""
        night = self.chosen_night()
        if night is None:
            return pd.DataFrame(columns=TABLE_COLUMNS)
        return self.store.frames(night)

    def kind(self, frames: pd.DataFrame) -> tuple[str, str]:
        """The trends' instrument and filter: those asked for, else the night's first."""
        instrument, filter_ = self.instrument, self.filter
        if frames.empty:
            return instrument, filter_
        first = frames.iloc[0]
        if not instrument:
            instrument = str(first["instrument"])
        if not filter_:
            mine = frames[frames["instrument"] == instrument]
            filter_ = str(mine["filter"].iloc[0] if len(mine) else first["filter"])
        return instrument, filter_

    def trend_frames(self, instrument: str, filter_: str) -> pd.DataFrame:
        """The frames of one instrument and filter over the trend's nights ending with the
        night shown."""
        night = self.chosen_night()
        if night is None:
            return pd.DataFrame(columns=TABLE_COLUMNS + ["night"])
        start = night - timedelta(days=self.store.trend_nights - 1)
        return self.store.frames_between(instrument, filter_, start, night)

    # -- display --------------------------------------------------------------------------
    def summary(self, frames: pd.DataFrame) -> SafeMarkdown:
        """The night in words: its frames, how many lie outside the limits, the limits."""
        if not self.night:
            return markdown("No science frame has been recorded yet.")
        if self.chosen_night() is None:
            return markdown("{night} is not a night (YYYYMMDD).", night=self.night)
        if frames.empty:
            return markdown("No science frame recorded on night {night}.", night=self.night)
        outside = int((frames["outside"] != "").sum())
        limits = self.store.limits
        said = markdown(
            "**Night {night}**: {n} frames, **{outside} outside the limits**.",
            night=f"{self.chosen_night():%Y-%m-%d}",
            n=len(frames),
            outside=outside,
        )
        rules = markdown(
            'Limits ([quality] of gic.toml, 0 = off): FWHM ≤ {fwhm}", ellipticity ≤ {ell}, '
            "zero point ≥ {zp} (AB mag for 1 e-/s), sky ≤ {sky} ADU and ≥ {mu} mag/arcsec², "
            "airmass ≤ {airmass}.",
            fwhm=limits.fwhm_max_arcsec,
            ell=limits.ellipticity_max,
            zp=limits.zero_point_min,
            sky=limits.sky_max_adu,
            mu=limits.sky_min_mag_arcsec2,
            airmass=limits.airmass_max,
        )
        return paragraphs(said, rules)

    def frames_table(self, frames: pd.DataFrame) -> pn.widgets.Tabulator:
        """The night's frames, a flagged frame's reasons in ``outside``, telemetry after."""
        shown = frames.round(ROUNDED)
        readings = [
            c for c in shown.columns if c not in TABLE_COLUMNS and c not in ("night", "path")
        ]
        return table(shown[[c for c in TABLE_COLUMNS if c in shown] + readings])

    def trends(self, frames: pd.DataFrame) -> list:
        """The trends' heading and figures for the chosen instrument and filter."""
        instrument, filter_ = self.kind(frames)
        window = self.trend_frames(instrument, filter_) if instrument else pd.DataFrame()
        if window.empty:
            return [
                pn.pane.Markdown(markdown("No frame of {i} {f} to trend.", i=instrument, f=filter_))
            ]
        heading = markdown(
            "### Trends of {instrument} {filter} over {n} nights",
            instrument=instrument,
            filter=filter_,
            n=self.store.trend_nights,
        )
        figures = plot_night_trends(
            window,
            nightly_medians(window),
            self.store.limits,
            filter_name=filter_,
            night=self.chosen_night(),
        )
        return [
            pn.pane.Markdown(heading),
            *(pn.pane.Bokeh(f, sizing_mode="stretch_width") for f in figures),
        ]

    @param.depends("night", "instrument", "filter")
    def _content(self):
        frames = self.frames()
        parts = [pn.pane.Markdown(self.summary(frames), sizing_mode="stretch_width")]
        if not frames.empty:
            parts += [self.frames_table(frames), *self.trends(frames)]
        return pn.Column(*parts, sizing_mode="stretch_width")

    def controls(self) -> pn.viewable.Viewable:
        """The night, instrument and filter choices (the page's sidebar)."""
        return pn.Param(
            self.param,
            parameters=["night", "instrument", "filter"],
            widgets={name: pn.widgets.Select for name in ("night", "instrument", "filter")},
            show_name=False,
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self._content, sizing_mode="stretch_width")
