"""The alerts browser: every alert newest first, a sky map, one alert's detail, the NATS feed.

The same view runs in the server's Alerts page and in a notebook::

    stores = Stores.open("demo-workspace", read_only=True)
    AlertsBrowser(stores.alerts)
"""

from __future__ import annotations

import pandas as pd
import panel as pn
import param

from app.markup import bullets, code, html, markdown, paragraphs
from app.plots.alerts import plot_sky_map
from app.views.downloads import download_buttons
from app.views.tables import table
from data_access.alerts.store import AlertStore

TABLE_COLUMNS = [
    "flags",
    "burst_id",
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


def alert_flags(alerts: pd.DataFrame) -> pd.Series:
    """'TEST', 'RETRACTION', 'RETRACTED' (or '') for each alert, for the eye and the tests."""
    flags = pd.Series([""] * len(alerts), index=alerts.index, dtype=object)
    for column, word in (
        ("test", "TEST"),
        ("retraction", "RETRACTION"),
        ("retracted", "RETRACTED"),
    ):
        marked = alerts[column].fillna(False).astype(bool)
        flags[marked] = (flags[marked] + " " + word).str.strip()
    return flags


class AlertsBrowser(pn.viewable.Viewer):
    """Alerts newest first, with test packets and retractions marked; pick one to see every
    Param, its raw XML and the burst's trigger file."""

    store = param.ClassSelector(class_=AlertStore, constant=True)
    ivorn = param.String(default="", doc="the alert shown in detail")
    include_tests = param.Boolean(default=True, doc="show test packets")
    limit = param.Integer(default=500, bounds=(1, None), doc="most alerts listed")
    revision = param.Tuple(default=(0, 0, 0), length=3, doc="the store's state last shown")

    def __init__(self, store: AlertStore, **params) -> None:
        super().__init__(store=store, **params)
        self.revision = store.last_change()

    # -- data ---------------------------------------------------------------------------
    def alerts(self) -> pd.DataFrame:
        frame = self.store.alerts(limit=self.limit, include_tests=self.include_tests)
        frame.insert(0, "flags", alert_flags(frame))
        return frame

    def detail(self) -> dict | None:
        return self.store.alert(self.ivorn) if self.ivorn else None

    def refresh(self) -> bool:
        """Show what arrived since the last look; True if anything did."""
        change = self.store.last_change()
        if change == self.revision:
            return False
        self.revision = change
        return True

    # -- display ------------------------------------------------------------------------
    @param.depends("include_tests", "limit", "revision")
    def _table(self):
        frame = self.alerts()
        shown = table(
            frame[TABLE_COLUMNS],
            pagination="local",
            page_size=15,
            selectable=1,
            hidden_columns=["ivorn"],
        )

        def choose(event) -> None:
            if event.new:
                self.ivorn = str(frame.iloc[event.new[0]]["ivorn"])

        shown.param.watch(choose, "selection")
        return shown

    @param.depends("include_tests", "limit", "revision", "ivorn")
    def _sky_map(self):
        return pn.pane.Bokeh(
            plot_sky_map(self.alerts(), selected=self.ivorn or None),
            sizing_mode="stretch_width",
            min_height=320,
        )

    @param.depends("ivorn", "revision")
    def _detail(self):
        detail = self.detail()
        if detail is None:
            return pn.pane.Markdown("*Pick an alert in the table to see its Params and raw XML.*")
        params = pd.DataFrame(
            [
                {"param": k, "value": v, "unit": detail["units"].get(k, "")}
                for k, v in detail["params"].items()
            ]
        )
        flags = alert_flags(pd.DataFrame([detail]).assign(test=detail["role"] == "test")).iloc[0]
        lines = [
            markdown(
                "### {name} {flags}",
                name=detail["burst_id"] or detail["event_id"] or "no burst ID",
                flags=flags,
            ),
            code(detail["ivorn"]),
            markdown(
                "T0 {t0} UTC (MJD {mjd}); {mission} {instrument}; role {role}; packet type {kind}",
                t0=_when(detail["t0"]),
                mjd=_number(detail["t0_mjd"], 5),
                mission=detail["mission"],
                instrument=detail["instrument"],
                role=detail["role"],
                kind=detail["packet_type"],
            ),
            markdown(
                "RA {ra} deg, Dec {dec} deg, error radius {radius} deg",
                ra=_number(detail["ra"], 4),
                dec=_number(detail["dec"], 4),
                radius=_number(detail["error_deg"], 4),
            ),
        ]
        if detail["retracted_by"]:
            lines += [markdown("Retracted by:"), bullets(code(i) for i in detail["retracted_by"])]
        trigger = self.store.trigger_file(detail["burst_id"]) if detail["burst_id"] else None
        parts = [pn.pane.Markdown(paragraphs(*lines)), table(params, height=300)]
        if trigger is not None:
            parts.append(_preformatted(trigger.name, trigger.read_text(encoding="utf-8")))
        parts.append(_preformatted("raw XML", detail["raw_xml"]))
        return pn.Column(*parts, sizing_mode="stretch_width")

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
            pn.widgets.IntInput.from_param(self.param.limit, label="Most alerts listed"),
            pn.pane.Markdown("Alerts as"),
            download_buttons("alerts", self.alerts),
            sizing_mode="stretch_width",
        )

    def display(self) -> pn.Column:
        return pn.Column(
            "### Alerts, newest first",
            self._table,
            pn.Row(
                pn.Column("### Sky map", self._sky_map, sizing_mode="stretch_width"),
                pn.Column("### Detail", self._detail, sizing_mode="stretch_width"),
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


def _when(moment) -> str:
    return (
        "unknown" if pd.isna(moment) else pd.Timestamp(moment).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    )


def _number(value, digits: int) -> str:
    return "unknown" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _preformatted(title: str, text: str) -> pn.pane.HTML:
    return pn.pane.HTML(
        html(
            "<b>{title}</b><pre style='max-height:320px;overflow:auto;background:#f6f8fa;"
            "padding:6px'>{text}</pre>",
            title=title,
            text=text,
        ),
        sizing_mode="stretch_width",
    )
