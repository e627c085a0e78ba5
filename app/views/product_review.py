"""The review of one GFT product: approve (with a comment), reject and push it, or push every
approved product of its burst, and the audit log.

Every action checks the user's role on the server side (:func:`app.auth.require`):
approving and rejecting need ``scientist``, pushing needs ``approver``; the buttons of a
user without the role are disabled as well. Part of the Products page
(:mod:`app.views.products` composes it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import closing

import pandas as pd
import panel as pn
import param

from app.auth import LOCAL_USER, require
from app.markup import SafeHTML, SafeMarkdown, code, html, markdown, paragraphs
from app.views.feedback import failure_text, guarded, message_pane, notify
from app.views.product_exchange import ClientFactory, busy
from app.views.product_flags import ProductFlags, sentence_case
from app.views.tables import table as _table
from data_access.products.push import PUSHABLE
from data_access.products.review import APPROVABLE, REJECTABLE
from data_access.products.sdb_client import SdbError, answer_sentence
from data_access.products.store import ProductStore
from data_access.redact import redact_url
from data_access.users import User

LOG = logging.getLogger("gic.products")

#: The pushes that ask for a confirmation first (the others act at once).
PUSHES = ("Push", "Push all approved of the burst")

#: Why a product in this state cannot be pushed.
NOT_PUSHABLE = {
    "new": "not approved yet",
    "rejected": "rejected (approve it again first)",
    "pushing": "a push of it is under way",
    "pushed": "already pushed",
}
#: What each action needs (roles of :mod:`data_access.users`).
APPROVE_ROLE, PUSH_ROLE = "scientist", "approver"

STATE_COLORS = {
    "new": "#1f77b4",
    "approved": "#2ca02c",
    "rejected": "#7f7f7f",
    "pushing": "#ff7f0e",
    "pushed": "#17803d",
    "push failed": "#d62728",
}


def state_badge(state: str) -> SafeHTML:
    """A product state as a coloured HTML badge (class ``product-state``, for the tests)."""
    return html(
        "<span class='product-state' style='background:{color};color:white;"
        "padding:2px 8px;border-radius:4px'>{state}</span>",
        color=STATE_COLORS.get(state, "#444"),
        state=state,
    )


class ProductReview(pn.viewable.Viewer):
    """Approve (with a comment), reject and push the product shown, and the audit log.

    Pushing sends the product to the SDB import API (timeout and retries from ``[sdb]``);
    the product is marked pushed only when the SDB answered OK.
    """

    store = param.ClassSelector(class_=ProductStore, constant=True)
    selection = param.Parameter(constant=True, doc="a ProductSelection (burst_id, product_id)")
    user = param.ClassSelector(class_=User, default=LOCAL_USER, constant=True)
    client_factory = param.Callable(constant=True, doc="makes the SDB client of an action")
    comment = param.String(default="", doc="why: stored with the action in the audit log")
    message = param.String(default="", doc="what the last action did")
    failed = param.Boolean(default=False, doc="whether the last action failed")
    pending = param.String(default="", doc="the push awaiting confirmation ('': none)")
    question = param.String(default="", doc="what the confirmation asks")

    def __init__(
        self,
        store: ProductStore,
        selection,
        *,
        user: User,
        client_factory: ClientFactory,
        **params,
    ) -> None:
        super().__init__(
            store=store, selection=selection, user=user, client_factory=client_factory, **params
        )
        self._layout: pn.Column | None = None
        self.flags = ProductFlags(self)
        self._make_buttons()
        self.param.watch(lambda _: self._show_state(), ["comment"])
        self.flags.param.watch(lambda _: self._show_state(), ["override"])

    # -- actions (each checks the role first) -------------------------------------------
    def _chosen(self) -> int:
        if self.selection.product_id is None:
            raise ValueError("pick a product first")
        return self.selection.product_id

    def _done(self, text: str) -> None:
        self.param.update(message=text, failed=False, comment="")
        self.selection.revision += 1

    def approve(self) -> dict:
        """Approve the product shown, with :attr:`comment`, as :attr:`user`."""
        require(self.user, APPROVE_ROLE, "approve products")
        record = self.store.review.approve(
            self._chosen(), user=self.user.name, comment=self.comment
        )
        self._done(f"{record['file_name']} approved by {self.user.name}.")
        return record

    def reject(self) -> dict:
        """Reject the product shown, with :attr:`comment`, as :attr:`user`."""
        require(self.user, APPROVE_ROLE, "reject products")
        record = self.store.review.reject(self._chosen(), user=self.user.name, comment=self.comment)
        self._done(f"{record['file_name']} rejected by {self.user.name}.")
        return record

    def push(self):
        """Push the product shown to the SDB import API; SdbError when it was not pushed."""
        require(self.user, PUSH_ROLE, "push products to the SDB")
        product_id = self._chosen()
        with closing(self.client_factory()) as client:
            outcome = self.store.pushes.push(
                product_id,
                client,
                user=self.user.name,
                comment=self.comment,
                override_retraction=self.flags.override_comment(),
            )
        self.selection.revision += 1
        if not outcome.pushed:
            raise SdbError(f"{outcome.file_name} not pushed ({outcome.state}): {outcome.error}")
        said = answer_sentence(outcome.answer)
        self._done(f"{outcome.file_name} pushed by {self.user.name}; the SDB answered: {said}")
        return outcome

    def push_burst(self) -> list:
        """Push every approved (or failed) product of the burst shown."""
        require(self.user, PUSH_ROLE, "push products to the SDB")
        if not self.selection.burst_id:
            raise ValueError("pick a burst first")
        with closing(self.client_factory()) as client:
            outcomes = self.store.pushes.push_approved(
                client,
                user=self.user.name,
                burst_id=self.selection.burst_id,
                override_retraction=self.flags.override_comment(),
            )
        self.selection.revision += 1
        failures = [o for o in outcomes if not o.pushed]
        if failures:
            raise SdbError(
                f"{len(failures)} of {len(outcomes)} not pushed: "
                + "; ".join(f"{o.file_name}: {o.error}" for o in failures)
            )
        said = "; ".join(f"{o.file_name}: {answer_sentence(o.answer)}" for o in outcomes)
        self._done(
            f"{len(outcomes)} product(s) of {self.selection.burst_id} pushed by "
            f"{self.user.name}; the SDB answered: {said or 'nothing to push.'}"
        )
        return outcomes

    def _to_push(self, label: str) -> list[str]:
        """The files a push button would send."""
        if label == "Push":
            return [self.store.record(self._chosen())["file_name"]]
        queue = self.store.queue(self.selection.burst_id)
        return queue.loc[queue["state"].isin([*PUSHABLE, "pushing"]), "file_name"].tolist()

    def sdb_url(self) -> str:
        """The import API the pushes go to, without its password or token."""
        with closing(self.client_factory()) as client:
            return redact_url(client.base_url)

    def ask(self, label: str) -> str:
        """Ask for the confirmation of a push (one of :data:`PUSHES`): the question names
        the files and the SDB; :meth:`confirm` then pushes, :meth:`cancel` does not."""
        names = self._to_push(label)
        retracted = self.flags.retraction()
        notes = [f"{sentence_case(retracted)}: pushed with your override."] if retracted else []
        notes += [f"Warning: {warning}." for warning in self.flags.warnings_of(names)]
        self.question = " ".join(
            [
                f"Push {len(names)} product(s) ({', '.join(names)}) to the SDB at "
                f"{self.sdb_url()}? They go to the SVOM archive.",
                *notes,
            ]
        )
        self.pending = label
        return self.question

    @guarded("Push", LOG)
    def confirm(self) -> None:
        """Do the push asked for (the outcome in :attr:`message`)."""
        label, self.pending = self.pending, ""
        if label:
            self._clicked(self.push if label == "Push" else self.push_burst, label)

    @guarded("Cancelling", LOG)
    def cancel(self) -> None:
        self.pending = ""

    def _failed(self, exc: Exception, doing: str) -> None:
        text = failure_text(exc, doing=doing, log=LOG)
        self.param.update(message=text, failed=True)
        notify("error", text)

    @guarded("The action", LOG)
    def _clicked(self, action: Callable, doing: str) -> None:
        with busy(self._layout):
            try:
                action()
            except Exception as exc:  # the page says why; an unexpected one is logged
                self._failed(exc, doing)
                return
        notify("success", self.message)

    @guarded("Asking to confirm", LOG)
    def _ask_clicked(self, label: str) -> None:
        try:
            self.ask(label)
        except Exception as exc:  # the page says why; an unexpected one is logged
            self._failed(exc, label)

    # -- display ------------------------------------------------------------------------
    def _lacks(self, role: str) -> str:
        if self.user.can(role):
            return ""
        return (
            f"needs the {role} role ({self.user.name} has {', '.join(self.user.roles) or 'none'})"
        )

    def why_not(self) -> dict[str, str]:
        """Why each review button cannot be pressed for the product shown, by label ('' when
        it can): the role the user lacks, or what the product's state does not allow."""
        record = (
            None
            if self.selection.product_id is None
            else self.store.record(self.selection.product_id)
        )
        state = record["state"] if record else ""
        unchosen = "" if record else "no product chosen"
        deviations = record["n_deviations"] if record else 0
        burst = self.selection.burst_id
        return {
            "Approve": self._lacks(APPROVE_ROLE)
            or unchosen
            or (f"it is {state}" if state not in APPROVABLE else "")
            or (f"it has {deviations} deviation(s) from its descriptor" if deviations else ""),
            "Reject": self._lacks(APPROVE_ROLE)
            or unchosen
            or (f"it is {state}" if state not in REJECTABLE else ""),
            "Push": self._lacks(PUSH_ROLE)
            or unchosen
            or ("" if state in PUSHABLE else NOT_PUSHABLE.get(state, f"it is {state}"))
            or self.flags.blocks_push(),
            "Push all approved of the burst": self._lacks(PUSH_ROLE)
            or ("" if burst else "no burst chosen")
            or ("" if self._to_push("Push all approved of the burst") else "nothing approved")
            or self.flags.blocks_push(),
        }

    def enabled(self) -> dict[str, bool]:
        """Which review buttons the user may press for the product shown, by label."""
        return {label: not reason for label, reason in self.why_not().items()}

    def _reasons(self, reasons: dict[str, str]) -> SafeMarkdown:
        lines = [
            markdown("*{label}* is unavailable: {reason}.", label=label, reason=reason)
            for label, reason in reasons.items()
            if reason
        ]
        return paragraphs(*lines)

    def _make_buttons(self) -> None:
        actions = {
            "Approve": ("success", self.approve),
            "Reject": ("danger", self.reject),
            "Push": ("primary", self.push),
            "Push all approved of the burst": ("primary", self.push_burst),
        }
        self._buttons: dict[str, pn.widgets.Button] = {}
        for label, (color, action) in actions.items():
            button = pn.widgets.Button(label=label, color=color, disabled=True)
            if label in PUSHES:
                button.on_click(lambda _, label=label: self._ask_clicked(label))
            else:
                button.on_click(lambda _, action=action, label=label: self._clicked(action, label))
            self._buttons[label] = button
        self._why = pn.pane.Markdown("", css_classes=["review-why-not"], margin=(0, 10))
        self._title = pn.pane.Markdown("", margin=(5, 10, 0, 10))
        self._badge = pn.pane.HTML("", margin=(18, 10))
        self._make_confirmation()
        self._show_state()

    @param.depends("selection.product_id", "selection.revision", watch=True)
    @guarded("Showing the product's state", LOG)
    def _show_state(self) -> None:
        """Bring the title, the state badge and the buttons up to date (widgets kept)."""
        record = (
            None
            if self.selection.product_id is None
            else self.store.record(self.selection.product_id)
        )
        self._title.object = self._provenance(record) if record else "### No product chosen"
        self._badge.object = state_badge(record["state"]) if record else ""
        reasons = self.why_not()
        for label, reason in reasons.items():
            self._buttons[label].disabled = bool(reason)
        self._why.object = self._reasons(reasons)

    @staticmethod
    def _provenance(record: dict) -> SafeMarkdown:
        """The version's name and the lake snapshot it was made from, with the command that
        shows the products as they were then."""
        snapshot = record.get("lake_snapshot")
        if pd.isna(snapshot):  # made before the versions recorded their snapshot
            return markdown("### {name}", name=record["file_name"])
        command = f"gic --at {int(snapshot)} products list --burst {record['burst_id']}"
        return markdown(
            "### {name}\nMade from lake snapshot {snapshot}: {command} shows the products as "
            "they were then.",
            name=record["file_name"],
            snapshot=int(snapshot),
            command=code(command),
        )

    @param.depends("selection.product_id", watch=True)
    @guarded("Forgetting the question", LOG)
    def _forget_question(self) -> None:
        """A question asked about another product is not answered for this one (a refresh
        of the same product keeps it)."""
        self.pending = ""

    def _roles_note(self) -> pn.pane.Markdown:
        roles = ", ".join(self.user.roles) or "no role"
        lacking = [
            f"{what} needs the {role} role"
            for what, role in (("approving and rejecting", APPROVE_ROLE), ("pushing", PUSH_ROLE))
            if not self.user.can(role)
        ]
        note = markdown(
            "Signed in as **{name}** ({roles}).{lacking}",
            name=self.user.name,
            roles=roles,
            lacking=" " + "; ".join(lacking) + "." if lacking else "",
        )
        return pn.pane.Markdown(note)

    @param.depends("message", "failed")
    def _message(self):
        return message_pane(self.message, failed=self.failed)

    def _make_confirmation(self) -> None:
        yes = pn.widgets.Button(label="Yes, push to the SDB", color="primary")
        yes.on_click(lambda _: self.confirm())
        no = pn.widgets.Button(label="Cancel", color="light")
        no.on_click(lambda _: self.cancel())
        self._question = pn.pane.Alert("", alert_type="warning")
        self._confirmation = pn.Column(
            self._question, pn.Row(yes, no), css_classes=["push-confirmation"], visible=False
        )

    @param.depends("pending", "question", watch=True)
    @guarded("Asking to confirm", LOG)
    def _show_question(self) -> None:
        """Show or hide the confirmation (its widgets made once, as Bokeh wants them kept)."""
        self._question.object = markdown("{question}", question=self.question)
        self._confirmation.visible = bool(self.pending)

    @param.depends("selection.burst_id", "selection.revision")
    def _audit(self):
        log = self.store.audit(self.selection.burst_id or None)
        log = log.sort_values("acted_at", ascending=False)
        return _table(  # lake_snapshot: what the user saw (gic --at SNAPSHOT ...)
            log[["acted_at", "user_name", "action", "card", "version", "comment", "lake_snapshot"]],
            pagination="local",
            page_size=10,
        )

    def actions(self) -> pn.Column:
        """Who is signed in, the product and its state, the buttons, the comment, the outcome."""
        comment = pn.widgets.TextInput.from_param(
            self.param.comment, label="Comment", placeholder="why", width=420
        )
        self._layout = pn.Column(
            self._roles_note(),
            pn.Row(self._title, self._badge),
            self.flags,
            pn.Row(*self._buttons.values()),
            self._why,
            self._confirmation,
            comment,
            self._message,
            sizing_mode="stretch_width",
        )
        return self._layout

    def audit_log(self) -> pn.Column:
        """The burst's audit log, newest first."""
        return pn.Column(
            "### Who did what, when (UTC)",
            "Each action names the lake snapshot it was made from: `gic --at SNAPSHOT products "
            "list` shows the products as the user saw them.",
            self._audit,
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Column(self.actions(), self.audit_log(), sizing_mode="stretch_width")
