"""A burst's dossier (:mod:`pipelines.dossier`) on one page: its notices, position and trigger
file, its observability tonight, its timeline, its frames with the masters in force that
night and the telemetry at each exposure, its GP2 runs, its products and their audit trail.

The same view runs in the server's Burst page and in a notebook::

    stores = Stores.open("demo-workspace", read_only=True)
    BurstDossier(stores, burst="sb26120190")
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pandas as pd
import panel as pn
import param

from app.markup import SafeMarkdown, bullets, burst_link, html, markdown, paragraphs
from app.plots.alerts import plot_altitude_track
from app.plots.dossier import plot_run_light_curve, plot_timeline
from app.views.feedback import guarded
from app.views.product_flags import burst_flags
from app.views.tables import table
from data_access.alerts.bursts import BurstQueries
from data_access.stores import Stores
from pipelines.dossier import Dossier, DossierError, burst_dossier, check_burst_id

NOTICE_COLUMNS = [
    "received_at",
    "instrument",
    "packet_type",
    "retraction",
    "ra",
    "dec",
    "error_deg",
    "t0_to_arrival_s",
    "arrival_to_trigger_s",
    "ivorn",
]
#: The newest bursts listed when none is chosen.
LISTED_BURSTS = 30

LOG = logging.getLogger("gic.burst")


class BurstDossier(pn.viewable.Viewer):
    """One burst's dossier, the burst chosen by ``burst`` (the page keeps it in the URL).

    Parameters
    ----------
    stores : Stores
    burst : str, optional
        The burst ID; empty, the newest bursts are listed with links to their dossiers.
    """

    burst = param.String(default="", doc="the burst ID shown")

    def __init__(self, stores: Stores, **params) -> None:
        super().__init__(**params)
        self.stores = stores
        self._shown = pn.Column(sizing_mode="stretch_width")
        self._show()

    @param.depends("burst", watch=True)
    @guarded("Showing the burst's dossier", LOG)
    def _show(self) -> None:
        self._shown[:] = self._sections()

    def _sections(self) -> list:
        if not self.burst:
            return [pn.pane.Markdown(self._burst_list())]
        try:
            check_burst_id(self.burst)
        except DossierError as exc:
            return [_said(markdown("{reason}.", reason=str(exc)))]
        dossier = burst_dossier(self.stores, self.burst, at=datetime.now(UTC))
        if dossier is None:
            return [_said(markdown("No notice names burst {burst}.", burst=self.burst))]
        return dossier_sections(dossier)

    def _burst_list(self) -> SafeMarkdown:
        alerts = self.stores.alerts
        bursts = BurstQueries(alerts.cache, alerts.triggers_dir).bursts().head(LISTED_BURSTS)
        if bursts.empty:
            return markdown("No burst yet: no notice gives a burst ID.")
        items = [
            markdown("{link}, T0 {t0} UTC", link=burst_link(row.burst_id), t0=row.t0)
            for row in bursts.itertuples()
        ]
        return paragraphs(markdown("### The newest bursts"), bullets(items))

    def __panel__(self):
        return self._shown


def _said(text: SafeMarkdown) -> pn.pane.Alert:
    return pn.pane.Alert(markdown("{text}", text=text), alert_type="warning")


def dossier_sections(dossier: Dossier) -> list:
    """The dossier's sections, top to bottom."""
    report = dossier.report
    sections = [pn.pane.Markdown(_summary(report))]
    sections += _section(
        markdown("Notices, newest first"), _frame(report["packets"], NOTICE_COLUMNS)
    )
    sections += _section(
        markdown("Best position and its history"), pd.DataFrame(dossier.position_history())
    )
    sections.append(_trigger_file(dossier.trigger_file))
    sections.append(_observability(report))
    sections.append(pn.pane.Markdown("### Timeline"))
    sections.append(pn.pane.Bokeh(plot_timeline(dossier.timeline)))
    sections.append(table(dossier.timeline))
    sections += _section(markdown("Frames"), dossier.frames)
    sections += _section(markdown("Masters in force the night of the frames"), dossier.masters)
    sections += _section(markdown("Telemetry at each exposure"), dossier.telemetry)
    sections += _section(markdown("GP2 runs"), dossier.runs)
    for run in dossier.runs.itertuples():
        sections += _light_curve(run.run_id, dossier.light_curves[run.run_id], run.t0)
    sections += _section(markdown("Products, every version"), dossier.products)
    if not dossier.products.empty:
        sections[-1:-1] = burst_flags(dossier.products)
    sections += _section(markdown("Audit trail"), dossier.audit)
    return sections


def _light_curve(run_id: str, light_curve: pd.DataFrame, t0: str) -> list:
    """A run's light curve drawn (when it has points and a T0), then its table."""
    heading, *rest = _section(markdown("Light curve of run {run}", run=run_id), light_curve)
    plot = plot_run_light_curve(light_curve, t0, run_id=run_id)
    drawn = [] if plot is None else [pn.pane.Bokeh(plot, sizing_mode="stretch_width")]
    return [heading, *drawn, *rest]


def _summary(report: dict) -> SafeMarkdown:
    position = (
        markdown(
            "best position RA {ra}, Dec {dec} ± {error} deg ({instrument})",
            ra=report["ra"],
            dec=report["dec"],
            error=report["error_deg"],
            instrument=report["best_instrument"],
        )
        if report["ra"] is not None
        else markdown("no notice gives a usable position")
    )
    retracted = markdown("**RETRACTED**") if report["retracted"] else markdown("")
    return paragraphs(
        markdown("## Burst {burst} {retracted}", burst=report["burst_id"], retracted=retracted),
        markdown(
            "T0 {t0} UTC; {count} notices from {instruments}; {position}",
            t0=report["t0"] or "unknown",
            count=report["notices"],
            instruments=report["instruments"],
            position=position,
        ),
    )


def _section(title: SafeMarkdown, frame: pd.DataFrame) -> list:
    heading = pn.pane.Markdown(markdown("### {title}", title=title))
    if frame.empty:
        return [heading, pn.pane.Markdown("None.")]
    return [heading, table(frame)]


def _frame(records: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=columns)


def _trigger_file(trigger: dict | None):
    if trigger is None:
        return pn.pane.Markdown("### Trigger file\nNone written.")
    return pn.pane.HTML(
        html(
            "<h3>Trigger file</h3><p>{path}, written {at} UTC</p><pre>{text}</pre>",
            path=trigger["path"],
            at=trigger["written_at"],
            text=trigger["text"],
        )
    )


def _observability(report: dict):
    seen = report["observability"]
    heading = markdown("### Observability from {site}", site=report["site"])
    if seen is None:
        return pn.pane.Markdown(paragraphs(heading, markdown("No position: nothing to observe.")))
    said = markdown(
        "altitude now {altitude} deg; Moon {moon} illuminated",
        altitude=round(seen["altitude_deg"], 1),
        moon=round(seen["moon_illumination"], 2),
    )
    return pn.Column(
        pn.pane.Markdown(paragraphs(heading, said)),
        pn.pane.Bokeh(plot_altitude_track(seen)),
        sizing_mode="stretch_width",
    )
