"""Alerts by burst: one row per burst, a burst's notices newest first, the packets without a burst.

A burst's best current position is the one with the smallest real error radius among its
notices (an error of 0 or less, or none, means the notice gives no usable position; a
retraction never gives one), with the instrument that gave it. The latency of a notice is
the time from its T0 to its arrival, and from its arrival to the trigger file written for it
(read from the triggers folder's write log, :mod:`data_access.alerts.trigger_extras`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
from astropy.time import Time

from analysis.observability import Site, observability
from data_access.alerts.trigger_extras import read_trigger_writes
from data_access.cache import Cache

_RETRACTED_IVORNS = "SELECT cited_ivorn FROM alert_citation WHERE cite = 'retraction'"
_POSITIONED = "a.error_deg > 0 AND a.ra IS NOT NULL AND a.dec IS NOT NULL AND NOT a.retraction"
_BURSTS = f"""
    SELECT a.burst_id,
           arg_min(a.t0, coalesce(a.packet_date, a.received_at))
               FILTER (WHERE a.t0 IS NOT NULL) AS t0,
           arg_min(a.ra, a.error_deg) FILTER (WHERE {_POSITIONED}) AS ra,
           arg_min(a.dec, a.error_deg) FILTER (WHERE {_POSITIONED}) AS dec,
           min(a.error_deg) FILTER (WHERE {_POSITIONED}) AS error_deg,
           arg_min(a.instrument, a.error_deg) FILTER (WHERE {_POSITIONED}) AS best_instrument,
           string_agg(DISTINCT a.instrument, ', ' ORDER BY a.instrument) AS instruments,
           count(*) AS notices,
           coalesce(bool_or(a.retraction OR a.ivorn IN ({_RETRACTED_IVORNS})), FALSE)
               AS retracted,
           bool_and(a.role = 'test') AS test,
           min(a.received_at) AS first_received,
           max(a.received_at) AS last_received
    FROM alert a WHERE a.burst_id IS NOT NULL
    GROUP BY a.burst_id
"""


class BurstQueries:
    """The alerts of the cache read by burst.

    Parameters
    ----------
    cache : Cache
    triggers_dir : Path
        Folder of the trigger files and of their write log.
    """

    def __init__(self, cache: Cache, triggers_dir: Path) -> None:
        self.cache = cache
        self.triggers_dir = Path(triggers_dir)

    def bursts(self, *, include_tests: bool = True) -> pd.DataFrame:
        """One row per burst, newest T0 first.

        Columns: burst_id, t0 (UTC; the first notice's), ra, dec, error_deg (deg; the best
        current position, NaN when no notice gives one), best_instrument (the instrument that
        gave it), instruments (every instrument, comma-separated), notices, retracted, test
        (every notice is a test), first_received, last_received.
        """
        where = "" if include_tests else "WHERE NOT test"
        return self.cache.query_df(
            f"SELECT * FROM ({_BURSTS}) {where} "
            "ORDER BY coalesce(t0, first_received) DESC, burst_id DESC"
        )

    def burst(self, burst_id: str) -> dict | None:
        """One row of :meth:`bursts` as a dict; None if no notice names the burst."""
        frame = self.cache.query_df(f"SELECT * FROM ({_BURSTS}) WHERE burst_id = ?", [burst_id])
        return None if frame.empty else frame.iloc[0].to_dict()

    def notices(self, burst_id: str) -> pd.DataFrame:
        """A burst's notices, newest first (by arrival), with their latency.

        Columns: ivorn, received_at, packet_date, t0, instrument, packet_type, role, ra, dec,
        error_deg, retraction, t0_to_arrival_s (from the notice's T0, else the burst's, to its
        arrival), trigger_written (when the trigger file was written for it; NaT when the
        notice did not change the file) and arrival_to_trigger_s.
        """
        frame = self.cache.query_df(
            """
            SELECT a.ivorn, a.received_at, a.packet_date,
                   coalesce(a.t0, min(a.t0) OVER ()) AS t0, a.instrument, a.packet_type,
                   a.role, a.ra, a.dec, a.error_deg, a.retraction
            FROM alert a WHERE a.burst_id = ?
            ORDER BY a.received_at DESC, a.packet_date DESC NULLS LAST, a.ivorn
            """,
            [burst_id],
        )
        frame["t0_to_arrival_s"] = (frame["received_at"] - frame["t0"]).dt.total_seconds()
        written = read_trigger_writes(self.triggers_dir)
        frame["trigger_written"] = pd.to_datetime(frame["ivorn"].map(written))
        frame["arrival_to_trigger_s"] = (
            frame["trigger_written"] - frame["received_at"]
        ).dt.total_seconds()
        return frame

    def unassigned(self, *, include_tests: bool = True) -> pd.DataFrame:
        """The packets without a burst ID (a gravitational-wave alert, a GCN test), newest
        first: ivorn, event_id, role, t0, mission, instrument, ra, dec, error_deg,
        packet_type, packet_date, received_at, retraction, test."""
        tests = "" if include_tests else "AND a.role <> 'test'"
        return self.cache.query_df(
            f"""
            SELECT a.ivorn, a.event_id, a.role, a.t0, a.mission, a.instrument, a.ra, a.dec,
                   a.error_deg, a.packet_type, a.packet_date, a.received_at, a.retraction,
                   a.role = 'test' AS test
            FROM alert a WHERE a.burst_id IS NULL {tests}
            ORDER BY coalesce(a.packet_date, a.received_at) DESC, a.received_at DESC, a.ivorn
            """
        )

    def report(self, burst_id: str, *, site: Site, at: datetime) -> dict | None:
        """Everything known of one burst, JSON-ready (times in ISO UTC, NaN as None): the
        row of :meth:`bursts`, the seconds from T0 to ``at`` (``since_t0_s``), its notices
        newest first with their latency (``packets``) and its observability from ``site`` at
        ``at`` (None without a position); None if unknown."""
        burst = self.burst(burst_id)
        if burst is None:
            return None
        notices, now = self.notices(burst_id), utc_time(at)
        seen = None
        if not pd.isna(burst["ra"]):
            seen = observability(site, burst["ra"], burst["dec"], now).to_dict()
        return {
            **{key: _plain(value) for key, value in burst.items()},
            "since_t0_s": _plain((pd.Timestamp(now.datetime) - burst["t0"]).total_seconds()),
            "site": site.name,
            "observability": seen,
            "packets": [
                {key: _plain(value) for key, value in row.items()}
                for row in notices.to_dict("records")
            ],
        }


def utc_time(moment: datetime) -> Time:
    """An astropy UTC :class:`~astropy.time.Time` of a datetime (naive ones are UTC)."""
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return Time(stamp.to_pydatetime(), scale="utc")


def _plain(value):
    """A cell as JSON wants it: a time in ISO UTC, NaN/NaT as None, numpy scalars as Python's."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.item() if hasattr(value, "item") else value
