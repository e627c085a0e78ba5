"""The nightly calibration run: the CDB's links, the frames, the night's run, GP1's copy.

After the end of each night (:func:`analysis.calibration.schedule.run_due_at`) the
procedure of the notes runs by itself: the links documents the CDB sent are read
(:mod:`data_access.calibration.links`), the night's frames fetched into its raw folder
(:mod:`data_access.calibration.fetch`), every series built, checked, compared with its
master and promoted by the cuts (:func:`pipelines.calibration_night.run_night`), the
masters in force published for GP1 (:mod:`data_access.calibration.local_storage`), and
the raw frames of nights done long enough ago deleted. Each run is recorded
(:mod:`data_access.calibration.nightly_runs`); an invalid or missing master is notified.

A night without calibration frames does nothing: its run is recorded as ``no frames`` and
the completeness grid shows its expected series missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from analysis.calibration.schedule import due_nights, run_due_at
from analysis.observability import Site
from data_access.calibration.fetch import (
    FetchSummary,
    FrameFetcher,
    delete_raw_frames,
    night_raw_folder,
)
from data_access.calibration.links import CalibrationLinks, sync_links
from data_access.calibration.local_storage import publish_masters
from data_access.calibration.nightly_runs import (
    DONE,
    FAILURES,
    NO_FRAMES,
    NightlyRecord,
    NightlyRuns,
)
from data_access.calibration.reports import utc_now
from data_access.config import Config
from data_access.notifications import Notifier
from data_access.stores import Stores
from data_access.telemetry.store import IngestSummary, Progress
from pipelines.calibration_night import NightOutcome, run_night

#: Actions of :func:`run_night` that mean a master was built (and validated).
BUILT = ("promoted", "rejected")


@dataclass
class NightlyRun:
    """What one nightly run did; :attr:`record` is what the cache keeps of it."""

    night: date
    started_at: datetime
    links: int = 0
    fetch: FetchSummary = field(default_factory=FetchSummary)
    outcomes: list[NightOutcome] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    raw_deleted: dict[date, list[str]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if self.failures:
            return FAILURES
        return NO_FRAMES if not self.outcomes and not self.links else DONE

    def record(self, finished_at: datetime) -> NightlyRecord:
        built = [o for o in self.outcomes if o.action in BUILT]
        return NightlyRecord(
            night=self.night,
            started_at=self.started_at,
            finished_at=finished_at,
            links=self.links,
            frames_fetched=len(self.fetch.fetched),
            frames_failed=len(self.fetch.failed),
            masters_built=len(built),
            masters_valid=sum(bool(o.report and o.report.valid) for o in built),
            masters_promoted=sum(o.action == "promoted" for o in built),
            published=len(self.published),
            raw_deleted=sum(len(names) for names in self.raw_deleted.values()),
            outcome=self.outcome,
            failures=list(self.failures),
        )


def site_of(config: Config) -> Site:
    """The telescope's site of ``[site]``."""
    s = config.site
    return Site(s.name, s.latitude_deg, s.longitude_deg, s.elevation_m)


def due_at(config: Config, night: date) -> datetime:
    """When ``night``'s nightly run is due (UTC): the morning astronomical twilight at the
    site plus ``calibration.nightly.delay_h``."""
    return run_due_at(night, site_of(config), delay_h=config.calibration.nightly.delay_h)


def sync_failures(results: Mapping[str, IngestSummary | str]) -> list[str]:
    """The texts of the sources that failed and of the documents rejected in a links sync."""
    failures = []
    for name, result in results.items():
        if isinstance(result, str):
            failures.append(f"links source {name}: {result}")
        else:
            failures += [reason for _, reason in result.rejected]
    return failures


def fetch_night(
    stores: Stores,
    night: date,
    *,
    sync: bool = True,
    environ: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> tuple[int, FetchSummary, list[str]]:
    """The night's links read (after a sync of the sources when ``sync``) and its frames
    fetched into its raw folder.

    Returns
    -------
    tuple
        The number of links, the :class:`FetchSummary`, and the failures of the sync.
    """
    ws = stores.workspace
    failures = sync_failures(sync_links(ws, stores.cache, environ=environ)) if sync else []
    links = CalibrationLinks(stores.cache).of_night(night)
    folder = night_raw_folder(ws.root, ws.config.calibration, night)
    fetcher = FrameFetcher(folder, ws.config.calibration.nightly)
    return len(links), fetcher.fetch(links, progress=progress), failures


def run_nightly(
    stores: Stores,
    night: date,
    *,
    environ: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    notifier: Notifier | None = None,
    now: datetime | None = None,
) -> NightlyRun:
    """Fetch, run, publish and clean up one night, and record the run.

    Parameters
    ----------
    stores : Stores
    night : date
    environ : mapping, optional
        Where the CDB password is looked up (``os.environ`` by default).
    progress : callable(done, total), optional
        Told of the downloads.
    notifier : Notifier, optional
        Told of every invalid master and every expected master missing from a night that
        had calibration frames (default: the workspace's).
    now : datetime, optional
        Naive UTC time the retention counts from (tests); the clock by default.

    Returns
    -------
    NightlyRun
    """
    ws = stores.workspace
    config = ws.config.calibration
    sync = sync_failures(sync_links(ws, stores.cache, environ=environ))
    run = NightlyRun(night, started_at=utc_now(), failures=sync)
    run.links, run.fetch, _ = fetch_night(stores, night, sync=False, progress=progress)
    run.failures += [f"{name}: {reason}" for name, reason in run.fetch.failed]
    notifier = notifier or Notifier.from_workspace(ws)
    try:
        run.outcomes = run_night(
            stores.calibration,
            night,
            night_raw_folder(ws.root, config, night),
            config=config,
            reports_dir=ws.path(config.reports_dir),
            notifier=notifier,
        )
    except (OSError, ValueError) as exc:  # a store that cannot be written: recorded below
        run.failures.append(f"the night's run stopped: {exc}")
    run.failures += [f"{o.caltype} {o.instrument} {o.filter}: {o.detail}" for o in _failed(run)]
    if run.outcomes:
        _notify_missing(notifier, night, run.outcomes, config.expected)
    _publish(stores, run)
    runs = NightlyRuns(stores.cache)
    runs.record(run.record(utc_now()))
    run.raw_deleted = delete_kept_raw(stores, now=now or utc_now())
    return run


def _failed(run: NightlyRun) -> list[NightOutcome]:
    return [o for o in run.outcomes if o.action in ("no master", "unreadable")]


def _notify_missing(notifier: Notifier, night: date, outcomes, expected) -> None:
    """An invalid-master event for each series that gave no master and each one expected
    that did not come."""
    seen = {f"{o.instrument}/{o.filter}/{o.caltype}" for o in outcomes}
    for o in outcomes:
        if o.action == "no master":
            notifier.raise_event(
                "invalid_master",
                f"no {o.caltype} master of {o.instrument}/{o.filter}, night {night:%Y%m%d}: "
                f"{o.detail}",
            )
    for kind in expected:
        if kind not in seen:
            notifier.raise_event(
                "invalid_master", f"{kind} master missing, night {night:%Y%m%d}: no frames came"
            )


def _publish(stores: Stores, run: NightlyRun) -> None:
    nightly = stores.workspace.config.calibration.nightly
    if not nightly.publish_dir:
        return
    folder = Path(nightly.publish_dir)
    try:
        folder = folder if folder.is_absolute() else stores.workspace.path(nightly.publish_dir)
        run.published = publish_masters(stores.calibration, folder, nightly.publish_pattern)
    except (OSError, ValueError) as exc:
        run.failures.append(f"publish to {nightly.publish_dir}: {exc}")


def delete_kept_raw(stores: Stores, *, now: datetime) -> dict[date, list[str]]:
    """Delete the raw frames of the nights whose last run was done more than
    ``calibration.nightly.keep_raw_days`` days before ``now`` (naive UTC); 0 keeps them.

    Returns
    -------
    dict
        Night to the names deleted (nights with nothing left to delete are left out).
    """
    ws = stores.workspace
    days = ws.config.calibration.nightly.keep_raw_days
    if days <= 0:
        return {}
    deleted = {}
    for night in NightlyRuns(stores.cache).done_before(now - timedelta(days=days)):
        names = delete_raw_frames(night_raw_folder(ws.root, ws.config.calibration, night))
        if names:
            deleted[night] = names
    return deleted


def nights_due(
    stores: Stores, now: datetime, *, environ: Mapping[str, str] | None = None
) -> list[date]:
    """The nights whose nightly run should start at ``now`` (aware UTC), oldest first:
    those whose :func:`due_at` has passed and that were not run yet, or whose links arrived
    after their last run (the links sources are synced first).

    This is what the background process asks on each of its turns, and runs
    :func:`run_nightly` for each night returned.
    """
    sync_links(stores.workspace, stores.cache, environ=environ)
    config = stores.workspace.config
    return due_nights(
        now,
        NightlyRuns(stores.cache).last_started(),
        site=site_of(config),
        delay_h=config.calibration.nightly.delay_h,
        lookback_days=config.calibration.nightly.lookback_days,
        links_received=CalibrationLinks(stores.cache).received(),
    )


def run_due_nights(
    stores: Stores, *, now: datetime | None = None, environ: Mapping[str, str] | None = None
) -> list[NightlyRun]:
    """:func:`run_nightly` for every night :func:`nights_due` returns: the background
    process's call."""
    now = now or datetime.now(UTC)
    return [
        run_nightly(stores, night, environ=environ)
        for night in nights_due(stores, now, environ=environ)
    ]
