"""The telemetry explorer: pick sensors and a time range, see their series and latest values.

The same view runs in the server's Telemetry page and in a notebook::

    stores = Stores.open("demo-workspace")
    TelemetryExplorer(stores.status, sensors=["dome-weather-temperature"])
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pandas as pd
import panel as pn
import param

from analysis.telemetry import NUMERIC_TYPES, bucket_width, describe_age, format_duration
from app.markup import markdown, option_labels
from app.plots.telemetry import plot_series
from app.views.downloads import download_buttons
from app.views.feedback import guarded
from app.views.tables import table
from data_access.telemetry.store import StatusStore

ALL = "(all)"
#: Ranges relative to the newest reading: the name kept in the URL to its span (None: all).
QUICK_RANGES = {
    "6h": timedelta(hours=6),
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "all": None,
}
#: How an absolute range is written in the URL: ``START/END``.
WINDOW_FORMAT = "%Y-%m-%dT%H:%M:%S"
#: The columns of the latest values, in order; ``name`` stays in view when scrolling.
LATEST_COLUMNS = [
    "name",
    "state",
    "value",
    "unit",
    "age",
    "error_code",
    "longest_gap",
    "pretty_name",
    "ts",
    "subsystem",
    "component",
    "group",
]

LOG = logging.getLogger("gic.telemetry")


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _choices(values) -> list[str]:
    return [ALL, *sorted({str(v) for v in values})]


def parse_window(text: str) -> tuple[datetime, datetime] | None:
    """An absolute range as the URL holds it (``START/END``, UTC), or None if it is not one."""
    first, _, last = str(text).partition("/")
    try:
        start, end = (datetime.strptime(t, WINDOW_FORMAT) for t in (first, last))
    except ValueError:
        return None
    return (start, end) if start < end else None


class TelemetryExplorer(pn.viewable.Viewer):
    """Sensors by subsystem, component and group; their series over a time range (one panel
    per unit: min-max band and mean line, error readings marked) and the latest value of
    every sensor with its age, state and longest silence in the range."""

    store = param.ClassSelector(class_=StatusStore, constant=True)
    subsystem = param.Selector(default=ALL, objects=[ALL])
    component = param.Selector(default=ALL, objects=[ALL])
    group = param.Selector(default=ALL, objects=[ALL])
    sensors = param.ListSelector(default=[], objects=[])
    default_sensors = param.List(
        default=[],
        item_type=str,
        doc="plotted while no sensor is chosen (telemetry.default_sensors)",
    )
    search = param.String(default="", doc="words of a sensor's name, pretty name or group")
    problems_only = param.Boolean(default=False, doc="latest values: stale, error code, gap")
    window = param.String(
        default="1d",
        doc="the range: a name of QUICK_RANGES (relative to the newest reading) or START/END",
    )
    start = param.Date(default=None, doc="start of the time range (UTC)")
    end = param.Date(default=None, doc="end of the time range (UTC)")
    stale_after_min = param.Number(default=15.0, bounds=(0, None))
    max_points = param.Integer(default=2000, bounds=(10, None))
    cadence_min = param.Number(default=5.0, bounds=(0, None), doc="minutes between readings")
    revision = param.Integer(default=0, doc="the store's revision last shown")

    def __init__(self, store: StatusStore, **params) -> None:
        if "window" not in params and params.get("start") and params.get("end"):
            params["window"] = _window_text(params["start"], params["end"])
        super().__init__(store=store, **params)
        self._moving = False
        self._catalogue = store.sensors()
        self._update_choices()
        self._apply_window()
        self.param.watch(self._range_set, ["start", "end"])
        self.param.watch(self._window_chosen, ["window"])
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

    def _found(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame``'s sensors that match :attr:`search`, best first."""
        if not self.search.strip():
            return frame
        ranked = self.store.search(self.search)["name"].tolist()
        order = {name: rank for rank, name in enumerate(ranked)}
        found = frame[frame["name"].isin(order)]
        return found.iloc[found["name"].map(order).argsort(kind="stable")]

    @param.depends("subsystem", "component", "group", "sensors", "search", watch=True)
    @guarded("Listing the sensors chosen", LOG)
    def _update_choices(self) -> None:
        self.param.subsystem.objects = _choices(self._catalogue["subsystem"])
        self.param.component.objects = _choices(self._filtered(1)["component"])
        if self.component not in self.param.component.objects:
            self.component = ALL
        self.param.group.objects = _choices(self._filtered(2)["group"])
        if self.group not in self.param.group.objects:
            self.group = ALL
        numeric = self._found(self._filtered(3).query("type != 'string'"))
        names = numeric["name"].tolist() if self.search.strip() else sorted(numeric["name"])
        chosen = [name for name in self.sensors if isinstance(name, str)]  # a URL may hold any
        self.param.sensors.objects = option_labels(
            [*chosen, *(n for n in names if n not in chosen)]
        )

    def show_last(self, span: timedelta | None) -> None:
        """Show the last ``span`` before the newest reading (everything when None), as a
        fixed range; the range buttons instead set :attr:`window`, which follows new
        readings."""
        extent = self.store.time_span()
        if extent is None:
            now = _utcnow().replace(microsecond=0)
            self.param.update(start=now - timedelta(days=1), end=now)
            return
        first, last = extent
        end = last + timedelta(minutes=1)
        self.param.update(start=first if span is None else max(first, end - span), end=end)

    def _apply_window(self) -> None:
        """Set start and end from :attr:`window` (a text from a link may be anything)."""
        fixed = parse_window(self.window)
        if fixed is None and self.window not in QUICK_RANGES:
            self.window = "1d"
        self._moving = True
        try:
            if fixed is None:
                self.show_last(QUICK_RANGES[self.window])
            else:
                self.param.update(start=fixed[0], end=fixed[1])
        finally:
            self._moving = False

    @guarded("Showing the range", LOG)
    def _window_chosen(self, _event) -> None:
        self._apply_window()

    @guarded("Showing the range chosen", LOG)
    def _range_set(self, *_events) -> None:
        """A start or end chosen by hand: the range becomes a fixed one."""
        if not self._moving and self.start is not None and self.end is not None:
            self.window = _window_text(self.start, self.end)

    # -- data ---------------------------------------------------------------------------
    def bucket(self) -> timedelta:
        return bucket_width(
            self.start, self.end, self.max_points, minimum=timedelta(minutes=self.cadence_min)
        )

    def shown(self) -> list[str]:
        """The sensors the plot is asked for: those chosen, else the default set."""
        if self.sensors:
            return list(self.sensors)
        known = set(self._catalogue["name"])
        return [name for name in self.default_sensors if name in known]

    def plotted(self) -> list[str]:
        """The sensors shown that the plot can draw: the numeric ones of the cache (a shared
        link may name any)."""
        numeric = set(self._catalogue.loc[self._catalogue["type"].isin(NUMERIC_TYPES), "name"])
        return [name for name in self.shown() if name in numeric]

    def series(self) -> pd.DataFrame:
        """What the plot shows: the sensors in buckets over the range, with their pretty
        name and unit."""
        columns = ["name", "pretty_name", "unit", "bucket_start", "min", "mean", "max", "count"]
        if not self.plotted():
            return pd.DataFrame(columns=columns)
        frame = self.store.series(self.plotted(), self.start, self.end, self.bucket())
        about = self._catalogue.set_index("name")
        frame["pretty_name"] = frame["name"].map(about["pretty_name"])
        frame["unit"] = frame["name"].map(about["unit"])
        return frame[columns]

    def readings(self) -> pd.DataFrame:
        """Every reading of the sensors plotted in the range, as received."""
        return self.store.readings(self.plotted(), self.start, self.end)

    def errors(self) -> pd.DataFrame:
        return self.store.errors(self.plotted(), self.start, self.end)

    def _selected(self) -> pd.DataFrame:
        """The sensors the sidebar selects: those chosen, and every sensor of the
        subsystem, component and group chosen (all of them when nothing is chosen)."""
        narrowed = any(value != ALL for value in (self.subsystem, self.component, self.group))
        chosen = self._catalogue["name"].isin(self.sensors)
        if narrowed or not chosen.any():
            chosen |= self._catalogue["name"].isin(self._filtered(3)["name"])
        return self._catalogue[chosen]

    def latest(self) -> pd.DataFrame:
        """The latest value of each sensor the sidebar selects (:meth:`_selected`) that
        matches the search: its state (ok, or its problems: stale, error
        code, gap when it was silent longer than ``stale_after_min`` in the range); the
        problems only when :attr:`problems_only`."""
        frame = self.store.latest(stale_after=timedelta(minutes=self.stale_after_min))
        frame = frame[frame["name"].isin(self._found(self._selected())["name"])]
        gaps = self.store.gaps(self.start, self.end).set_index("name")
        frame = frame.copy()
        silence = frame["name"].map(gaps["longest_gap_s"])
        empty = frame["name"].map(gaps["readings"]) == 0
        problems = pd.DataFrame(
            {
                "stale": frame["stale"],
                "error code": frame["error_code"].fillna(0) != 0,
                "gap": (silence > self.stale_after_min * 60) | empty,
            }
        )
        frame["state"] = [
            ", ".join(problems.columns[row]) or "ok" for row in problems.to_numpy(dtype=bool)
        ]
        frame["age"] = frame["age_s"].map(lambda s: "never" if pd.isna(s) else describe_age(s))
        frame["longest_gap"] = [
            "no reading in range" if none else ("" if pd.isna(s) else describe_age(s))
            for s, none in zip(silence, empty, strict=True)
        ]
        if self.problems_only:
            frame = frame[frame["state"] != "ok"]
        return frame[LATEST_COLUMNS].reset_index(drop=True)

    def refresh(self) -> bool:
        """Redraw if readings arrived since the last look; True if there were new ones. A
        relative range moves on to the newest reading."""
        revision = self.store.revision()
        if revision == self.revision:
            return False
        self._catalogue = self.store.sensors()
        self._update_choices()
        if self.window in QUICK_RANGES:
            self._apply_window()
        self.revision = revision
        return True

    # -- display ------------------------------------------------------------------------
    @param.depends("sensors", "start", "end", "revision")
    def _plot(self):
        units = dict(zip(self._catalogue["name"], self._catalogue["unit"], strict=True))
        every = format_duration(self.bucket())
        figures = plot_series(
            self.series(), self.errors(), units, title=f"min-max band and mean per {every} bucket"
        )
        panels = [pn.pane.Bokeh(fig, sizing_mode="stretch_width") for fig in figures]
        said = [self._hint()]
        missing = [name for name in self.shown() if name not in self.plotted()]
        if missing:
            text = markdown(
                "Not drawn, no numeric sensor of that name in the cache: {names}.",
                names=", ".join(map(str, missing)),
            )
            said.append(pn.pane.Alert(text, alert_type="warning"))
        return pn.Column(*said, *panels, sizing_mode="stretch_width")

    def _hint(self) -> pn.pane.Markdown:
        if self.sensors:
            text = markdown("*Remove every chosen sensor to see the default set again.*")
        elif self.plotted():
            text = markdown(
                "*The default sensors (telemetry.default_sensors in gic.toml): pick sensors "
                "in the sidebar to see others.*"
            )
        else:
            text = markdown(
                "*No sensor chosen and none of the default set (telemetry.default_sensors in "
                "gic.toml) is in the cache: pick sensors in the sidebar.*"
            )
        return pn.pane.Markdown(text, margin=(0, 10))

    @param.depends(
        "subsystem",
        "component",
        "group",
        "sensors",
        "search",
        "problems_only",
        "start",
        "end",
        "stale_after_min",
        "revision",
    )
    def _latest_table(self):
        frame = self.latest()
        if frame.empty and self.problems_only:
            return pn.pane.Markdown(
                "No problem: every sensor shown is fresh, without error code or gap."
            )
        return table(
            frame,
            pagination="local",
            page_size=20,
            frozen_columns=["name"],
            titles={
                "error_code": "error code",
                "longest_gap": "longest gap",
                "pretty_name": "pretty name",
            },
        )

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
        button = pn.widgets.Button(label=label, width=52, margin=(5, 2))

        @guarded("Showing the range chosen", LOG)
        def paint(*_):
            button.color = "primary" if self.window == label else "light"

        paint()
        self.param.watch(paint, ["window"])
        button.on_click(guarded(f"Showing {label}", LOG)(lambda _: setattr(self, "window", label)))
        return button

    def controls(self) -> pn.Column:
        quick = pn.Row(*(self._range_button(label) for label in QUICK_RANGES))
        sensor_picker = pn.widgets.MultiChoice.from_param(
            self.param.sensors,
            label="Sensors",
            placeholder="pick one or more numeric sensors",
            options=option_labels(self.param.sensors.objects),  # labels shown as HTML
        )
        return pn.Column(
            pn.widgets.TextInput.from_param(
                self.param.search,
                label="Find sensors (name, pretty name, group)",
                placeholder="e.g. wind, detector temperature",
            ),
            pn.widgets.Select.from_param(self.param.subsystem, label="Subsystem"),
            pn.widgets.Select.from_param(self.param.component, label="Component"),
            pn.widgets.Select.from_param(self.param.group, label="Group"),
            sensor_picker,
            pn.widgets.DatetimePicker.from_param(self.param.start, label="Start (UTC)"),
            pn.widgets.DatetimePicker.from_param(self.param.end, label="End (UTC)"),
            quick,
            pn.pane.Markdown("**Download** the series (buckets)"),
            download_buttons("telemetry", self.series),
            pn.pane.Markdown("every reading of the range"),
            download_buttons("telemetry_readings", self.readings),
            sizing_mode="stretch_width",
        )

    def display(self) -> pn.Column:
        """Freshness, the plot and the latest-values table (without the controls)."""
        return pn.Column(
            self._freshness,
            self._plot,
            pn.pane.Markdown("### Latest values"),
            pn.widgets.Toggle.from_param(
                self.param.problems_only,
                name="Problems only: stale, error code, gap in the range",
                color="warning",
                variant="outline",
                width=360,
            ),
            self._latest_table,
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Row(
            pn.Column(self.controls(), width=320), self.display(), sizing_mode="stretch_width"
        )


def _window_text(start: datetime, end: datetime) -> str:
    return f"{start:{WINDOW_FORMAT}}/{end:{WINDOW_FORMAT}}"
