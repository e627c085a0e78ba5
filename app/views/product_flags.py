"""What stands against the product a review shows: its burst retracted, its warning of
a master found bad since it was built, and the frames of its runs outside the [quality]
limits (a note).

A retracted burst's products are pushed only with an approver's override: the box
*Override the retraction* ticked and the review's comment saying why (both in the audit
log). A product built by a GP2 run that used a master since certified bad or demoted
carries a warning until it is rebuilt or a scientist clears it, with the review's comment.
Part of the product review (:class:`app.views.product_review.ProductReview` holds one).
"""

from __future__ import annotations

import logging

import pandas as pd
import panel as pn
import param

from app.auth import require
from app.markup import markdown
from app.views.feedback import guarded
from data_access.alerts.retractions import retraction_sentence, retractions

#: Role needed to clear a product's warning (as for approving it).
CLEAR_ROLE = "scientist"

LOG = logging.getLogger("gic.products")


class ProductFlags(pn.viewable.Viewer):
    """The retraction of the burst shown and the warning of the product shown, with the
    override box and the button that clears the warning.

    Parameters
    ----------
    review : ProductReview
        The review it belongs to: its store, selection, user and comment.
    """

    override = param.Boolean(
        default=False,
        label="Override the retraction",
        doc="push the retracted burst's products all the same; the comment says why",
    )

    def __init__(self, review, **params) -> None:
        super().__init__(**params)
        self.review = review
        self._retraction = pn.pane.Alert("", alert_type="danger", css_classes=["retraction"])
        self._override = pn.widgets.Checkbox.from_param(self.param.override)
        self._warning = pn.pane.Alert("", alert_type="warning", css_classes=["master-warning"])
        self._clear = pn.widgets.Button(label="Clear the warning", color="warning")
        self._quality = pn.pane.Alert("", alert_type="info", css_classes=["frame-quality"])
        self._clear.on_click(lambda _: review._clicked(self.clear_warning, "Clear the warning"))
        self._layout = pn.Column(
            self._retraction,
            self._override,
            self._warning,
            self._clear,
            self._quality,
            sizing_mode="stretch_width",
        )
        review.selection.param.watch(
            guarded("Showing the flags", LOG)(lambda _: self.show()),
            ["product_id", "revision", "burst_id"],
        )
        self.show()

    # -- what stands -------------------------------------------------------------------------
    def retraction(self) -> str:
        """'' when the burst shown stands, else the sentence saying it was retracted."""
        burst = self.review.selection.burst_id
        retracting = retractions(self.review.store.cache, burst) if burst else []
        return retraction_sentence(burst, retracting) if len(retracting) else ""

    def warning(self) -> str:
        """The warning of the product shown ('' when none, or none shown)."""
        product_id = self.review.selection.product_id
        if product_id is None:
            return ""
        burst = self.review.store.record(product_id)["burst_id"]
        queue = self.review.store.queue(burst)
        shown = queue.loc[queue["product_id"] == product_id, "warning"]
        return str(shown.iloc[0]) if len(shown) else ""

    def quality(self) -> str:
        """Which frames of the runs the product shown was built from lie outside the
        ``[quality]`` limits, and why ('' when none, or none shown)."""
        product_id, quality = self.review.selection.product_id, self.review.store.quality
        if product_id is None or quality is None:
            return ""
        frames = quality.of_product(product_id)
        outside = frames[frames["outside"] != ""]
        named = [f"{row.image_id} ({row.outside})" for row in outside.itertuples()]
        return f"{len(outside)} of {len(frames)} frames, {', '.join(named)}" if named else ""

    def warnings_of(self, names: list[str]) -> list[str]:
        """The warnings of the latest versions named (``file_name: warning``)."""
        queue = self.review.store.queue(self.review.selection.burst_id or None)
        flagged = queue[queue["file_name"].isin(names) & (queue["warning"] != "")]
        return [f"{row.file_name}: {row.warning}" for row in flagged.itertuples()]

    def blocks_push(self) -> str:
        """Why the burst's products cannot be pushed now ('' when they can)."""
        retracted = self.retraction()
        if not retracted or self.override_comment():
            return ""
        return f"{retracted}: tick 'Override the retraction' and say why in the comment"

    def override_comment(self) -> str:
        """The comment of the override when the box is ticked, else ''."""
        return self.review.comment.strip() if self.override else ""

    # -- clearing ---------------------------------------------------------------------------
    def clear_warning(self) -> list[int]:
        """Clear the warning of the product shown with the review's comment."""
        review = self.review
        require(review.user, CLEAR_ROLE, "clear a product's warning")
        record = review.store.record(review._chosen())
        cleared = review.store.warnings.clear(
            record["product_id"], user=review.user.name, comment=review.comment
        )
        review._done(f"The warning of {record['file_name']} cleared by {review.user.name}.")
        return cleared

    # -- display ------------------------------------------------------------------------------
    def show(self) -> None:
        """Bring the retraction, the warning and their widgets up to date (widgets kept)."""
        retracted, warning = self.retraction(), self.warning()
        self._retraction.object = markdown(
            "{retracted}: its products are pushed only with an approver's override, "
            "the comment saying why.",
            retracted=sentence_case(retracted),
        )
        self._retraction.visible = self._override.visible = bool(retracted)
        self._warning.object = markdown(
            "Warning: {warning}. Rebuild it with the masters in force, or clear the warning "
            "with a comment.",
            warning=warning,
        )
        self._warning.visible = self._clear.visible = bool(warning)
        outside = self.quality()
        self._quality.object = markdown(
            "Built from frames outside the [quality] limits: {outside}.", outside=outside
        )
        self._quality.visible = bool(outside)
        self._clear.disabled = not self.review.user.can(CLEAR_ROLE)

    def __panel__(self):
        return self._layout


def burst_flags(queue: pd.DataFrame) -> list[pn.pane.Alert]:
    """What a burst's product list says above it: the burst retracted, the products built
    with a master found bad since (``queue``: :meth:`ProductStore.queue` of the burst)."""
    flags = []
    if queue["retracted"].any():
        flags.append(
            pn.pane.Alert(
                markdown(
                    "Burst {burst} was retracted: its products are pushed only with an "
                    "approver's override, with a comment.",
                    burst=queue["burst_id"].iloc[0],
                ),
                alert_type="danger",
            )
        )
    warned = int((queue["warning"] != "").sum())
    if warned:
        flags.append(
            pn.pane.Alert(
                markdown(
                    "{n} product(s) built with a master found bad since: see each one's warning.",
                    n=warned,
                ),
                alert_type="warning",
            )
        )
    return flags


def sentence_case(text: str) -> str:
    """``text`` with its first letter a capital (the rest, ivorns included, as it is)."""
    return text[:1].upper() + text[1:]
