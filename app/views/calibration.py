"""Calibration views: the trends of one type of master, and the detail of one master.

The same views run in the server's Bias, Dark and Flat pages and in a notebook::

    stores = Stores.open("demo-workspace")
    trends = CalibrationTrends(stores.calibration, caltype="bias")
    trends.report_id = trends.table().iloc[-1]["report_id"]   # what clicking a date does
    trends                                                      # plots, tables, the master

:class:`CalibrationTrends` owns the selection (instrument, filter, nights) and the
tables; :class:`~app.views.calibration_master.MasterDetail` shows one master: its image,
its difference with the reference, the difference histogram, and the certification by
hand; :mod:`app.views.calibration_in_force` the cards of the masters in force.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import ColumnDataSource

from analysis.calibration import CALIBRATION_TYPES
from app.markup import bullets, markdown, paragraphs
from app.plots.calibration import (
    POINTS,
    Trend,
    kind_label,
    plot_completeness,
    plot_trends,
)
from app.plots.figures import on_tap
from app.views.calibration_in_force import in_force, in_force_cards
from app.views.calibration_master import MasterDetail, users_parameter
from app.views.downloads import download_buttons
from app.views.feedback import guarded
from app.views.tables import table
from data_access.calibration.store import CalibrationStore, limits_for

LOG = logging.getLogger("gic.calibration")
ALL = "(all)"
#: Quick ranges of the sidebar, in nights ending at the newest master.
QUICK_NIGHTS = {"7 n": 7, "30 n": 30, "60 n": 60}
DEFAULT_NIGHTS = 60

#: The table of masters: store column to the name shown (FITS keywords keep their spelling).
TABLE_COLUMNS = {
    "date": "DATE",
    "night": "night",
    "instrument": "INSTRUME",
    "filter": "FILTER",
    "mean": "MEAN",
    "median": "MEDIAN",
    "rms": "RMS",
    "meandiff": "MEANDIFF",
    "mediandif": "MEDIANDIF",
    "rmsdiff": "RMSDIFF",
    "unit": "unit",
    "automatic": "automatic",
    "certification": "certified",
    "verdict_text": "verdict",
    "status": "status",
    "im_name": "IM_NAME",
    "report_id": "report_id",
}


class CalibrationTrends(pn.viewable.Viewer):
    """The masters of one type (bias, dark or flat) over a range of nights.

    For each INSTRUME and FILTER: MEDIAN and RMS against DATE, MEDIANDIF and RMSDIFF
    against DATE with the validity limits; the table of statistics with the automatic
    verdict and the certification; a warning naming every invalid master in the range;
    the completeness grid; a download of every table. Clicking a date (a point or a row)
    shows that master in :attr:`detail`.
    """

    store = param.ClassSelector(class_=CalibrationStore, constant=True)
    caltype = param.Selector(default="bias", objects=list(CALIBRATION_TYPES), constant=True)
    instrument = param.Selector(default=ALL, objects=[ALL], check_on_set=False)
    filter = param.Selector(default=ALL, objects=[ALL], check_on_set=False)
    start = param.CalendarDate(default=None, doc="first night shown")
    end = param.CalendarDate(default=None, doc="last night shown")
    report_id = param.Integer(default=None, allow_None=True, doc="the master shown")
    detail = param.ClassSelector(class_=MasterDetail, doc="the master clicked")
    users = users_parameter()

    def __init__(self, store: CalibrationStore, **params) -> None:
        super().__init__(store=store, **params)
        self._kinds = store.kinds(self.caltype)
        self.detail = MasterDetail(store, report_id=self.report_id, users=self.users)
        self.param.watch(self._show_master, "report_id")
        self._update_choices()
        if self.start is None or self.end is None:
            self.show_last(DEFAULT_NIGHTS)

    # -- selection ----------------------------------------------------------------------
    @guarded("Showing the master", LOG)
    def _show_master(self, event) -> None:
        self.detail.report_id = event.new

    @param.depends("instrument", watch=True)
    @guarded("Listing the filters of the instrument", LOG)
    def _update_choices(self) -> None:
        kinds = self._kinds
        self.param.instrument.objects = [ALL, *sorted(set(kinds["instrument"]))]
        if self.instrument not in self.param.instrument.objects:
            self.instrument = ALL
        if self.instrument != ALL:
            kinds = kinds[kinds["instrument"] == self.instrument]
        self.param.filter.objects = [ALL, *sorted(set(kinds["filter"]))]
        if self.filter not in self.param.filter.objects:
            self.filter = ALL

    def newest_night(self) -> date:
        """The night of the newest master of this type (last night's when there is none)."""
        trend = self.store.trend(self.caltype)
        if trend.empty:
            return self.store.night_of(datetime.now()) - timedelta(days=1)
        return pd.Timestamp(trend["night"].max()).date()

    def show_last(self, nights: int | None) -> None:
        """Show the last ``nights`` nights up to the newest master (every night when None)."""
        trend = self.store.trend(self.caltype)
        end = self.newest_night()
        start = pd.Timestamp(trend["night"].min()).date() if len(trend) else end
        if nights is not None:
            start = max(start, end - timedelta(days=nights - 1))
        self.param.update(start=start, end=end)

    def _choice(self, value: str) -> str | None:
        return None if value == ALL else value

    # -- data ---------------------------------------------------------------------------
    def trend(self) -> pd.DataFrame:
        """The reports of the selection whose night lies in [start, end]."""
        first = datetime.combine(self.start, datetime.min.time()) - timedelta(days=1)
        last = datetime.combine(self.end, datetime.min.time()) + timedelta(days=2)
        frame = self.store.trend(
            self.caltype, self._choice(self.instrument), self._choice(self.filter), first, last
        )
        nights = pd.to_datetime(frame["night"]).dt.date
        return frame[(nights >= self.start) & (nights <= self.end)].reset_index(drop=True)

    def table(self) -> pd.DataFrame:
        """The masters, newest first: MEAN ... RMSDIFF, automatic verdict, certification."""
        frame = self.trend()
        frame["automatic"] = np.where(frame["valid"].astype(bool), "OK", "invalid")
        certified = frame["certified"].astype("boolean")
        frame["certification"] = [
            "" if pd.isna(c) else f"{'good' if c else 'bad'} by {who}: {comment}"
            for c, who, comment in zip(
                certified, frame["certified_by"], frame["comment"], strict=True
            )
        ]
        frame["verdict_text"] = np.where(frame["verdict"].astype(bool), "OK", "invalid")
        frame["night"] = pd.to_datetime(frame["night"]).dt.date
        frame = frame.iloc[::-1].reset_index(drop=True)  # newest first
        return frame[list(TABLE_COLUMNS)].rename(columns=TABLE_COLUMNS)

    def _chosen(self, frame: pd.DataFrame) -> pd.Series:
        """Which rows of ``frame`` are of the instrument and filter chosen."""
        keep = pd.Series(True, index=frame.index)
        for column, value in (("instrument", self.instrument), ("filter", self.filter)):
            if value != ALL:
                keep &= frame[column] == value
        return keep

    def invalid(self) -> pd.DataFrame:
        """Every master of this type, instrument and filter chosen in the range whose verdict
        in force is bad."""
        first = datetime.combine(self.start, datetime.min.time()) - timedelta(days=1)
        last = datetime.combine(self.end, datetime.min.time()) + timedelta(days=2)
        frame = self.store.invalid(first, last, self.caltype)
        nights = pd.to_datetime(frame["night"]).dt.date
        keep = (nights >= self.start) & (nights <= self.end) & self._chosen(frame)
        frame = frame[keep].reset_index(drop=True)
        frame["reasons"] = [
            "; ".join(self.store.report(int(row.report_id))["extra"].get("reasons") or [])
            if pd.isna(row.certified)
            else f"certified bad by {row.certified_by}: {row.comment}"
            for row in frame.itertuples()
        ]
        return frame

    def in_force(self) -> pd.DataFrame:
        """The master in force of each kind chosen
        (:func:`~app.views.calibration_in_force.in_force`)."""
        return in_force(self.store, self.caltype, self._kinds[self._chosen(self._kinds)])

    def completeness(self) -> pd.DataFrame:
        """Night × instrument × filter of this type: arrived, frames, verdict."""
        grid = self.store.completeness(self.start, self.end, self.caltype)
        if self.instrument != ALL:
            grid = grid[grid["instrument"] == self.instrument]
        if self.filter != ALL:
            grid = grid[grid["filter"] == self.filter]
        return grid.reset_index(drop=True)

    def _selected_limits(self) -> list:
        kinds = self._kinds
        for column, value in (("instrument", self.instrument), ("filter", self.filter)):
            if value != ALL:
                kinds = kinds[kinds[column] == value]
        return [
            limits_for(self.store.config, self.caltype, i, f)
            for i, f in zip(kinds["instrument"], kinds["filter"], strict=True)
        ]

    def limits(self, statistic: str) -> list[tuple[float, float]]:
        """The distinct absolute limits on ``meandiff`` or ``rmsdiff`` of the kinds selected
        (limits relative to the reference are each master's own: see :meth:`bounds`)."""
        return sorted(
            {
                getattr(limits, statistic)
                for limits in self._selected_limits()
                if getattr(limits, f"{statistic}_mode") == "absolute"
            }
        )

    def bounds(self, statistic: str) -> tuple[str, str] | None:
        """The trend's columns of each master's limits on ``statistic`` when a kind selected
        has limits relative to its reference, else None."""
        modes = {getattr(limits, f"{statistic}_mode") for limits in self._selected_limits()}
        return None if modes <= {"absolute"} else (f"{statistic}_low", f"{statistic}_high")

    # -- display ------------------------------------------------------------------------
    def _unit(self, frame: pd.DataFrame, difference: bool) -> str:
        if difference and self.caltype == "flat":
            return "ratio"
        units = frame["unit"].dropna().unique() if len(frame) else []
        return str(units[0]) if len(units) == 1 else ""

    @guarded("Showing the master clicked", LOG)
    def _tapped(self, source: ColumnDataSource, row: int) -> None:
        """Show the master of the point clicked (a row of a trend's point source)."""
        self.report_id = int(source.data["report_id"][row])

    @param.depends("instrument", "filter", "start", "end", "detail.revision")
    def _plots(self):
        frame = self.trend()
        name = self.caltype
        sign = "/" if name == "flat" else "−"
        level = (  # a flat's MEDIAN is 1 by construction: its quadrants' levels vary
            Trend("quadrant_spread", "Quadrant spread of the master flat (highest − lowest median)")
            if name == "flat"
            else Trend("median", f"MEDIAN of the master {name}", self._unit(frame, False))
        )
        trends = [
            level,
            Trend("rms", f"RMS of the master {name}", self._unit(frame, False)),
            Trend(
                "mediandif",
                f"MEDIANDIF (new {sign} ref); red: the limits on MEANDIFF",
                self._unit(frame, True),
                self.limits("meandiff"),
                self.bounds("meandiff"),
            ),
            Trend(
                "rmsdiff",
                f"RMSDIFF (new {sign} ref); red: its limits",
                self._unit(frame, True),
                self.limits("rmsdiff"),
                self.bounds("rmsdiff"),
            ),
        ]
        figures = plot_trends(frame, trends)
        on_tap(figures, POINTS, self._tapped)
        panes = [pn.pane.Bokeh(fig, sizing_mode="stretch_width") for fig in figures]
        return pn.GridBox(*panes, ncols=2, sizing_mode="stretch_width")

    @param.depends("instrument", "filter", "start", "end", "detail.revision")
    def _banner(self):
        bad = self.invalid()
        if bad.empty:
            return pn.pane.Alert(
                markdown(
                    "Every master {caltype} from {start} to {end} passed.",
                    caltype=self.caltype,
                    start=self.start,
                    end=self.end,
                ),
                alert_type="success",
            )
        items = [
            markdown(
                "night **{night:%Y-%m-%d} {kind}** {name}: {reasons}",
                night=pd.Timestamp(row.night),
                kind=kind_label(row.instrument, row.filter),
                name=row.im_name,
                reasons=row.reasons or "invalid",
            )
            for row in bad.itertuples()
        ]
        heading = markdown(
            "**{n} invalid master {caltype}(s) from {start} to {end}:**",
            n=len(bad),
            caltype=self.caltype,
            start=self.start,
            end=self.end,
        )
        return pn.pane.Alert(paragraphs(heading, bullets(items)), alert_type="danger")

    @param.depends("instrument", "filter", "start", "end", "detail.revision")
    def _table(self):
        frame = self.table()
        shown = table(
            frame,
            pagination="local",
            page_size=12,
            selectable=1,
            hidden_columns=["report_id"],
            formatters={
                c: {"type": "money", "precision": 4, "thousand": False, "symbol": ""}
                for c in ("MEAN", "MEDIAN", "RMS", "MEANDIFF", "MEDIANDIF", "RMSDIFF")
            },
        )
        shown.param.watch(self._row_selected, "selection")
        return shown

    @guarded("Showing the master of the row", LOG)
    def _row_selected(self, event) -> None:
        if event.new:
            self.report_id = int(event.obj.value.iloc[event.new[0]]["report_id"])

    @param.depends("instrument", "filter", "detail.revision")
    def _in_force_cards(self):
        return in_force_cards(self.in_force(), self.caltype)

    @param.depends("instrument", "filter", "start", "end", "detail.revision")
    def _completeness(self):
        grid = self.completeness()
        if grid.empty:
            return pn.pane.Markdown("No series expected or seen in this range.")
        return pn.pane.Bokeh(plot_completeness(grid), sizing_mode="stretch_width")

    def _quick_button(self, label: str) -> pn.widgets.Button:
        button = pn.widgets.Button(label=label, color="light", width=52, margin=(5, 2))
        shown = f"Showing the last {label}" if label in QUICK_NIGHTS else "Showing every night"
        button.on_click(guarded(shown, LOG)(lambda _: self.show_last(QUICK_NIGHTS.get(label))))
        return button

    def controls(self) -> pn.Column:
        """Instrument, filter, nights, quick ranges, and the downloads of every table."""
        name = self.caltype
        return pn.Column(
            pn.widgets.Select.from_param(self.param.instrument, label="Instrument (INSTRUME)"),
            pn.widgets.Select.from_param(self.param.filter, label="Filter (FILTER)"),
            pn.widgets.DatePicker.from_param(self.param.start, label="First night"),
            pn.widgets.DatePicker.from_param(self.param.end, label="Last night"),
            pn.Row(*(self._quick_button(label) for label in [*QUICK_NIGHTS, "all"])),
            pn.pane.Markdown("**Download** the masters"),
            download_buttons(f"{name}_masters", self.table),
            pn.pane.Markdown("the invalid masters"),
            download_buttons(f"{name}_invalid", self.invalid),
            pn.pane.Markdown("the completeness grid"),
            download_buttons(f"{name}_completeness", self.completeness),
            sizing_mode="stretch_width",
        )

    def display(self) -> pn.Column:
        """Banner, the four trends, the table, the master clicked, the completeness grid."""
        return pn.Column(
            self._banner,
            self._in_force_cards,
            self._plots,
            pn.pane.Markdown(
                markdown(
                    "### Masters {caltype}: click a row or a point to see it", caltype=self.caltype
                )
            ),
            self._table,
            self._detail_in_view(),
            pn.pane.Markdown("### Completeness"),
            self._completeness,
            sizing_mode="stretch_width",
        )

    def _detail_in_view(self) -> pn.Column:
        """The master's detail, scrolled into view when a master is clicked (the browser
        runs the scroll: a hidden widget's value changes with the master shown)."""
        box = pn.Column(self.detail, sizing_mode="stretch_width")
        shown = pn.widgets.IntInput(value=self.report_id or 0, visible=False)
        scroll = guarded("Bringing the master into view", LOG)(
            lambda e: setattr(shown, "value", e.new or 0)
        )
        self.param.watch(scroll, "report_id")
        shown.jscallback(
            value="const view = Bokeh.index.find_one(box);"
            " if (view) view.el.scrollIntoView({behavior: 'smooth', block: 'start'});",
            args={"box": box},
        )
        return pn.Column(shown, box, sizing_mode="stretch_width")

    def __panel__(self):
        return pn.Row(
            pn.Column(self.controls(), width=300), self.display(), sizing_mode="stretch_width"
        )
