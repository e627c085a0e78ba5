"""The telemetry explorer: pick sensors and a time range, see their series and latest values.

The same view runs in the server's Telemetry page and in a notebook::

    stores = Stores.open("demo-workspace")
    TelemetryExplorer(stores.status, sensors=["dome-weather-temperature"])
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import panel as pn
import param

from analysis.telemetry import NUMERIC_TYPES, bucket_width, format_duration
from app.markup import markdown, option_labels
from app.plots.telemetry import plot_series
from app.views.downloads import download_buttons
from app.views.tables import table
from data_access.telemetry.store import StatusStore

ALL = "(all)"
QUICK_RANGES = {
    "6 h": timedelta(hours=6),
    "1 d": timedelta(days=1),
    "7 d": timedelta(days=7),
    "30 d": timedelta(days=30),
}


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _choices(values) -> list[str]:
    return [ALL, *sorted({str(v) for v in values})]


def describe_age(seconds: float) -> str:
    """An age in words: '42 s', '7 min', '3.5 h', '2.0 d'."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


class TelemetryExplorer(pn.viewable.Viewer):
    """Sensors by subsystem, component and group; their series over a time range (min-max band
    and mean line, error readings marked) and the latest value of every sensor with its age."""

    store = param.ClassSelector(class_=StatusStore, constant=True)
    subsystem = param.Selector(default=ALL, objects=[ALL])
    component = param.Selector(default=ALL, objects=[ALL])
    group = param.Selector(default=ALL, objects=[ALL])
    sensors = param.ListSelector(default=[], objects=[])
    start = param.Date(default=None, doc="start of the time range (UTC)")
    end = param.Date(default=None, doc="end of the time range (UTC)")
    stale_after_min = param.Number(default=15.0, bounds=(0, None))
    max_points = param.Integer(default=2000, bounds=(10, None))
    cadence_min = param.Number(default=5.0, bounds=(0, None), doc="minutes between readings")
    revision = param.Integer(default=0, doc="the store's revision last shown")

    def __init__(self, store: StatusStore, **params) -> None:
        super().__init__(store=store, **params)
        self._catalogue = store.sensors()
        self._update_choices()
        if self.end is None or self.start is None:
            self.show_last(timedelta(days=1))
        self.revision = store.revision()

    # -- selection ----------------------------------------------------------------------
    def _filtered(self, depth: int) -> pd.DataFrame:
        frame = self._catalogue
        for column, value in (
            ("subsystem", self.subsystem),
            ("component", self.component),
            ("group", self.group),
        )[:depth]:
            if value != ALL:
                frame = frame[frame[column] == value]
        return frame

    @param.depends("subsystem", "component", "group", "sensors", watch=True)
    def _update_choices(self) -> None:
        self.param.subsystem.objects = _choices(self._catalogue["subsystem"])
        self.param.component.objects = _choices(self._filtered(1)["component"])
        if self.component not in self.param.component.objects:
            self.component = ALL
        self.param.group.objects = _choices(self._filtered(2)["group"])
        if self.group not in self.param.group.objects:
            self.group = ALL
        numeric = self._filtered(3).query("type != 'string'")
        chosen = {name for name in self.sensors if isinstance(name, str)}  # a URL may hold any
        self.param.sensors.objects = option_labels(sorted(set(numeric["name"]) | chosen))

    def show_last(self, span: timedelta | None) -> None:
        """Show the last ``span`` before the newest reading (everything when None)."""
        extent = self.store.time_span()
        if extent is None:
            now = _utcnow().replace(microsecond=0)
            self.param.update(start=now - timedelta(days=1), end=now)
            return
        first, last = extent
        end = last + timedelta(minutes=1)
        self.param.update(start=first if span is None else max(first, end - span), end=end)

    # -- data ---------------------------------------------------------------------------
    def bucket(self) -> timedelta:
        return bucket_width(
            self.start, self.end, self.max_points, minimum=timedelta(minutes=self.cadence_min)
        )

    def plotted(self) -> list[str]:
        """The chosen sensors that the plot can draw: the numeric ones of the cache (a shared
        link may name any)."""
        numeric = self._catalogue[self._catalogue["type"].isin(NUMERIC_TYPES)]
        return [name for name in self.sensors if name in set(numeric["name"])]

    def series(self) -> pd.DataFrame:
        """What the plot shows: the chosen sensors in buckets over the range."""
        if not self.plotted():
            return pd.DataFrame(columns=["name", "bucket_start", "min", "mean", "max", "count"])
        return self.store.series(self.plotted(), self.start, self.end, self.bucket())

    def errors(self) -> pd.DataFrame:
        return self.store.errors(self.plotted(), self.start, self.end)

    def latest(self) -> pd.DataFrame:
        """The latest value of each sensor of the chosen subsystem, component and group."""
        frame = self.store.latest(stale_after=timedelta(minutes=self.stale_after_min))
        chosen = set(self._filtered(3)["name"])
        frame = frame[frame["name"].isin(chosen)].copy()
        frame["state"] = "ok"
        frame.loc[frame["error_code"].fillna(0) != 0, "state"] = "error code"
        frame.loc[frame["stale"], "state"] = "stale"
        frame["age"] = frame["age_s"].map(lambda s: "never" if pd.isna(s) else describe_age(s))
        return frame[
            [
                "name",
                "pretty_name",
                "value",
                "unit",
                "ts",
                "age",
                "state",
                "error_code",
                "subsystem",
                "component",
                "group",
            ]
        ]

    def refresh(self) -> bool:
        """Redraw if readings arrived since the last look; True if there were new ones."""
        revision = self.store.revision()
        if revision == self.revision:
            return False
        self._catalogue = self.store.sensors()
        self._update_choices()
        self.revision = revision
        return True

    # -- display ------------------------------------------------------------------------
    @param.depends("sensors", "start", "end", "revision")
    def _plot(self):
        units = dict(zip(self._catalogue["name"], self._catalogue["unit"], strict=True))
        every = format_duration(self.bucket())
        plot = plot_series(
            self.series(), self.errors(), units, title=f"min-max band and mean per {every} bucket"
        )
        shown = pn.pane.Bokeh(plot, sizing_mode="stretch_width", min_height=380)
        missing = [name for name in self.sensors if name not in self.plotted()]
        if not missing:
            return shown
        said = markdown(
            "Not drawn, no numeric sensor of that name in the cache: {names}.",
            names=", ".join(map(str, missing)),
        )
        return pn.Column(
            pn.pane.Alert(said, alert_type="warning"), shown, sizing_mode="stretch_width"
        )

    @param.depends("subsystem", "component", "group", "stale_after_min", "revision")
    def _latest_table(self):
        return table(self.latest(), pagination="local", page_size=15)

    @param.depends("revision")
    def _freshness(self):
        extent = self.store.time_span()
        if extent is None:
            return pn.pane.Alert("No readings in the cache yet.", alert_type="warning")
        age = (_utcnow() - extent[1]).total_seconds()
        kind = "warning" if age > self.stale_after_min * 60 else "success"
        text = markdown(
            "Newest reading: {newest:%Y-%m-%d %H:%M:%S} UTC, {age} ago.",
            newest=extent[1],
            age=describe_age(age),
        )
        return pn.pane.Alert(text, alert_type=kind, margin=(0, 5))

    def _range_button(self, label: str) -> pn.widgets.Button:
        button = pn.widgets.Button(label=label, color="light", width=52, margin=(5, 2))
        button.on_click(lambda _: self.show_last(QUICK_RANGES.get(label)))
        return button

    def controls(self) -> pn.Column:
        quick = pn.Row(*(self._range_button(label) for label in [*QUICK_RANGES, "all"]))
        sensor_picker = pn.widgets.MultiChoice.from_param(
            self.param.sensors,
            label="Sensors",
            placeholder="pick one or more numeric sensors",
            options=option_labels(self.param.sensors.objects),  # labels shown as HTML
        )
        return pn.Column(
            pn.widgets.Select.from_param(self.param.subsystem, label="Subsystem"),
            pn.widgets.Select.from_param(self.param.component, label="Component"),
            pn.widgets.Select.from_param(self.param.group, label="Group"),
            sensor_picker,
            pn.widgets.DatetimePicker.from_param(self.param.start, label="Start (UTC)"),
            pn.widgets.DatetimePicker.from_param(self.param.end, label="End (UTC)"),
            quick,
            download_buttons("telemetry", self.series),
            sizing_mode="stretch_width",
        )

    def display(self) -> pn.Column:
        """Freshness, the plot and the latest-values table (without the controls)."""
        return pn.Column(
            self._freshness,
            self._plot,
            pn.pane.Markdown("### Latest values"),
            self._latest_table,
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Row(
            pn.Column(self.controls(), width=320), self.display(), sizing_mode="stretch_width"
        )
