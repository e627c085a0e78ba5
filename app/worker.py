"""The workspace's background work: the scheduled syncs of every configured source, the
alert spool, the stale sensors and the notifications told, the burst syncs requested, the
nightly calibration runs due, the lake's maintenance, and the alert sources of
``[worker] alert_sources`` (each a ``gic`` command run as a child process, started again
whenever it stops).

Exactly one process of a workspace runs it (:class:`~data_access.background.BackgroundTurn`):
``gic worker`` (which ``gic serve`` starts as a child process of its own with
``[server] background = "auto"``, waiting for the turn while another process has it and
taking it over when that one stops). :class:`Worker` is the work itself: a :class:`SyncScheduler`
thread running :func:`scheduled_jobs`, and one :class:`SourceSupervisor` per alert source.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from data_access.alerts.store import SpoolSummary
from data_access.background import KeptProcess
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


class _ObserveTriggers:
    """The observability keys of the trigger files ``gic-alert-handler`` wrote
    (:func:`~data_access.alerts.trigger_extras.observe_pending`), each file tried once."""

    __name__ = "_observe_triggers"

    def __init__(self) -> None:
        self.tried: dict = {}

    def __call__(self, stores: Stores) -> dict:
        from data_access.alerts.trigger_extras import observe_pending

        config = stores.workspace.config
        done = observe_pending(stores.alerts.triggers_dir, config.site, self.tried)
        return {"trigger files observed": ", ".join(p.name for p in done)} if done else {}


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


def _run_reprocessing(stores: Stores) -> dict:
    """One queued reprocessing request per turn, so that a long run holds up the other
    jobs for one run at most."""
    from pipelines.reprocess_queue import run_next_request

    outcome = run_next_request(stores)
    return {} if outcome is None else {f"reprocessing {outcome.request_id}": outcome.describe()}


def _run_nightly_calibration(stores: Stores) -> dict:
    from pipelines.calibration_nightly import run_due_nights

    return {f"nightly calibration of {run.night}": run.outcome for run in run_due_nights(stores)}


def _maintain_lake(stores: Stores) -> dict:
    keep_days = stores.workspace.config.cache.keep_snapshots_days
    return {"lake maintenance": stores.cache.maintain(keep_days=keep_days)}


def scheduled_jobs(stores: Stores) -> list[tuple[Callable[[Stores], dict], float]]:
    """The server's background work, each ``(job(stores) -> {source: result}, period in s)``:
    the spool of packets the alert handler could not store while the server held the cache
    and the observability keys of the trigger files it wrote (every
    ``server.spool_every_s``), then a demo's new status files and the syncs of every
    source of status documents and of calibration reports (every ``server.sync_every_s``),
    the sensors newly stale told (as often), the notifications waiting sent (every
    ``notifications.every_s``), the burst syncs requested (every ``gp2.sync_every_s``), the
    reprocessing queued after a master was certified bad (one request per turn, as often), the
    nightly calibration runs due (every ``worker.nightly_every_s``) and the lake's maintenance
    (every ``cache.maintain_every_h``)."""
    config = stores.workspace.config
    settings = config.server
    jobs = [(_ingest_alert_spool, settings.spool_every_s)]
    jobs += [(_ObserveTriggers(), settings.spool_every_s)]
    jobs += [(job, settings.sync_every_s) for job in (_feed_demo, _sync_status, _sync_calibration)]
    jobs += [(_tell_stale_sensors, settings.sync_every_s)]
    jobs += [(_deliver_notifications, stores.workspace.config.notifications.every_s)]
    jobs += [(_sync_bursts, config.gp2.sync_every_s)]
    jobs += [(_run_reprocessing, config.gp2.sync_every_s)]
    jobs += [(_run_nightly_calibration, config.worker.nightly_every_s)]
    jobs += [(_maintain_lake, config.cache.maintain_every_h * 3600)]
    return [(job, period) for job, period in jobs if period > 0]


#: The jobs whose first turn comes one period after the start, not at once.
WAIT_FIRST = {_maintain_lake}


class SyncScheduler(threading.Thread):
    """Runs each scheduled job now, then every period, until stopped; a failing job is
    logged and tried again at its next turn."""

    def __init__(self, stores: Stores, jobs: list[tuple[Callable[[Stores], dict], float]]) -> None:
        super().__init__(name="gic-sync", daemon=True)
        self.stores = stores
        self.jobs = jobs
        start = time.monotonic()  # every job now, but the maintenance after its first period
        self._due = [start + period if job in WAIT_FIRST else 0.0 for job, period in jobs]
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


#: The ``gic`` command of each alert source (``[worker] alert_sources``).
ALERT_SOURCES = {"comet": ("alerts", "listen"), "kafka": ("alerts", "kafka"), "nats": ("watch",)}


class SourceSupervisor(KeptProcess):
    """Runs one alert source's ``gic`` command as a kept child process (started again after
    ``[worker] restart_after_s`` whenever it ends, the wait doubled while it keeps ending
    within a minute, up to 5 min); its output goes to ``logs/worker-<source>.log``.

    Parameters
    ----------
    stores : Stores
    source : str
        A key of :data:`ALERT_SOURCES`.
    """

    def __init__(self, stores: Stores, source: str) -> None:
        root = stores.workspace.root
        gic = [sys.executable, "-m", "app.cli", "--workspace", str(root)]
        super().__init__(
            f"alert source {source}",
            lambda: [*gic, *ALERT_SOURCES[source]],
            Path(root) / "logs" / f"worker-{source}.log",
            stores.workspace.config.worker.restart_after_s,
        )


class Worker:
    """The workspace's background work, started and stopped together: the scheduled jobs on
    one thread and a supervisor per alert source.

    Raises
    ------
    ValueError
        If ``[worker] alert_sources`` names a source that does not exist.
    """

    def __init__(self, stores: Stores) -> None:
        sources = stores.workspace.config.worker.alert_sources
        unknown = sorted(set(sources) - set(ALERT_SOURCES))
        if unknown:
            raise ValueError(
                f"{stores.workspace.config_path}: worker.alert_sources: unknown "
                f"{', '.join(map(repr, unknown))} (known: {', '.join(ALERT_SOURCES)})"
            )
        jobs = scheduled_jobs(stores)
        self.scheduler = SyncScheduler(stores, jobs) if jobs else None
        self.supervisors = [SourceSupervisor(stores, source) for source in sources]

    def start(self) -> Worker:
        for thread in [self.scheduler, *self.supervisors]:
            if thread is not None:
                thread.start()
        return self

    def stop(self) -> None:
        for thread in [self.scheduler, *self.supervisors]:
            if thread is not None:
                thread.stop()
