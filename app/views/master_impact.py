"""Where one master went, under its detail on the calibration page: the GP2 runs that used
it, the product versions built from them (with their warning when the master is bad), the
reprocessing asked for, and a button that queues every such run to be done again with the
masters now in force (after a confirmation; the reprocessing role is checked on the
server side).

A notebook may show it alone::

    MasterImpactView(stores.calibration, user=lambda: LOCAL_USER, runs=stores.reprocess,
                     report_id=482)
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd
import panel as pn
import param

from app.auth import require
from app.markup import markdown, paragraphs
from app.views.feedback import failure_text, guarded, message_pane, notify
from app.views.tables import table
from data_access.calibration.impact import MasterImpact
from data_access.calibration.store import CalibrationStore
from data_access.gp2.runs import ReprocessStore
from data_access.users import User
from pipelines.master_impact import describe_impact, master_impact, queue_reprocessing

LOG = logging.getLogger("gic.calibration")

#: The role queueing a reprocessing needs (as for running one on the Reprocess page).
QUEUE_ROLE = "scientist"

RUN_COLUMNS = ["run_id", "burst_id", "caltype", "instrume", "filter", "n_images", "source"]
PRODUCT_COLUMNS = ["burst_id", "card", "version", "state", "run_id", "latest", "warning"]


class MasterImpactView(pn.viewable.Viewer):
    """The runs and products one master served, and the queueing of their reprocessing.

    Parameters
    ----------
    calibration : CalibrationStore
    user : callable
        The session's user, asked at each action.
    runs : ReprocessStore, optional
        Gives each run's frames folder.
    """

    report_id = param.Integer(default=None, allow_None=True, doc="the master's report")
    confirming = param.Boolean(default=False, doc="the queueing clicked, not yet confirmed")
    message = param.String(default="", doc="what the last queueing did")
    failed = param.Boolean(default=False)
    revision = param.Integer(default=0, doc="bumped after each queueing or certification")

    def __init__(
        self,
        calibration: CalibrationStore,
        *,
        user: Callable[[], User],
        runs: ReprocessStore | None = None,
        **params,
    ) -> None:
        super().__init__(**params)
        self.calibration = calibration
        self.impact = MasterImpact(calibration.cache, calibration.files)
        self.user = user
        self.runs = runs
        self._ask = pn.widgets.Button(label="Queue their reprocessing…", color="primary")
        self._ask.on_click(lambda _: self._confirming(True))
        yes = pn.widgets.Button(label="Yes, queue them", color="warning")
        yes.on_click(lambda _: self._queue_clicked())
        no = pn.widgets.Button(label="Cancel", color="light")
        no.on_click(lambda _: self._confirming(False))
        self._question = pn.pane.Alert("", alert_type="warning")
        self._confirmation = pn.Column(
            self._question, pn.Row(yes, no), css_classes=["queue-confirmation"], visible=False
        )

    # -- data ---------------------------------------------------------------------------
    def report(self) -> dict | None:
        """:func:`pipelines.master_impact.master_impact` of the master shown (None: no
        master shown, or a report that came without its master)."""
        if self.report_id is None:
            return None
        master_id = self.impact.master_of_report(self.report_id)
        if master_id is None:
            return None
        return master_impact(self.impact, self.calibration, master_id, runs=self.runs)

    def queue(self) -> pd.DataFrame:
        """Queue the reprocessing of every run that used the master shown, with the masters
        now in force, as the session's user; the requests made now."""
        user = self.user()
        require(user, QUEUE_ROLE, "queue reprocessing")
        report = self.report()
        if report is None:
            raise ValueError("pick a master built here first (click a date)")
        master_id = report["master"]["master_id"]
        made = queue_reprocessing(self.impact, master_id, user=user.name, runs=self.runs)
        self.param.update(
            message=f"{len(made)} run(s) queued for reprocessing by {user.name} "
            f"({len(report['runs']) - len(made)} already queued).",
            failed=False,
            revision=self.revision + 1,
        )
        return made

    @guarded("Asking to confirm", LOG)
    def _confirming(self, asked: bool) -> None:
        self.confirming = asked

    @guarded("Queueing the reprocessing", LOG)
    def _queue_clicked(self) -> None:
        self.confirming = False
        try:
            self.queue()
        except Exception as exc:  # the page says why; an unexpected one is logged
            text = failure_text(exc, doing="Queueing the reprocessing", log=LOG)
            self.param.update(message=f"Nothing queued: {text}", failed=True)
            notify("error", text)

    # -- display ------------------------------------------------------------------------
    @param.depends("confirming", watch=True)
    @guarded("Asking to confirm", LOG)
    def _show_question(self) -> None:
        report = self.report() if self.confirming else None
        if report is not None:
            self._question.object = markdown(
                "Queue the {n} run(s) that used {name} for reprocessing with the masters in "
                "force now ({now})?",
                n=len(report["runs"]),
                name=report["master"]["path"],
                now=report["master"]["in_force_now"] or "none",
            )
        self._confirmation.visible = report is not None

    @param.depends("report_id", "revision")
    def _shown(self):
        report = self.report()
        if report is None:
            return pn.pane.Markdown("*A master built here shows the runs and products it served.*")
        said = pn.pane.Markdown(
            paragraphs(
                markdown("### Where this master went"),
                *(markdown("{line}", line=line) for line in describe_impact(report)),
            )
        )
        self._ask.disabled = not report["runs"] or not self.user().can(QUEUE_ROLE)
        parts = [said]
        for title, rows, columns in (
            ("Runs that used it", report["runs"], RUN_COLUMNS),
            ("Product versions built from them", report["products"], PRODUCT_COLUMNS),
            ("Reprocessing asked for", report["requests"], None),
        ):
            if rows:
                frame = pd.DataFrame(rows)
                heading = pn.pane.Markdown(markdown("#### {title}", title=title))
                parts += [heading, table(frame[columns or list(frame.columns)])]
        if report["master"]["bad"] and any(p["warning"] for p in report["products"]):
            warned = markdown("{text}", text=_warned(report))
            parts.insert(1, pn.pane.Alert(warned, alert_type="warning"))
        return pn.Column(*parts, sizing_mode="stretch_width")

    @param.depends("message", "failed")
    def _message(self):
        return message_pane(self.message, failed=self.failed)

    def __panel__(self):
        return pn.Column(
            self._shown, self._ask, self._confirmation, self._message, sizing_mode="stretch_width"
        )


def _warned(report: dict) -> str:
    standing = [p for p in report["products"] if p["warning"]]
    bursts = sorted({p["burst_id"] for p in standing})
    return (
        f"{len(standing)} product version(s) of {', '.join(bursts)} carry this master's warning "
        "until they are rebuilt or a scientist clears it on the Products page."
    )
