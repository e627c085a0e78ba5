"""The review of GFT products: the queue per burst, one product in full, its review and push,
and the exchange with the SDB (pull, coherence, archive).

Every action checks the user's role on the server side (:func:`app.auth.require`):
approving and rejecting need ``scientist``, pushing needs ``approver``; the buttons of a
user without the role are disabled as well. The SDB client comes from a factory called
at each action, so that the page always uses the workspace's current ``[sdb]`` settings.
The same views run in the server's Products page and in a notebook::

    stores = Stores.open("demo-workspace")
    ProductsDesk(stores.products, client_factory=sdb_client_factory(stores))
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd
import panel as pn
import param

from app.auth import LOCAL_USER
from app.markup import burst_link, markdown, paragraphs
from app.plots.products import plot_light_curve
from app.views.feedback import failure_text, guarded
from app.views.product_exchange import ClientFactory, ProductExchange
from app.views.product_flags import burst_flags
from app.views.product_review import ProductReview
from app.views.tables import table as _table
from data_access.products.sdb_client import SdbClient
from data_access.products.store import ProductStore
from data_access.stores import Stores
from data_access.users import User

LOG = logging.getLogger("gic.products")
BURST_TITLES = {"burst_id": "burst", "push_failed": "failed"}

QUEUE_COLUMNS = [
    "product_id",
    "card",
    "version",
    "state",
    "n_deviations",
    "source",
    "updated_at",
    "pushed_at",
    "warning",
]


def when_shown(build: Callable[[], object]) -> pn.param.ParamFunction:
    """What ``build()`` gives, built when the tab holding it is first shown rather than with
    the page (a page is built for each visitor: a tab seldom opened should not cost them all).

    ``build`` is a function of no argument (a lambda), called once.
    """
    return pn.param.ParamFunction(build, lazy=True)


def sdb_client_factory(stores: Stores) -> ClientFactory:
    """A factory of clients for the workspace's ``[sdb]`` settings, read at each call."""
    return lambda: SdbClient.from_config(stores.workspace.config.sdb)


class ProductSelection(param.Parameterized):
    """What the desk shows: the burst, the product version, and the store's state last seen."""

    burst_id = param.String(default="", doc="the burst whose products are listed")
    product_id = param.Integer(default=None, allow_None=True, doc="the product version shown")
    revision = param.Integer(default=0, doc="bumped whenever the products changed")


class ProductQueue(pn.viewable.Viewer):
    """Bursts with products (counts per state), and the chosen burst's products with their state."""

    store = param.ClassSelector(class_=ProductStore, constant=True)
    selection = param.ClassSelector(class_=ProductSelection, constant=True)

    def __init__(self, store: ProductStore, selection: ProductSelection, **params) -> None:
        super().__init__(store=store, selection=selection, **params)

    def queue(self) -> pd.DataFrame:
        """The chosen burst's products, the latest version of each."""
        if not self.selection.burst_id:
            return pd.DataFrame(columns=QUEUE_COLUMNS)
        return self.store.queue(self.selection.burst_id)[QUEUE_COLUMNS]

    @param.depends("selection.burst_id", "selection.revision")
    def _bursts(self):
        bursts = self.store.bursts()
        chosen = [i for i, b in enumerate(bursts["burst_id"]) if b == self.selection.burst_id]
        table = _table(
            bursts,
            selectable=1,
            height=200,
            selection=chosen,
            hidden_columns=["updated_at"],
            titles=BURST_TITLES,
        )

        @guarded("Showing the burst's products", LOG)
        def choose(event) -> None:
            if event.new:
                self.selection.param.update(
                    burst_id=str(bursts.iloc[event.new[0]]["burst_id"]), product_id=None
                )

        table.param.watch(choose, "selection")
        return table

    @param.depends("selection.burst_id", "selection.revision")
    def _products(self):
        frame = self.queue()
        if frame.empty:
            return pn.pane.Markdown("*Pick a burst to see its products.*")
        table = _table(
            frame,
            selectable=1,
            hidden_columns=["product_id", "source"],
            frozen_columns=["card"],  # the key, in view in the narrow sidebar
            titles={"version": "v", "n_deviations": "deviations"},
            selection=[
                i for i, p in enumerate(frame["product_id"]) if p == self.selection.product_id
            ],
        )

        @guarded("Showing the product", LOG)
        def choose(event) -> None:
            if event.new:
                self.selection.product_id = int(frame.iloc[event.new[0]]["product_id"])

        table.param.watch(choose, "selection")
        title = markdown("### Products of {burst}", burst=self.selection.burst_id)
        dossier = markdown("The burst's dossier: {link}", link=burst_link(self.selection.burst_id))
        return pn.Column(
            pn.pane.Markdown(title),
            *burst_flags(self.store.queue(self.selection.burst_id)),
            table,
            pn.pane.Markdown(dossier),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Column(
            "### Bursts with products", self._bursts, self._products, sizing_mode="stretch_width"
        )


class ProductDetail(pn.viewable.Viewer):
    """One product version: the burst's light curve with the QTI fits, the position, every
    header and table, the validation report, the version history and a diff of two versions."""

    store = param.ClassSelector(class_=ProductStore, constant=True)
    selection = param.ClassSelector(class_=ProductSelection, constant=True)
    old_id = param.Integer(default=None, allow_None=True, doc="older version of the diff")
    new_id = param.Integer(default=None, allow_None=True, doc="newer version of the diff")

    def __init__(self, store: ProductStore, selection: ProductSelection, **params) -> None:
        super().__init__(store=store, selection=selection, **params)
        self._old = pn.widgets.Select.from_param(self.param.old_id, label="Old version", width=160)
        self._new = pn.widgets.Select.from_param(self.param.new_id, label="New version", width=160)
        self._pick_versions()

    def detail(self) -> dict | None:
        pid = self.selection.product_id
        return self.store.detail(pid) if pid is not None else None

    @param.depends("selection.burst_id", "selection.revision")
    def _light_curve(self):
        if not self.selection.burst_id:
            return pn.pane.Markdown("*Pick a burst.*")
        try:
            points, fits = self.store.light_curve(self.selection.burst_id)
        except (ValueError, OSError) as exc:
            reason = failure_text(exc, doing="Reading the light curve", log=LOG)
            return pn.pane.Alert(
                markdown("No light curve: {reason}", reason=reason), alert_type="warning"
            )
        plot = plot_light_curve(points, fits, title=f"{self.selection.burst_id}: LC and QTI")
        return pn.pane.Bokeh(plot, sizing_mode="stretch_width", min_height=400)

    @param.depends("selection.burst_id", "selection.revision")
    def _position(self):
        queue = self.store.queue(self.selection.burst_id) if self.selection.burst_id else None
        if queue is None or not (queue["card"] == "PO_GFT_FGFT").any():
            return pn.pane.Markdown("*No position product (PO) for this burst.*")
        po_id = int(queue.loc[queue["card"] == "PO_GFT_FGFT", "product_id"].iloc[0])
        detail = self.store.detail(po_id)
        primary = {k: v for k, v, _ in detail["headers"]["PrimaryHDU"]}
        table = detail["tables"].get("PO_GFT_FGFT", pd.DataFrame())
        lines = [
            markdown(
                "Alert position RA {ra} deg, Dec {dec} deg, error radius {radius} deg.",
                ra=primary.get("RA_TRIG"),
                dec=primary.get("DEC_TRIG"),
                radius=primary.get("ERR_TRIG"),
            )
        ]
        if table.empty:
            lines.append(markdown("No detection: the counterpart has no position."))
        else:
            row = table.iloc[0]
            lines.append(
                markdown(
                    "Counterpart (PO v{version}): RA {ra:.6f} deg, Dec {dec:.6f} deg ± {err:.3f} arcsec "
                    "({n:d} detections); galactic l {glon:.4f} deg, b {glat:.4f} deg.",
                    version=detail["record"]["version"],
                    ra=row["RA"],
                    dec=row["DEC"],
                    err=row["POSERR"],
                    n=int(row["NDETECT"]),
                    glon=row["GLON"],
                    glat=row["GLAT"],
                )
            )
        return pn.Column(
            pn.pane.Markdown(paragraphs(*lines)), _table(table), sizing_mode="stretch_width"
        )

    @param.depends("selection.product_id", "selection.revision")
    def _contents(self):
        detail = self.detail()
        if detail is None:
            return pn.pane.Markdown("*Pick a product to see its headers and tables.*")
        tabs = pn.Tabs(sizing_mode="stretch_width")
        for extension, cards in detail["headers"].items():
            header = pd.DataFrame(cards, columns=["keyword", "value", "comment"]).astype(str)
            parts = [_table(header, pagination="local", page_size=20)]
            if extension in detail["tables"]:
                parts.append(_table(detail["tables"][extension], pagination="local", page_size=20))
            tabs.append((extension, pn.Column(*parts, sizing_mode="stretch_width")))
        return tabs

    @param.depends("selection.product_id", "selection.revision")
    def _validation(self):
        detail = self.detail()
        if detail is None:
            return pn.Spacer(height=0)
        report = detail["validation"]
        if report["valid"]:
            return pn.pane.Alert(
                markdown("Valid against its descriptor {card}: no deviation.", card=report["card"]),
                alert_type="success",
            )
        return pn.Column(
            pn.pane.Alert(
                markdown(
                    "{n} deviation(s) from {card}: this version cannot be approved.",
                    n=len(report["deviations"]),
                    card=report["card"],
                ),
                alert_type="danger",
            ),
            _table(pd.DataFrame(report["deviations"])),
            sizing_mode="stretch_width",
        )

    def versions(self) -> pd.DataFrame:
        """Every version of the product shown, newest first (empty when none is shown)."""
        if self.selection.product_id is None:
            return pd.DataFrame(columns=QUEUE_COLUMNS + ["file_name"])
        detail = self.store.record(self.selection.product_id)
        return self.store.versions(detail["burst_id"], detail["card"])

    @param.depends("selection.product_id", "selection.revision", watch=True)
    @guarded("Listing the product's versions", LOG)
    def _pick_versions(self) -> None:
        """Offer the versions of the product shown; diff the two newest by default."""
        labels = {
            f"v{r.version} ({r.state})": int(r.product_id) for r in self.versions().itertuples()
        }
        ids = list(labels.values()) or [None]
        self._old.options = self._new.options = labels
        self.param.update(new_id=ids[0], old_id=ids[1] if len(ids) > 1 else ids[0])

    @param.depends("selection.product_id", "selection.revision")
    def _versions(self):
        if self.selection.product_id is None:
            return pn.pane.Markdown("*Pick a product to see its versions.*")
        return _table(
            self.versions()[["version", "state", "source", "created_at", "pushed_at", "file_name"]]
        )

    def diff(self) -> pd.DataFrame:
        if self.old_id is None or self.new_id is None:
            return pd.DataFrame(columns=["extension", "item", "old", "new"])
        return self.store.diff(self.old_id, self.new_id)

    @param.depends("old_id", "new_id")
    def _diff(self):
        if self.old_id is None or self.old_id == self.new_id:
            return pn.pane.Markdown("*One version only, or the same one twice: no diff.*")
        changes = self.diff()
        if changes.empty:
            return pn.pane.Markdown("The two versions have the same content.")
        return _table(changes.astype(str), pagination="local", page_size=15)

    def tabs(self) -> list[tuple[str, object]]:
        """The detail's parts, each a (title, panel) pair for a dynamic :class:`pn.Tabs`: the
        light curve is built with the page, the others when their tab is first shown."""
        return [
            ("Light curve", self._light_curve),
            ("Position", when_shown(lambda: self._position)),
            (
                "Headers, tables and validation",
                when_shown(
                    lambda: pn.Column(self._validation, self._contents, sizing_mode="stretch_width")
                ),
            ),
            (
                "Versions and diff",
                when_shown(
                    lambda: pn.Column(
                        self._versions,
                        pn.Row(self._old, self._new),
                        self._diff,
                        sizing_mode="stretch_width",
                    )
                ),
            ),
        ]

    def __panel__(self):
        return pn.Tabs(*self.tabs(), sizing_mode="stretch_width", dynamic=True)


class ProductsDesk(pn.viewable.Viewer):
    """The Products page in one view: the queue on the left, the chosen product's review
    and detail, and the exchange with the SDB; :attr:`selection` holds what is shown."""

    store = param.ClassSelector(class_=ProductStore, constant=True)
    selection = param.ClassSelector(class_=ProductSelection, constant=True)

    def __init__(
        self,
        store: ProductStore,
        *,
        client_factory: ClientFactory,
        user: User = LOCAL_USER,
        burst_id: str = "",
        product_id: int | None = None,
        **params,
    ) -> None:
        selection = ProductSelection(burst_id=burst_id, product_id=product_id)
        super().__init__(store=store, selection=selection, **params)
        if not selection.burst_id and len(bursts := store.bursts()):
            selection.burst_id = str(bursts["burst_id"].iloc[0])
        self.queue = ProductQueue(store, selection)
        self.detail = ProductDetail(store, selection)
        self.review = ProductReview(store, selection, user=user, client_factory=client_factory)
        self.exchange = ProductExchange(store, selection, user=user, client_factory=client_factory)
        self._seen = self._change()

    def _change(self) -> tuple:
        bursts = self.store.bursts()
        return (
            len(bursts),
            int(bursts["products"].sum()) if len(bursts) else 0,
            bursts["updated_at"].max() if len(bursts) else None,
        )

    def refresh(self) -> bool:
        """Show what changed since the last look (another session's action, a build, a
        pull); True if anything did."""
        change = self._change()
        if change == self._seen:
            return False
        self._seen = change
        self.selection.revision += 1
        return True

    def display(self) -> pn.Column:
        """The SDB's status, the review of the product shown, and its detail in tabs (with the
        audit log and the exchange with the SDB)."""
        tabs = pn.Tabs(
            *self.detail.tabs(),
            ("Audit log", when_shown(lambda: self.review.audit_log())),
            ("SDB: pull, coherence, archive", when_shown(lambda: self.exchange.__panel__())),
            sizing_mode="stretch_width",
            dynamic=True,
        )
        return pn.Column(
            self.exchange.status, self.review.actions(), tabs, sizing_mode="stretch_width"
        )

    def controls(self) -> ProductQueue:
        """What the page's sidebar holds: the bursts and the chosen burst's products."""
        return self.queue

    def __panel__(self):
        return pn.Row(
            pn.Column(self.controls(), width=440), self.display(), sizing_mode="stretch_width"
        )
