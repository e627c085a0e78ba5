"""The detail of one master: its image, its difference with the reference, the difference
histogram, its verdict, and the certification by hand (good or bad).

:class:`~app.views.calibration.CalibrationTrends` shows it under its table; a notebook
may show it alone::

    detail = MasterDetail(stores.calibration, report_id=482)
    detail
"""

from __future__ import annotations

import logging

import pandas as pd
import panel as pn
import param

from app.auth import current_user as auth_user
from app.auth import require
from app.markup import bullets, escape_markdown, markdown, paragraphs
from app.plots.calibration import kind_label, plot_histogram
from app.plots.images import plot_image
from app.views.feedback import guarded, notify
from app.views.master_impact import MasterImpactView
from data_access.calibration.store import CalibrationStore, CalibrationStoreError
from data_access.users import User, UsersFile

LOG = logging.getLogger("gic.calibration")
#: Widest a plot of the master's detail is drawn, in screen pixels.
IMAGE_WIDTH = 520


def _pane(plot) -> pn.pane.HoloViews:
    """A plot of the master's detail, side by side with the others."""
    return pn.pane.HoloViews(plot, sizing_mode="stretch_width", max_width=IMAGE_WIDTH)


#: The answer that certifies, after 'Mark good' or 'Mark bad' asked to confirm.
ANSWERS = {"good": "Yes, put it in force", "bad": "Yes, mark it bad"}

#: The role a certification by hand needs (checked on the server, not only by the button).
CERTIFY_ROLE = "scientist"


def users_parameter() -> param.ClassSelector:
    """A view's users file: who may log in, with their roles (None: loopback only)."""
    return param.ClassSelector(
        class_=UsersFile,
        default=None,
        allow_None=True,
        constant=True,
        doc="who may log in, with their roles (None: loopback only)",
    )


def certifying_user(users: UsersFile | None) -> User:
    """The session's user, for a certification.

    Without a users file the server only listens on loopback and its one user may do
    everything (:data:`app.auth.LOCAL_USER`); but a session that has a logged-in user while
    the view was not given the users file has no known roles, and may not certify.
    """
    if users is None and pn.state.user:
        return User(pn.state.user, ())
    return auth_user(users)


class MasterDetail(pn.viewable.Viewer):
    """One master: its image, the difference with its reference, the difference histogram
    with the limits drawn, its verdict, and the certification by hand (good or bad)."""

    store = param.ClassSelector(class_=CalibrationStore, constant=True)
    report_id = param.Integer(default=None, allow_None=True, doc="the report shown")
    comment = param.String(default="", doc="why the verdict is certified by hand")
    confirming = param.Selector(
        default="", objects=["", "good", "bad"], doc="the verdict clicked, not yet confirmed"
    )
    message = param.String(default="", doc="what the last certification did")
    revision = param.Integer(default=0, doc="bumped after each certification")
    users = users_parameter()

    def __init__(self, store: CalibrationStore, **params) -> None:
        super().__init__(store=store, **params)
        self.impact = MasterImpactView(
            store, user=lambda: certifying_user(self.users), report_id=self.report_id
        )

    @param.depends("report_id", "revision", watch=True)
    @guarded("Showing where the master went", LOG)
    def _show_impact(self) -> None:
        """Show where the master shown went (again after a certification)."""
        self.impact.param.update(report_id=self.report_id, revision=self.impact.revision + 1)

    # -- data ---------------------------------------------------------------------------
    def summary(self) -> dict | None:
        """The report shown: its row of the trend table plus reasons and residual check."""
        if self.report_id is None:
            return None
        stored = self.store.report(self.report_id)
        report, extra = stored["report"], stored["extra"]
        return {
            "im_name": report.get("IM_NAME"),
            "caltype": report.get("TYPE"),
            "reference": self.store.reference_name(self.report_id),
            "date": report.get("DATE"),
            "instrument": report.get("INSTRUME"),
            "filter": report.get("FILTER"),
            "valid": report["VALID"]["value"],
            "reasons": extra.get("reasons") or [],
            "residual": extra.get("residual"),
            "values": {
                k: report[k]["value"]
                for k in ("MEAN", "MEDIAN", "RMS", "MEANDIFF", "MEDIANDIF", "RMSDIFF")
            },
        }

    def label(self) -> str:
        """The master shown in words: 'the master bias of night 2026-11-28, DDRAGO1 (name)'."""
        stored = self.store.report(self.report_id)["report"]
        date = pd.Timestamp(stored.get("DATE")).to_pydatetime()
        return (
            f"the master {stored.get('TYPE')} of night {self.store.night_of(date):%Y-%m-%d}, "
            f"{kind_label(stored.get('INSTRUME'), stored.get('FILTER'))} "
            f"({stored.get('IM_NAME')})"
        )

    def certify(self, good: bool) -> None:
        """Certify the report shown as good (which puts its master in force) or bad, with
        :attr:`comment`, as the current user."""
        user = certifying_user(self.users)
        require(user, CERTIFY_ROLE, "certify calibration masters")
        if self.report_id is None:
            raise CalibrationStoreError("pick a master first (click a date)")
        self.store.certify(self.report_id, good, comment=self.comment, user=user.name)
        done = "certified good and put in force" if good else "certified bad"
        self.message = f"{self.label()[0].upper()}{self.label()[1:]} {done} by {user.name}."
        self.comment = ""
        self.revision += 1

    @param.depends("report_id", watch=True)
    @guarded("Showing the master", LOG, say="_failed")
    def _new_master(self) -> None:
        self.confirming = ""

    @guarded("The certification", LOG, say="_failed")
    def _certify_clicked(self, good: bool) -> None:
        self.confirming = ""
        self.certify(good)

    @guarded("Asking to confirm", LOG, say="_failed")
    def _ask(self, verdict: str) -> None:
        self.confirming = verdict

    def _failed(self, sentence: str) -> None:
        """Say what failed under the form and as a toast."""
        self.message = sentence
        notify("error", sentence)

    # -- display ------------------------------------------------------------------------
    @param.depends("report_id", "revision")
    def _header(self):
        info = self.summary()
        if info is None:
            return pn.pane.Markdown(
                "*Click a date on a plot or a row of the table to see that master.*"
            )
        verdict = markdown("valid") if info["valid"] else markdown("**invalid**")
        lines = [
            markdown("### {name}", name=info["im_name"]),
            markdown(
                "{caltype} of {kind}, first frame {date}; automatic verdict {verdict}",
                caltype=info["caltype"],
                kind=kind_label(info["instrument"], info["filter"]),
                date=info["date"],
                verdict=verdict,
            ),
        ]
        lines.append(
            markdown("Compared with the reference {name}.", name=info["reference"])
            if info["reference"]
            else markdown("No reference: the first master of its kind.")
        )
        if info["reasons"]:
            lines.append(bullets(info["reasons"]))
        residual = info["residual"]
        if residual:
            lines.append(
                markdown(
                    "Residual check (the master applied to its own frames): mean {mean:.4g}, noise "
                    "{noise:.4g} for an expected {expected:.4g}: {state}.",
                    mean=residual["mean"],
                    noise=residual["noise"],
                    expected=residual["expected_noise"],
                    state="passed" if residual["passed"] else f"failed ({residual['reason']})",
                )
            )
        return pn.pane.Markdown(paragraphs(*lines), sizing_mode="stretch_width")

    @param.depends("report_id")
    def _images(self):
        if self.report_id is None:
            return pn.Spacer(height=0)
        info = self.summary()
        flat = info["caltype"] == "flat"
        master = self.store.master_image(self.report_id)
        difference = self.store.difference_image(self.report_id)
        histogram = self.store.histogram(self.report_id)
        panes = [
            pn.pane.Markdown("Only the report came: no master file here.", width=IMAGE_WIDTH)
            if master is None
            else _pane(plot_image(master[0], title="master (zscale)")),
            pn.pane.Markdown("No reference master: no difference image.", width=IMAGE_WIDTH)
            if difference is None
            else _pane(plot_image(difference, title=f"new {'/' if flat else '−'} ref (zscale)")),
        ]
        if histogram is not None:
            counts, edges, limits = histogram
            plot = plot_histogram(
                counts,
                edges,
                title=f"new {'/' if flat else '−'} ref: MEANDIFF limits dashed, MEDIANDIF solid",
                limits=None if limits is None else limits.meandiff,
                center=info["values"]["MEDIANDIF"],
                xlabel="new / ref" if flat else "new − ref",
            )
            panes.append(_pane(plot))
        return pn.Row(*panes, sizing_mode="stretch_width")

    def certification(self) -> pn.Column:
        """The form: a comment (the only thing asked), 'Mark good' (which puts the master in
        force) and 'Mark bad' (which takes it out of use), each asking to confirm, and what
        the last one did."""
        good = pn.widgets.Button(label="Mark good (puts it in force)…", color="success", width=230)
        bad = pn.widgets.Button(label="Mark bad (takes it out of use)…", color="danger", width=250)
        good.on_click(lambda _: self._ask("good"))
        bad.on_click(lambda _: self._ask("bad"))
        comment = pn.widgets.TextInput.from_param(
            self.param.comment,
            label="Certify by hand (comment)",
            placeholder="why this verdict",
            width=420,
        )
        return pn.Column(
            pn.Row(comment, good, bad, align="end"),
            self._confirmation(),
            self._message,
            visible=self.param.report_id.rx().rx.is_not(None),
        )

    @param.depends("confirming", "report_id")
    def _question(self):
        if not self.confirming or self.report_id is None:
            return pn.Spacer(height=0)
        question = (
            markdown(
                "Certify {master} good and put it in force, in place of the master in force now?",
                master=self.label(),
            )
            if self.confirming == "good"
            else markdown(
                "Certify {master} bad and take it out of use? If it is the master in force, the "
                "one in force before it is put back.",
                master=self.label(),
            )
        )
        return pn.pane.Alert(question, alert_type="warning", margin=(0, 10))

    def _confirmation(self) -> pn.Column:
        """The question 'Mark good' or 'Mark bad' asks, with its two answers (shown while
        confirming)."""
        confirming = self.param.confirming.rx()
        yes = pn.widgets.Button(
            label=confirming.rx.pipe(lambda verdict: ANSWERS.get(verdict, "")),
            color="warning",
            width=200,
        )
        no = pn.widgets.Button(label="Cancel", color="light", width=100)
        yes.on_click(lambda _: self._certify_clicked(self.confirming == "good"))
        no.on_click(lambda _: self._ask(""))
        return pn.Column(self._question, pn.Row(yes, no), visible=confirming.rx.pipe(bool))

    @param.depends("message")
    def _message(self):
        return pn.pane.Markdown(escape_markdown(self.message), margin=(0, 10))

    def __panel__(self):
        return pn.Column(
            self._header,
            self._images,
            self.certification(),
            self.impact,
            sizing_mode="stretch_width",
        )
