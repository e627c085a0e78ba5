"""GFT products and the SDB: whether it answers, what it holds for a burst, pulling chosen
files into the workspace with progress, the coherence of both sides, and a zip archive of
one or many bursts' products.

Part of the Products page (:mod:`app.views.products` composes it); pulling writes into the
workspace and needs the ``scientist`` role, checked on the server side.
"""

from __future__ import annotations

import asyncio
import io
import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pandas as pd
import panel as pn
import param

from app.auth import LOCAL_USER, require
from app.markup import markdown, option_labels
from app.views.feedback import failure_text, guarded, message_pane, notify
from app.views.tables import table
from data_access.products.sdb_client import SdbClient, SdbError
from data_access.products.store import ProductStore
from data_access.products.transfer import PulledFile
from data_access.redact import redact_url
from data_access.users import User

ClientFactory = Callable[[], SdbClient]
LOG = logging.getLogger("gic.products")

#: Seconds the SDB check waits for an answer (no retries: it only tells whether it is up).
PROBE_TIMEOUT_S = 3.0

#: Role needed to bring files from the SDB into the workspace.
PULL_ROLE = "scientist"

REMOTE_COLUMNS = ["kind", "name", "card", "size", "sha256"]


@contextmanager
def busy(layout: pn.layout.ListPanel | None) -> Iterator[None]:
    """Show ``layout`` as loading while an action runs (nothing before it is displayed)."""
    if layout is None:
        yield
        return
    with layout.param.update(loading=True):
        yield


def probe_sdb(client: SdbClient, burst_id: str) -> str:
    """'' when the export API answers a search (one try, :data:`PROBE_TIMEOUT_S`), else
    why not. ``client`` is a fresh one: its retries and timeout are lowered for the probe."""
    client.retries, client.timeout = 0, min(client.timeout, PROBE_TIMEOUT_S)
    try:
        client.search(burst_id or "none", kind="products")
    except SdbError as exc:
        return str(exc)
    return ""


class ProductExchange(pn.viewable.Viewer):
    """The SDB side of a burst's products: status, listing, pull, coherence and archive."""

    store = param.ClassSelector(class_=ProductStore, constant=True)
    selection = param.Parameter(constant=True, doc="a ProductSelection (burst_id, revision)")
    user = param.ClassSelector(class_=User, default=LOCAL_USER, constant=True)
    client_factory = param.Callable(constant=True, doc="makes the SDB client of an action")
    sdb_problem = param.String(
        default=None,
        allow_None=True,
        doc="why the SDB did not answer ('' if it did; None: unasked)",
    )
    remote = param.DataFrame(default=pd.DataFrame(columns=REMOTE_COLUMNS))
    coherence = param.DataFrame(default=None, allow_None=True)
    archive_bursts = param.List(default=[], item_type=str, doc="bursts in the archive")
    message = param.String(default="")
    failed = param.Boolean(default=False)

    def __init__(
        self, store: ProductStore, selection, *, user: User, client_factory: ClientFactory, **params
    ) -> None:
        super().__init__(
            store=store, selection=selection, user=user, client_factory=client_factory, **params
        )
        self.progress = pn.indicators.Progress(value=0, max=1, visible=False, width=300)
        self._remote_table = table(self.remote, selectable="checkbox", height=240)
        self._layout: pn.Column | None = None

    # -- actions ------------------------------------------------------------------------
    def _url(self) -> str:
        with closing(self.client_factory()) as client:
            return redact_url(client.export_url)  # a viewer sees no password nor token

    def check_sdb(self) -> str:
        """Ask the export API whether it answers; '' when it does, else why not."""
        with closing(self.client_factory()) as client:
            self.sdb_problem = probe_sdb(client, self.selection.burst_id)
        return self.sdb_problem

    def list_remote(self) -> pd.DataFrame:
        """The burst's products and images on the export API."""
        if not self.selection.burst_id:
            raise ValueError("pick a burst first")
        with closing(self.client_factory()) as client:
            files = self.store.transfers.remote(self.selection.burst_id, client)
        self.remote = pd.DataFrame([f.to_dict() for f in files], columns=REMOTE_COLUMNS)
        self.sdb_problem = ""
        return self.remote

    def pull(self, names: list[str], *, progress=None) -> list[PulledFile]:
        """Bring the named files of the burst from the export API into the workspace."""
        require(self.user, PULL_ROLE, "pull files from the SDB into the workspace")
        if not names:
            raise ValueError("tick the files to pull in the SDB listing first")
        with closing(self.client_factory()) as client:
            return self.store.transfers.pull(
                self.selection.burst_id, client, names=names, user=self.user.name, progress=progress
            )

    def check_coherence(self) -> pd.DataFrame:
        """The workspace against the SDB for the burst's products (the notes' checks)."""
        if not self.selection.burst_id:
            raise ValueError("pick a burst first")
        with closing(self.client_factory()) as client:
            self.coherence = self.store.transfers.coherence(self.selection.burst_id, client)
        return self.coherence

    def archive_bytes(self) -> bytes:
        """The products of :attr:`archive_bursts` (the burst shown when empty) as one zip."""
        bursts = self.archive_bursts or [self.selection.burst_id] * bool(self.selection.burst_id)
        if not bursts:
            raise ValueError("choose the bursts to put in the archive")
        with tempfile.TemporaryDirectory(prefix="gic-archive-") as folder:
            return self.store.transfers.archive(bursts, Path(folder) / "products.zip").read_bytes()

    def _report(self, exc: Exception, doing: str) -> None:
        text = failure_text(exc, doing=doing, log=LOG)
        self.param.update(message=text, failed=True)
        if isinstance(exc, SdbError):
            self.sdb_problem = str(exc)
        notify("error", text)

    @guarded("The action", LOG)
    def _clicked(self, action: Callable, done: str, doing: str) -> None:
        with busy(self._layout):
            try:
                action()
            except Exception as exc:  # the page says why; an unexpected one is logged
                self._report(exc, doing)
                return
        self.param.update(message=done, failed=False)

    @guarded("Pulling", LOG)
    async def _pull_clicked(self, _event=None) -> None:
        frame = self._remote_table.value
        names = [str(frame.iloc[i]["name"]) for i in self._remote_table.selection]
        self.progress.param.update(value=0, max=max(len(names), 1), visible=True)
        pulled: list[PulledFile] = []
        try:
            for name in names or [None]:  # [None]: pull() says what to do
                pulled += await asyncio.to_thread(self.pull, [name] if name else [])
                self.progress.value += 1
        except Exception as exc:  # the page says why; an unexpected one is logged
            self._report(exc, "Pulling")
        else:
            summary = ", ".join(f"{p.name} ({p.status})" for p in pulled)
            self.param.update(message=f"Pulled {len(pulled)} file(s): {summary}.", failed=False)
            notify("success", f"Pulled {len(pulled)} file(s) into the workspace.")
        finally:
            self.progress.visible = False
            self.selection.revision += 1

    def _archive_download(self) -> io.BytesIO:
        try:
            return io.BytesIO(self.archive_bytes())
        except Exception as exc:  # the page says why; an unexpected one is logged
            self._report(exc, "The archive")
            return io.BytesIO(b"")

    # -- display ------------------------------------------------------------------------
    @param.depends("sdb_problem")
    def status(self):
        """Whether the SDB answers, and what to do when it does not."""
        if self.sdb_problem is None:
            return pn.pane.Markdown("*The SDB has not been asked yet.*")
        url = self._url()
        if not self.sdb_problem:
            return pn.pane.Alert(
                markdown("The SDB at {url} answers.", url=url), alert_type="success"
            )
        return pn.pane.Alert(
            markdown(
                "**The SDB at {url} is unreachable**: {problem}. Push, pull and coherence need it: "
                "start the sandbox with `gic sandbox serve`, or set `[sdb] import_url` and "
                "`export_url` in gic.toml.",
                url=url,
                problem=self.sdb_problem,
            ),
            alert_type="danger",
        )

    @param.depends("remote", watch=True)
    @guarded("Listing the SDB's files", LOG)
    def _show_remote(self) -> None:
        self._remote_table.param.update(value=self.remote, selection=[])

    @param.depends("coherence")
    def _coherence(self):
        if self.coherence is None:
            return pn.pane.Markdown("*Check the coherence to compare the workspace with the SDB.*")
        if self.coherence.empty:
            return pn.pane.Markdown("No product on either side.")
        frame = self.coherence
        conflicts = frame[frame["status"] == "conflict"]
        counts = frame["status"].value_counts()
        summary = markdown(
            "{conflicts} conflict(s) between the workspace and the SDB; {same} the same on "
            "both; {unpushed} not pushed yet; {unpulled} on the SDB only (not pulled yet).",
            conflicts=len(conflicts),
            same=int(counts.get("same", 0)),
            unpushed=int(counts.get("not pushed yet", 0)),
            unpulled=int(counts.get("not pulled yet", 0)),
        )
        shown = [pn.pane.Markdown(summary, css_classes=["coherence-summary"])]
        if len(conflicts):
            shown.append(table(conflicts, pagination="local", page_size=12))
        others = frame[frame["status"] != "conflict"].drop(columns="problems")
        if len(others):
            shown += ["#### Not in conflict", table(others, pagination="local", page_size=12)]
        return pn.Column(*shown, sizing_mode="stretch_width")

    @param.depends("message", "failed")
    def _message(self):
        return message_pane(self.message, failed=self.failed)

    @param.depends("selection.revision")
    def _archive(self):
        bursts = self.store.bursts()["burst_id"].tolist()
        chooser = pn.widgets.MultiChoice.from_param(
            self.param.archive_bursts,
            options=option_labels(bursts),
            label="Bursts (empty: the burst shown)",
        )
        download = pn.widgets.FileDownload(
            callback=self._archive_download,
            filename="gft_products.zip",
            color="primary",
            label="Download the products as one zip",
        )
        return pn.Row(chooser, download, sizing_mode="stretch_width")

    def __panel__(self):
        def button(label: str, action: Callable, done: str, **options) -> pn.widgets.Button:
            widget = pn.widgets.Button(label=label, color="light", **options)
            widget.on_click(lambda _: self._clicked(action, done, doing=label))
            return widget

        pull = pn.widgets.Button(
            label="Pull the ticked files", color="primary", disabled=not self.user.can(PULL_ROLE)
        )
        pull.on_click(self._pull_clicked)
        self._layout = pn.Column(
            pn.Row(
                button("Check the SDB", self.check_sdb, "SDB checked."),
                button("List on the SDB", self.list_remote, "Listed the SDB's files."),
                button("Check coherence", self.check_coherence, "Coherence checked."),
            ),
            self.status,
            self._message,
            "### The burst's images and products on the SDB",
            self._remote_table,
            pn.Row(pull, self.progress),
            "### Coherence: workspace and SDB",
            self._coherence,
            "### Archive",
            self._archive,
            sizing_mode="stretch_width",
        )
        return self._layout
