"""What needs attention now: one list of what someone should look at today, each item with
the page (and its query) where it is fixed.

The list joins every store: last night's calibration series that are invalid or missing,
the sensors that are stale or report an error code, the bursts of the last days without a
product, the products awaiting approval, the failed pushes, the packets in quarantine, the
nightly calibration runs that failed or did not run, and last night's frames outside the
``[quality]`` limits.
Each kind of item comes from a *producer*, a function ``(Look) -> list[AttentionItem]``
listed in :data:`PRODUCERS`; the producers query the stores and hand the tables to the
pure joins below (``*_items``), which the tests exercise on small frames. Use::

    found = attention(stores, now=datetime.now(UTC))
    found.to_dict()      # what `gic status attention --format json` prints
    found.items[0].link  # '/flat?instrument=DDRAGO1&filter=r&start=2026-11-30&end=2026-11-30'
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

from analysis.telemetry import describe_age
from data_access.alerts.bursts import BurstQueries
from data_access.calibration.nightly_runs import NightlyRuns
from data_access.config import AttentionConfig
from data_access.stores import Stores
from pipelines.calibration_nightly import due_at

log = logging.getLogger(__name__)

#: The severities, most urgent first: an item is listed in this order.
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")
#: Names of sensors a stale or erroring subsystem's sentence lists before "and N more".
NAMED_SENSORS = 3


@dataclass(frozen=True)
class AttentionItem:
    """One thing that needs someone.

    Attributes
    ----------
    kind : str
        What it is: ``invalid master``, ``missing master``, ``stale sensors``, ``sensor
        errors``, ``burst without products``, ``awaiting approval``, ``failed push``,
        ``quarantined packet``, ``nightly run failed``, ``missing night``, ``frames outside
        limits`` or ``check failed``.
    severity : str
        One of :data:`SEVERITIES`.
    sentence : str
        What is wrong, in words (plain text: a page escapes it).
    subject : str
        The object concerned: a burst ID, a kind of master (``DDRAGO1/r/flat 2026-11-30``),
        a subsystem, a product file, a packet file.
    page : str
        The slug of the page where it is fixed (``products``, ``flat``...).
    query : tuple of (str, str)
        That page's URL parameters showing it.
    """

    kind: str
    severity: str
    sentence: str
    subject: str
    page: str
    query: tuple[tuple[str, str], ...] = ()

    @property
    def link(self) -> str:
        """The page's address with its query, from the server's root (``/burst?id=sb…``)."""
        query = urllib.parse.urlencode(self.query)
        return f"/{self.page}" + (f"?{query}" if query else "")

    def to_dict(self) -> dict:
        """kind, severity, sentence, object and link, as the JSON gives them."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "sentence": self.sentence,
            "object": self.subject,
            "link": self.link,
        }


@dataclass(frozen=True)
class Look:
    """What a producer is given: the stores and the moment of the check (naive UTC)."""

    stores: Stores
    now: datetime

    @property
    def settings(self) -> AttentionConfig:
        return self.stores.workspace.config.attention


@dataclass(frozen=True)
class Attention:
    """The items found at ``checked_at`` (naive UTC), most urgent first."""

    checked_at: datetime
    items: tuple[AttentionItem, ...]

    def to_dict(self) -> dict:
        return {
            "checked_at": self.checked_at.isoformat(timespec="seconds"),
            "items": [item.to_dict() for item in self.items],
        }


Producer = Callable[[Look], list[AttentionItem]]


# -- the pure joins ---------------------------------------------------------------------
def master_items(grid: pd.DataFrame, night: date) -> list[AttentionItem]:
    """Items for the series of ``night`` whose verdict is ``invalid`` or ``missing``.

    Parameters
    ----------
    grid : DataFrame
        :meth:`CalibrationStore.completeness` (night, instrument, filter, caltype, verdict,
        report_id, problem).
    night : date
        The night looked at; the other nights of ``grid`` only say which kinds to expect.
    """
    items = []
    for row in grid[(grid["night"] == night) & (grid["verdict"] != "OK")].itertuples():
        name = f"{row.caltype} of {row.instrument} {row.filter}"
        if row.verdict == "missing":
            kind, severity = "missing master", "warning"
            sentence = f"No {name} series came the night of {night:%Y-%m-%d}."
        else:
            kind, severity = "invalid master", "error"
            why = (
                row.problem if isinstance(row.problem, str) and row.problem else "no master passed"
            )
            sentence = f"The {name} master of the night of {night:%Y-%m-%d} is invalid: {why}."
        query = (
            ("instrument", row.instrument),
            ("filter", row.filter),
            ("start", night.isoformat()),
            ("end", night.isoformat()),
        )
        subject = f"{row.instrument}/{row.filter}/{row.caltype} {night:%Y-%m-%d}"
        items.append(AttentionItem(kind, severity, sentence, subject, row.caltype, query))
    return items


def sensor_items(latest: pd.DataFrame) -> list[AttentionItem]:
    """One item per subsystem with stale sensors (one for all when every sensor is stale: the
    status files stopped coming), one per subsystem whose sensors' latest reading carries an
    error code.

    Parameters
    ----------
    latest : DataFrame
        :meth:`StatusStore.latest` (name, subsystem, error_code, age_s, stale).
    """
    every_stale = bool(len(latest)) and bool(latest["stale"].all())
    items = []
    if every_stale:
        sentence = f"Every sensor is stale ({_since(latest)}): the status files stopped coming."
        items.append(_sensor_item("stale sensors", "warning", sentence, ""))
    for subsystem, rows in latest.groupby("subsystem", sort=True):
        stale = rows[rows["stale"]]
        if len(stale) and not every_stale:
            sentence = (
                f"{len(stale)} of {len(rows)} {subsystem} sensors are stale ({_since(stale)}): "
                f"{_names(stale['name'])}."
            )
            items.append(_sensor_item("stale sensors", "warning", sentence, subsystem))
        erring = rows[rows["error_code"].fillna(0) != 0]
        if len(erring):
            codes = [
                f"{n} (code {int(c)})"
                for n, c in zip(erring["name"], erring["error_code"], strict=True)
            ]
            sentence = f"{len(erring)} {subsystem} sensors report an error code: {_names(codes)}."
            items.append(_sensor_item("sensor errors", "error", sentence, subsystem))
    return items


def _sensor_item(kind: str, severity: str, sentence: str, subsystem: str) -> AttentionItem:
    """An item to the Telemetry page's problems of ``subsystem`` ('': of every sensor)."""
    query = ((("subsystem", subsystem),) if subsystem else ()) + (("problems", "true"),)
    subject = subsystem or "every sensor"
    return AttentionItem(kind, severity, sentence, subject, "telemetry", query)


def _since(stale: pd.DataFrame) -> str:
    newest = stale["age_s"].min()
    return "never read" if pd.isna(newest) else f"newest reading {describe_age(newest)} ago"


def _names(names) -> str:
    names = [str(n) for n in names]
    more = len(names) - NAMED_SENSORS
    return ", ".join(names[:NAMED_SENSORS]) + (f" and {more} more" if more > 0 else "")


def bursts_without_products(
    bursts: pd.DataFrame, with_products: set[str], since: datetime
) -> pd.DataFrame:
    """The bursts of T0 (else first notice) at or after ``since`` that have no product,
    neither retracted nor tests.

    Parameters
    ----------
    bursts : DataFrame
        :meth:`BurstQueries.bursts` (burst_id, t0, first_received, retracted, test).
    with_products : set of str
        The bursts that have products.
    since : datetime
        Naive UTC.
    """
    t0 = pd.to_datetime(bursts["t0"].fillna(bursts["first_received"]), utc=True, format="mixed")
    return bursts[
        (t0.dt.tz_localize(None) >= pd.Timestamp(since))
        & ~bursts["retracted"].astype(bool)
        & ~bursts["test"].astype(bool)
        & ~bursts["burst_id"].isin(with_products)
    ]


def burst_items(recent: pd.DataFrame, folders: pd.DataFrame) -> list[AttentionItem]:
    """One item per burst of ``recent`` (:func:`bursts_without_products`): to the Reprocess
    page with the burst's frames when there are, else to the burst's dossier.

    Parameters
    ----------
    recent : DataFrame
        burst_id, t0.
    folders : DataFrame
        :meth:`ReprocessStore.folders` (path, burst_id).
    """
    frames = dict(zip(folders["burst_id"], folders["path"], strict=True))
    items = []
    for row in recent.itertuples():
        when = f"T0 {row.t0:%Y-%m-%d %H:%M} UTC" if pd.notna(row.t0) else "T0 unknown"
        if row.burst_id in frames:
            sentence = f"Burst {row.burst_id} ({when}) has frames and no product yet."
            page, query = "reprocess", (("folder", frames[row.burst_id]),)
        else:
            sentence = f"Burst {row.burst_id} ({when}) has no product and no frames here yet."
            page, query = "burst", (("id", row.burst_id),)
        items.append(
            AttentionItem("burst without products", "warning", sentence, row.burst_id, page, query)
        )
    return items


def approval_items(queue: pd.DataFrame) -> list[AttentionItem]:
    """One item per burst whose latest product versions are ``new`` (awaiting approval).

    Parameters
    ----------
    queue : DataFrame
        :meth:`ProductStore.queue` (burst_id, state, n_deviations).
    """
    waiting = queue[queue["state"] == "new"]
    items = []
    for burst_id, rows in waiting.groupby("burst_id", sort=True):
        deviating = int((rows["n_deviations"].fillna(0) > 0).sum())
        blocked = f" ({deviating} with deviations from their descriptor)" if deviating else ""
        sentence = f"{len(rows)} products of {burst_id} await approval{blocked}."
        query = (("burst", burst_id),)
        items.append(
            AttentionItem("awaiting approval", "info", sentence, burst_id, "products", query)
        )
    return items


def push_items(queue: pd.DataFrame) -> list[AttentionItem]:
    """One item per latest product version whose push failed.

    Parameters
    ----------
    queue : DataFrame
        :meth:`ProductStore.queue` (product_id, burst_id, card, version, file_name, state).
    """
    items = []
    for row in queue[queue["state"] == "push failed"].itertuples():
        sentence = f"The push of {row.card} v{row.version} of {row.burst_id} to the SDB failed."
        query = (("burst", row.burst_id), ("product", str(row.product_id)))
        items.append(
            AttentionItem("failed push", "error", sentence, row.file_name, "products", query)
        )
    return items


def quarantine_items(quarantined: pd.DataFrame) -> list[AttentionItem]:
    """One item per packet in quarantine.

    Parameters
    ----------
    quarantined : DataFrame
        :meth:`AlertStore.quarantined` (file, reason, source, received).
    """
    items = []
    for row in quarantined.itertuples():
        sentence = (
            f"A packet from {row.source or 'an unknown source'} received {row.received or '?'} "
            f"is in quarantine: {row.reason or 'no reason recorded'}."
        )
        name = Path(row.file).name
        items.append(AttentionItem("quarantined packet", "warning", sentence, name, "alerts"))
    return items


def nightly_items(latest: pd.DataFrame, not_run: list[date]) -> list[AttentionItem]:
    """One item per night whose last nightly calibration run failed or found no frames, and
    one per night whose run was due and never started; each to the bias page of that night
    (the nightly runs are listed under every calibration page).

    Parameters
    ----------
    latest : DataFrame
        The last run of each night looked at (night, outcome, failures: one text).
    not_run : list of date
        The nights whose run was due and has not started.
    """
    items = []
    for row in latest.itertuples():
        if row.outcome == "failures":
            severity, kind = "error", "nightly run failed"
            sentence = (
                f"The nightly calibration run of the night of {row.night:%Y-%m-%d} failed: "
                f"{row.failures or 'no reason recorded'}."
            )
        elif row.outcome == "no frames":
            severity, kind = "warning", "missing night"
            sentence = (
                f"No calibration frame came the night of {row.night:%Y-%m-%d}: no master was built."
            )
        else:
            continue
        items.append(_night_item(kind, severity, sentence, row.night))
    for night in not_run:
        sentence = f"The nightly calibration run of the night of {night:%Y-%m-%d} has not run."
        items.append(_night_item("missing night", "warning", sentence, night))
    return items


def _night_item(kind: str, severity: str, sentence: str, night: date) -> AttentionItem:
    query = (("start", night.isoformat()), ("end", night.isoformat()))
    return AttentionItem(kind, severity, sentence, f"{night:%Y-%m-%d}", "bias", query)


def quality_items(frames: pd.DataFrame, night: date) -> list[AttentionItem]:
    """One item per instrument and filter of ``night`` whose frames lie outside the
    ``[quality]`` limits, to the Night page of that night, instrument and filter.

    Parameters
    ----------
    frames : DataFrame
        :meth:`QualityStore.frames` (image_id, instrument, filter, outside).
    """
    items = []
    for (instrument, filter_), rows in frames.groupby(["instrument", "filter"], sort=True):
        outside = rows[rows["outside"].fillna("") != ""]
        if outside.empty:
            continue
        named = [f"{r.image_id} ({r.outside})" for r in outside.itertuples()]
        sentence = (
            f"{len(outside)} of {len(rows)} {instrument} {filter_} frames of the night of "
            f"{night:%Y-%m-%d} lie outside the [quality] limits: {_names(named)}."
        )
        query = (("night", f"{night:%Y%m%d}"), ("instrument", instrument), ("filter", filter_))
        subject = f"{instrument}/{filter_} {night:%Y-%m-%d}"
        items.append(
            AttentionItem("frames outside limits", "warning", sentence, subject, "night", query)
        )
    return items


# -- the producers: the stores' tables handed to the joins ------------------------------
def last_night(look: Look) -> date:
    """The night that ended last (as the calibration pages say it): the night before the
    one ``look.now`` belongs to."""
    return look.stores.calibration.night_of(look.now) - timedelta(days=1)


def masters_of_last_night(look: Look) -> list[AttentionItem]:
    night = last_night(look)
    first = night - timedelta(days=look.settings.master_nights)
    return master_items(look.stores.calibration.completeness(first, night), night)


def sensors_now(look: Look) -> list[AttentionItem]:
    stale_after = timedelta(minutes=look.stores.workspace.config.telemetry.stale_after_min)
    return sensor_items(look.stores.status.latest(stale_after=stale_after, now=look.now))


def recent_bursts(look: Look) -> list[AttentionItem]:
    alerts, stores = look.stores.alerts, look.stores
    bursts = BurstQueries(alerts.cache, alerts.triggers_dir).bursts(include_tests=False)
    since = look.now - timedelta(days=look.settings.burst_days)
    recent = bursts_without_products(bursts, set(stores.products.bursts()["burst_id"]), since)
    return burst_items(recent, stores.reprocess.folders()) if len(recent) else []


def products_to_approve(look: Look) -> list[AttentionItem]:
    return approval_items(look.stores.products.queue())


def failed_pushes(look: Look) -> list[AttentionItem]:
    return push_items(look.stores.products.queue())


def packets_in_quarantine(look: Look) -> list[AttentionItem]:
    return quarantine_items(look.stores.alerts.quarantined())


def nightly_runs(look: Look) -> list[AttentionItem]:
    """The nightly runs of the nights the background work still considers
    (``[calibration.nightly] lookback_days``, up to last night). A night not run is listed
    only once the workspace has nightly runs (one that never had any does not run them)."""
    config = look.stores.workspace.config
    night = last_night(look)
    nights = [night - timedelta(days=k) for k in range(config.calibration.nightly.lookback_days)]
    runs = NightlyRuns(look.stores.cache).table(limit=10 * len(nights) + 10)
    runs["night"] = pd.to_datetime(runs["night"]).dt.date
    latest = runs[runs["night"].isin(nights)].drop_duplicates("night")  # newest first
    now = look.now.replace(tzinfo=UTC)
    run = set(latest["night"])
    due = [n for n in sorted(nights) if n not in run and due_at(config, n) <= now]
    return nightly_items(latest.sort_values("night"), due if len(runs) else [])


def frames_of_last_night(look: Look) -> list[AttentionItem]:
    night = last_night(look)
    return quality_items(look.stores.quality.frames(night), night)


#: Every producer of items, in the order their items are listed within one severity. A new
#: check is a function ``(Look) -> list[AttentionItem]`` added to this list.
PRODUCERS: list[Producer] = [
    masters_of_last_night,
    sensors_now,
    recent_bursts,
    products_to_approve,
    failed_pushes,
    packets_in_quarantine,
    nightly_runs,
    frames_of_last_night,
]


def attention(
    stores: Stores, *, now: datetime, producers: list[Producer] | None = None
) -> Attention:
    """Everything that needs attention at ``now``, most urgent first.

    Parameters
    ----------
    stores : Stores
    now : datetime
        The moment of the check (aware, or naive UTC).
    producers : list of Producer, optional
        The checks made; :data:`PRODUCERS` by default.

    Returns
    -------
    Attention
        A check that fails (its store unreadable, say) is one ``check failed`` item
        naming the check and its error, so that the other items are still listed.
    """
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    look = Look(stores, now)
    items = [item for producer in producers or PRODUCERS for item in _produced(producer, look)]
    items.sort(key=lambda item: SEVERITIES.index(item.severity))
    return Attention(now, tuple(items))


def _produced(producer: Producer, look: Look) -> list[AttentionItem]:
    name = producer.__name__.replace("_", " ")
    try:
        return producer(look)
    except Exception as exc:  # shown as an item: the other checks still speak
        log.exception("attention check %r failed", name)
        sentence = f"The check of {name} failed: {exc}"
        return [AttentionItem("check failed", "error", sentence, name, "")]
