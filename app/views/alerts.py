"""The alerts browser: one row per burst, the sky from the telescope, a burst's notices and
observability, the packets without a burst, the NATS feed.

The same view runs in the server's Alerts page and in a notebook::

    stores = Stores.open("demo-workspace", read_only=True)
    AlertsBrowser(stores.alerts, burst="sb26021102")
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import panel as pn
import param

from analysis.observability import (
    MIN_ALTITUDE_DEG,
    Site,
    above,
    altitudes,
    coming_night,
    horizon,
    sun_and_moon,
)
from analysis.sky import galactic_plane
from app.markup import markdown
from app.plots.alerts import SkyLayers, plot_altitude_track, plot_sky_map
from app.views.alerts_detail import alert_flags, burst_summary, observability_summary, packet_detail
from app.views.downloads import download_buttons
from app.views.feedback import guarded
from app.views.tables import table
from data_access.alerts.bursts import BurstQueries, utc_time
from data_access.alerts.store import AlertStore
from data_access.alerts.trigger_extras import telescope_site
from data_access.config import SiteConfig

LOG = logging.getLogger("gic.alerts")
BURST_COLUMNS = [
    "flags",
    "burst_id",
    "t0",
    "since_t0",
    "ra",
    "dec",
    "error_deg",
    "best_instrument",
    "instruments",
    "notices",
    "altitude_deg",
]
BURST_TITLES = {
    "since_t0": "since T0",
    "error_deg": "error (deg)",
    "best_instrument": "position from",
    "altitude_deg": "altitude now (deg)",
}
NOTICE_COLUMNS = [
    "received_at",
    "instrument",
    "packet_type",
    "role",
    "ra",
    "dec",
    "error_deg",
    "t0_to_arrival_s",
    "arrival_to_trigger_s",
    "ivorn",
]
UNASSIGNED_COLUMNS = [
    "flags",
    "event_id",
    "t0",
    "mission",
    "instrument",
    "role",
    "ra",
    "dec",
    "error_deg",
    "packet_type",
    "received_at",
    "ivorn",
]
#: Degrees between two cells of the shading of the sky above the horizon.
SKY_CELL_DEG = 6.0
#: Grey of the rows of retracted bursts.
RETRACTED_STYLE = "color: #9e9e9e; font-style: italic"


def since(t0, now: datetime) -> str:
    """The time from ``t0`` to ``now`` as '3 d 4 h', '5 h 12 min' or '7 min 30 s'."""
    if t0 is None or pd.isna(t0):
        return "unknown"
    seconds = int((pd.Timestamp(now).tz_localize(None) - pd.Timestamp(t0)).total_seconds())
    days, rest = divmod(abs(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    sign = "-" if seconds < 0 else ""
    if days:
        return f"{sign}{days} d {hours} h"
    return f"{sign}{hours} h {minutes} min" if hours else f"{sign}{minutes} min {secs} s"


def sky_layers(site: Site, at: datetime) -> SkyLayers:
    """The sky map's layers from ``site`` at ``at``: the horizon, the sky above it now and
    above :data:`~analysis.observability.MIN_ALTITUDE_DEG` during the coming astronomical
    night, the Sun, the Moon and the galactic plane."""
    now = utc_time(at)
    ra, dec = np.meshgrid(
        np.arange(0, 360, SKY_CELL_DEG) + SKY_CELL_DEG / 2,
        np.degrees(np.arcsin(np.linspace(-1, 1, int(180 / SKY_CELL_DEG) + 1)[:-1] + 1 / 30)),
    )
    ra, dec = ra.ravel(), dec.ravel()
    night = coming_night(site, now)
    start, end = (
        night.evening_astronomical or night.sunset,
        night.morning_astronomical or night.sunrise,
    )
    tonight = start + np.linspace(0, 1, 9) * (end - start)
    reachable = above(site, ra, dec, tonight, min_altitude_deg=MIN_ALTITUDE_DEG)
    up = above(site, ra, dec, now)
    bodies = sun_and_moon(site, now)
    return SkyLayers(
        site=site.name,
        galactic_plane=galactic_plane(),
        sun=bodies["sun"],
        moon=bodies["moon"],
        horizon_now=horizon(site, now),
        above_now=(ra[up], dec[up]),
        above_tonight=(ra[reachable], dec[reachable]),
    )


class AlertsBrowser(pn.viewable.Viewer):
    """Bursts newest first (retracted ones greyed and marked), the sky map, one burst's
    notices, latency and observability, and the packets without a burst."""

    store = param.ClassSelector(class_=AlertStore, constant=True)
    queries = param.ClassSelector(class_=BurstQueries, constant=True)
    site = param.ClassSelector(class_=Site, constant=True)
    burst = param.String(default="", doc="the burst shown in detail")
    ivorn = param.String(default="", doc="the packet shown in detail (a burst's newest by default)")
    include_tests = param.Boolean(default=True, doc="show test packets")
    revision = param.Tuple(default=(0, 0, 0), length=3, doc="the store's state last shown")
    at = param.Date(default=None, allow_None=True, doc="the instant shown as now (None: the clock)")

    def __init__(self, store: AlertStore, *, site: SiteConfig | None = None, **params) -> None:
        queries = BurstQueries(store.cache, store.triggers_dir)
        super().__init__(
            store=store, queries=queries, site=telescope_site(site or SiteConfig()), **params
        )
        self.revision = store.last_change()
        self._sky: tuple | None = None

    # -- data ---------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.at or datetime.now(UTC)

    def bursts(self) -> pd.DataFrame:
        """One row per burst, with its flags, the time since T0 and its altitude now."""
        frame = self.queries.bursts(include_tests=self.include_tests)
        frame.insert(0, "flags", alert_flags(frame))
        now = self.now()
        frame["since_t0"] = [since(t0, now) for t0 in frame["t0"]]
        frame["altitude_deg"] = np.nan
        located = frame["ra"].notna().to_numpy()
        if located.any():
            frame.loc[located, "altitude_deg"] = np.round(
                altitudes(
                    self.site,
                    frame["ra"][located].to_numpy(),
                    frame["dec"][located].to_numpy(),
                    utc_time(now),
                ),
                1,
            )
        return frame

    def unassigned(self) -> pd.DataFrame:
        frame = self.queries.unassigned(include_tests=self.include_tests)
        frame.insert(0, "flags", alert_flags(frame))
        return frame

    def alerts(self) -> pd.DataFrame:
        """Every packet, newest first (the download)."""
        return self.store.alerts(include_tests=self.include_tests)

    def detail(self) -> dict | None:
        """The packet shown: the chosen one, else the chosen burst's newest."""
        if self.ivorn:
            return self.store.alert(self.ivorn)
        if self.burst:
            notices = self.queries.notices(self.burst)
            return self.store.alert(notices.iloc[0]["ivorn"]) if len(notices) else None
        return None

    def report(self) -> dict | None:
        """The chosen burst's report (:meth:`BurstQueries.report`), or None."""
        return (
            self.queries.report(self.burst, site=self.site, at=self.now()) if self.burst else None
        )

    def refresh(self) -> bool:
        """Show what arrived since the last look; True if anything did."""
        change = self.store.last_change()
        if change == self.revision:
            return False
        self.revision = change
        return True

    def layers(self) -> SkyLayers:
        """The sky map's layers, computed again when the clock moved on by ten minutes."""
        key = pd.Timestamp(self.now()).floor("10min")
        if self._sky is None or self._sky[0] != key:
            self._sky = (key, sky_layers(self.site, key.to_pydatetime()))
        return self._sky[1]

    # -- display ------------------------------------------------------------------------
    @param.depends("include_tests", "revision")
    def _bursts_table(self):
        frame = self.bursts()
        shown = table(
            frame[BURST_COLUMNS],
            titles=BURST_TITLES,
            pagination="local",
            page_size=12,
            selectable=1,
        )
        retracted = frame["retracted"].fillna(False).astype(bool).to_numpy()
        shown.style.apply(
            lambda row: [RETRACTED_STYLE if retracted[row.name] else ""] * len(row), axis=1
        )

        @guarded("Showing the burst", LOG)
        def choose(event) -> None:
            if event.new:
                self.param.update(burst=str(frame.iloc[event.new[0]]["burst_id"]), ivorn="")

        shown.param.watch(choose, "selection")
        return shown

    @param.depends("include_tests", "revision")
    def _unassigned_table(self):
        frame = self.unassigned()
        if frame.empty:
            return pn.pane.Markdown("No packet without a burst.")
        shown = table(
            frame[UNASSIGNED_COLUMNS],
            pagination="local",
            page_size=15,
            selectable=1,
            hidden_columns=["ivorn"],
        )

        @guarded("Showing the packet", LOG)
        def choose(event) -> None:
            if event.new:
                self.param.update(burst="", ivorn=str(frame.iloc[event.new[0]]["ivorn"]))

        shown.param.watch(choose, "selection")
        return shown

    @param.depends("include_tests", "revision", "burst")
    def _sky_map(self):
        return pn.pane.Bokeh(
            plot_sky_map(self.bursts(), self.layers(), selected=self.burst or None),
            sizing_mode="stretch_width",
            min_height=420,
        )

    @param.depends("burst", "revision")
    def _burst_detail(self):
        if not self.burst:
            return pn.pane.Markdown(
                "*Pick a burst in the table to see its notices and observability.*"
            )
        report = self.report()
        if report is None:
            return pn.pane.Markdown(markdown("No notice names burst {burst}.", burst=self.burst))
        notices = pd.DataFrame(report["packets"])
        shown = table(
            notices[NOTICE_COLUMNS],
            titles={
                "t0_to_arrival_s": "T0 → arrival (s)",
                "arrival_to_trigger_s": "arrival → trigger file (s)",
            },
            selectable=1,
            hidden_columns=["ivorn"],
            height=min(60 + 32 * len(notices), 260),
        )

        @guarded("Showing the notice", LOG)
        def choose(event) -> None:
            if event.new:
                self.ivorn = str(notices.iloc[event.new[0]]["ivorn"])

        shown.param.watch(choose, "selection")
        parts = [burst_summary(report), shown]
        if report["observability"] is not None:
            parts.append(observability_summary(report))
            parts.append(
                pn.pane.Bokeh(
                    plot_altitude_track(
                        report["observability"], title="Altitude over the coming night"
                    ),
                    sizing_mode="stretch_width",
                )
            )
        return pn.Column(*parts, sizing_mode="stretch_width")

    @param.depends("ivorn", "burst", "revision")
    def _detail(self):
        detail = self.detail()
        if detail is None:
            return pn.pane.Markdown("*Pick a packet to see its Params and raw XML.*")
        return packet_detail(detail, self.store)

    @param.depends("revision")
    def _operations(self):
        feed = self.store.operations_messages(limit=100)
        return table(
            feed[["received_at", "subject", "kind", "burst_id", "text", "error"]],
            pagination="local",
            page_size=10,
        )

    @param.depends("revision")
    def _quarantine(self):
        quarantined = self.store.quarantined()
        if quarantined.empty:
            return pn.pane.Markdown("No packet in quarantine.")
        return table(quarantined[["received", "source", "reason", "file"]])

    def controls(self) -> pn.Column:
        return pn.Column(
            pn.widgets.Checkbox.from_param(self.param.include_tests, label="Show test packets"),
            pn.pane.Markdown("Every packet as"),
            download_buttons("alerts", self.alerts),
            sizing_mode="stretch_width",
        )

    def display(self) -> pn.Column:
        return pn.Column(
            "### Alerts, newest first: one row per burst",
            self._bursts_table,
            pn.Row(
                pn.Column("### Sky map", self._sky_map, sizing_mode="stretch_width"),
                pn.Column("### Burst", self._burst_detail, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            ),
            pn.Row(
                pn.Column(
                    "### Packets without a burst",
                    self._unassigned_table,
                    sizing_mode="stretch_width",
                ),
                pn.Column("### Packet", self._detail, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            ),
            pn.Row(
                pn.Column(
                    "### NATS operations feed", self._operations, sizing_mode="stretch_width"
                ),
                pn.Column("### Quarantine", self._quarantine, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            ),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Column(self.controls(), self.display(), sizing_mode="stretch_width")
