"""The workspace's background work: the scheduled syncs of every configured source, the
alert spool, the stale sensors and the notifications told, the burst syncs requested.

:class:`SyncScheduler` runs :func:`scheduled_jobs` on a thread of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from data_access.alerts.store import SpoolSummary
from data_access.notifications import DeliverySummary, Notifier
from data_access.stores import Stores

log = logging.getLogger("gic.worker")


def _sync_status(stores: Stores) -> dict:
    from data_access.telemetry.sources import sync_status

    return sync_status(stores)


def _sync_calibration(stores: Stores) -> dict:
    from data_access.calibration.sources import sync_calibration

    return {f"calibration {name}": result for name, result in sync_calibration(stores).items()}


def _feed_demo(stores: Stores) -> dict:
    from demo import feed_demo_status, is_demo

    return feed_demo_status(stores) if is_demo(stores.workspace.root) else {}


def _ingest_alert_spool(stores: Stores) -> dict:
    summary = stores.alerts.ingest_spool()
    return {"alert spool": summary} if summary != SpoolSummary() else {}


def _deliver_notifications(stores: Stores) -> dict:
    """Send the notifications waiting on a thread of their own, so that a slow mail server
    never holds up the ingests of this scheduler (while one sends, the next finds the spool
    busy and leaves it)."""
    notifier = Notifier.from_workspace(stores.workspace)
    if notifier.has_pending():
        threading.Thread(
            target=_send_notifications, args=(notifier,), name="gic-notify", daemon=True
        ).start()
    return {}


def _send_notifications(notifier: Notifier) -> None:
    try:
        summary = notifier.deliver_pending()
    except Exception:  # logged with its traceback; the next turn tries again
        log.exception("sending the notifications of %s failed", notifier.folder)
        return
    if summary != DeliverySummary():
        log.info("notifications: %s", summary.describe())


def _tell_stale_sensors(stores: Stores) -> dict:
    told = Notifier.from_workspace(stores.workspace).check_sensors(
        stores.status, stale_after_min=stores.workspace.config.telemetry.stale_after_min
    )
    return {"stale sensors told": ", ".join(told)} if told else {}


def _sync_bursts(stores: Stores) -> dict:
    from pipelines.burst_sync import sync_requested

    return sync_requested(stores)


def scheduled_jobs(stores: Stores) -> list[tuple[Callable[[Stores], dict], float]]:
    """The server's background work, each ``(job(stores) -> {source: result}, period in s)``:
    the spool of packets the alert handler could not store while the server held the cache
    (every ``server.spool_every_s``), then a demo's new status files and the syncs of every
    source of status documents and of calibration reports (every ``server.sync_every_s``),
    the sensors newly stale told (as often), the notifications waiting sent (every
    ``notifications.every_s``), and the burst syncs requested (every ``gp2.sync_every_s``)."""
    settings = stores.workspace.config.server
    jobs = [(_ingest_alert_spool, settings.spool_every_s)]
    jobs += [(job, settings.sync_every_s) for job in (_feed_demo, _sync_status, _sync_calibration)]
    jobs += [(_tell_stale_sensors, settings.sync_every_s)]
    jobs += [(_deliver_notifications, stores.workspace.config.notifications.every_s)]
    jobs += [(_sync_bursts, stores.workspace.config.gp2.sync_every_s)]
    return [(job, period) for job, period in jobs if period > 0]


class SyncScheduler(threading.Thread):
    """Runs each scheduled job now, then every period, until stopped; a failing job is
    logged and tried again at its next turn."""

    def __init__(self, stores: Stores, jobs: list[tuple[Callable[[Stores], dict], float]]) -> None:
        super().__init__(name="gic-sync", daemon=True)
        self.stores = stores
        self.jobs = jobs
        self._due = [0.0] * len(jobs)
        self._stop_event = threading.Event()

    def run_due(self, now: float) -> None:
        for index, (job, period) in enumerate(self.jobs):
            if now < self._due[index]:
                continue
            self._due[index] = now + period
            try:
                results = job(self.stores)
            except Exception:  # logged with its traceback; the job runs again at its next turn
                log.exception("scheduled job %s failed", job.__name__)
                continue
            for source, result in results.items():
                log.info("%s: %s", source, getattr(result, "describe", lambda r=result: r)())

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.run_due(time.monotonic())
            self._stop_event.wait(min(period for _, period in self.jobs) / 2)

    def stop(self) -> None:
        self._stop_event.set()
