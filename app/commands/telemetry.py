"""Telemetry commands: ``gic ingest status``, ``gic ingest rejected``, ``gic sync status``,
``gic status latest`` and ``gic status series``."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import pandas as pd

from analysis.telemetry import parse_duration
from app.commands.common import UsageError, open_workspace, progress_bar, write_frame
from data_access.stores import Stores
from data_access.telemetry.store import IngestSummary, documents_in


def register(subparsers, groups) -> None:
    ingest = groups["ingest"].add_parser(
        "status",
        help="ingest status JSON files or folders",
        description="Ingest status files (a JSON list of 15-field records each). Every good "
        "file goes in; each rejected file is reported on stderr with the reason. Exit 1 if any "
        "file was rejected, 0 otherwise (also when everything was already ingested).",
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="status files or folders")
    ingest.set_defaults(handler=ingest_status)

    rejected = groups["ingest"].add_parser(
        "rejected",
        help="list the rejected files with their reasons",
        description="The status files the cache rejected, newest first, with their reasons.",
    )
    rejected.add_argument("--format", choices=["json", "csv", "table"], default="table")
    rejected.set_defaults(handler=list_rejected)

    sync = groups["sync"].add_parser(
        "status",
        help="ingest what is new in every configured status source",
        description="Ingest what is new in the drop folder and the configured CDB sources "
        "(PostgreSQL, HTTP). Exit 1 if a source failed or a file was rejected.",
    )
    sync.set_defaults(handler=sync_status)

    latest = groups["status"].add_parser(
        "latest",
        help="the latest reading of every sensor",
        description="The latest reading of every sensor with its age in seconds; a sensor "
        "is stale when older than [telemetry] stale_after_min.",
    )
    latest.add_argument("--format", choices=["json", "csv", "table"], default="table")
    latest.set_defaults(handler=status_latest)

    series = groups["status"].add_parser(
        "series",
        help="one numeric sensor aggregated in time buckets",
        description="min, mean, max and count of one numeric sensor's readings per bucket. "
        "Buckets start on multiples of --every (1h buckets start on the hour); readings "
        "carrying an error code are left out. CSV columns: bucket_start,min,mean,max,count.",
    )
    series.add_argument("--sensor", required=True, help="the sensor's name")
    series.add_argument("--start", required=True, help="ISO time, UTC unless it says otherwise")
    series.add_argument("--end", required=True, help="ISO time (excluded)")
    series.add_argument("--every", default="1h", help="bucket width: 30s, 5min, 1h, 1d, 1w")
    series.add_argument("--format", choices=["csv", "json"], default="csv")
    series.set_defaults(handler=status_series)


def _report_rejections(summary: IngestSummary) -> bool:
    """Print each rejected file's reason on stderr; True if there was any."""
    for _, reason in summary.rejected:
        print(f"rejected: {reason}", file=sys.stderr)
    return bool(summary.rejected)


def ingest_status(args) -> int:
    documents = documents_in(args.paths)
    stores = Stores(open_workspace(args))
    try:
        with progress_bar("ingesting status files") as progress:
            summary = stores.status.ingest(documents, progress=progress)
    finally:
        stores.close()
    print(summary.describe())
    return 1 if _report_rejections(summary) else 0


def list_rejected(args) -> int:
    stores = Stores(open_workspace(args), read_only=True)
    try:
        write_frame(stores.status.rejected(), args.format)
    finally:
        stores.close()
    return 0


def sync_status(args) -> int:
    from data_access.telemetry.sources import sync_status as sync_all_sources

    stores = Stores(open_workspace(args))
    try:
        results = sync_all_sources(stores)
    finally:
        stores.close()
    failed = False
    for source, result in results.items():
        if isinstance(result, IngestSummary):
            print(f"{source}: {result.describe()}")
            failed |= _report_rejections(result)
        else:
            print(f"{source}: failed: {result}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


def status_latest(args) -> int:
    ws = open_workspace(args)
    stores = Stores(ws, read_only=True)
    try:
        stale = timedelta(minutes=ws.config.telemetry.stale_after_min)
        frame = stores.status.latest(stale_after=stale)
    finally:
        stores.close()
    write_frame(frame, args.format)
    return 0


def parse_time(text: str, option: str) -> datetime:
    """An ISO time from the command line, as UTC."""
    try:
        moment = pd.Timestamp(text)
    except ValueError as exc:
        raise UsageError(f"{option} '{text}' is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        moment = moment.tz_localize(UTC)
    return moment.to_pydatetime()


def status_series(args) -> int:
    start, end = parse_time(args.start, "--start"), parse_time(args.end, "--end")
    if end <= start:
        raise UsageError(f"--end {args.end} is not after --start {args.start}")
    try:
        every = parse_duration(args.every)
    except ValueError as exc:
        raise UsageError(f"--every: {exc}") from exc
    stores = Stores(open_workspace(args), read_only=True)
    try:
        frame = stores.status.series([args.sensor], start, end, every)
    finally:
        stores.close()
    write_frame(frame[["bucket_start", "min", "mean", "max", "count"]], args.format)
    return 0
