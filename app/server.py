"""The workbench server: every page on one Panel server, and the scheduled syncs.

The server is the cache's single writer while it runs (DuckDB allows one writing
process): it opens the workspace's cache once, shares it with every session, and
runs the syncs of every configured source itself on a background thread every
``[server] sync_every_s`` seconds, so that files dropped into the workspace's drop
folders and rows arriving in the CDB appear on the pages without any command.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable

import panel as pn

from app.pages import PAGES, home
from data_access.stores import Stores

log = logging.getLogger("gic.server")


def _sync_status(stores: Stores) -> dict:
    from data_access.status_sources import sync_status

    return sync_status(stores)


def _feed_demo(stores: Stores) -> dict:
    from data_access.demo import feed_demo_status, is_demo

    return feed_demo_status(stores) if is_demo(stores.workspace.root) else {}


#: The syncs the server runs on schedule, each ``job(stores) -> {source: result}``; a demo
#: workspace is fed new status files first, so that its pages stay live.
SCHEDULED_SYNCS: tuple[Callable[[Stores], dict], ...] = (_feed_demo, _sync_status)


class SyncScheduler(threading.Thread):
    """Runs every scheduled sync now, then every ``every_s`` seconds until stopped."""

    def __init__(self, stores: Stores, every_s: float) -> None:
        super().__init__(name="gic-sync", daemon=True)
        self.stores = stores
        self.every_s = every_s
        self._stop_event = threading.Event()

    def run_once(self) -> None:
        for job in SCHEDULED_SYNCS:
            try:
                results = job(self.stores)
            except Exception:  # a failing sync is logged and retried at the next tick
                log.exception("scheduled sync %s failed", job.__name__)
                continue
            for source, result in results.items():
                log.info("sync %s: %s", source, getattr(result, "describe", lambda r=result: r)())

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.run_once()
            self._stop_event.wait(self.every_s)

    def stop(self) -> None:
        self._stop_event.set()


def routes(stores: Stores) -> dict[str, Callable]:
    """URL slug to page factory, for :func:`panel.serve`."""
    table: dict[str, Callable] = {"/": lambda: home.create(stores)}
    for spec in PAGES:
        module = importlib.import_module(spec.module)
        table[f"/{spec.slug}"] = lambda module=module: module.create(stores)
    return table


def serve(stores: Stores, *, address: str | None = None, port: int | None = None,
          show: bool = False, threaded: bool = False):  # fmt: skip
    """Serve every page of the workspace; blocks unless ``threaded``.

    Returns
    -------
    The Panel server (a thread when ``threaded``), with ``.stop()``.
    """
    settings = stores.workspace.config.server
    address = address or settings.address
    port = settings.port if port is None else port
    scheduler = None
    if settings.sync_every_s > 0:
        scheduler = SyncScheduler(stores, settings.sync_every_s)
        scheduler.start()
    origins = [f"localhost:{port}", f"127.0.0.1:{port}", f"{address}:{port}",
               *settings.allow_websocket_origin]  # fmt: skip
    pn.extension("tabulator", notifications=True)
    server = pn.serve(
        routes(stores),
        address=address,
        port=port,
        websocket_origin=origins,
        show=show,
        threaded=threaded,
        title={"/": "GIC Workbench", **{f"/{p.slug}": p.title for p in PAGES}},
        verbose=True,
    )
    if scheduler is not None:
        server.sync_scheduler = scheduler
    return server
