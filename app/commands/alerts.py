"""Alert commands: ``gic alerts ingest|list|show|quarantined|operations|listen|kafka``,
``gic sync alerts``, ``gic watch``, and the ``gic-alert-handler`` script Comet runs.

``gic-alert-handler`` (:func:`handle_alert`) is what Comet's ``--cmd`` runs for every packet:
it takes no arguments, reads the packet on stdin and the workspace from ``GIC_WORKSPACE``,
and does what ``gic alerts ingest`` does::

    GIC_WORKSPACE=/path/to/ws twistd -n comet --local-ivo=ivo://svom/colibri --receive \\
        --receive-port=8099 --cmd=$(which gic-alert-handler)

Its exit code is 0 for any well-formed packet (with or without a burst ID, stored in the
cache or, while the cache cannot be reached, spooled for the next sync: see
:mod:`data_access.alerts.receive`), 1 for a malformed or hostile one (quarantined), 2 when
``GIC_WORKSPACE`` is not set.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from analysis.voevent import BURST_ID_PATTERN
from app.alert_handler import main as alert_handler_main
from app.alert_handler import receive_stdin
from app.commands.common import UsageError, open_workspace, print_json, read_report, write_frame
from data_access.alerts.receive import receive_operations_message, receive_packet
from data_access.stores import Stores
from data_access.workspace import Workspace

LIST_COLUMNS = [
    "ivorn",
    "role",
    "burst_id",
    "t0",
    "ra",
    "dec",
    "error_deg",
    "mission",
    "instrument",
    "packet_type",
    "retraction",
    "retracted",
    "received_at",
]


def register(subparsers, groups) -> None:
    alerts = subparsers.add_parser(
        "alerts",
        help="VOEvent alerts: ingest, list, receive through Comet or GCN Kafka",
        description="VOEvent alerts into trigger files and the cache.",
    )
    what = alerts.add_subparsers(dest="what", metavar="WHAT", required=True)

    ingest = what.add_parser(
        "ingest",
        help="store alert packets, VOEvent or GCN JSON (one on stdin, or files and folders)",
        description="Store one packet read on stdin (what gic-alert-handler does for Comet), "
        "or the packets of the given files and folders (every file of a folder but hidden "
        "ones, which are listed as skipped). A packet with an SVOM burst ID writes "
        "trigger_<burstid>.dat. Exit 0 when every packet was well formed, 1 when one was "
        "malformed, hostile, neither XML nor JSON, or an ivorn seen before with other content "
        "(it is kept in the quarantine folder with the reason, and named on stderr).",
    )
    ingest.add_argument("paths", nargs="*", metavar="PATH", help="packet files or folders")
    ingest.set_defaults(handler=ingest_alerts)

    listing = what.add_parser(
        "list",
        help="alerts newest first",
        description="Alerts newest first (by packet date). JSON: a list of objects with ivorn, "
        "role, burst_id (null when none), t0, ra, dec, error_deg (deg), mission, instrument, "
        "packet_type, retraction (the packet retracts others), retracted, received_at.",
    )
    listing.add_argument("--format", choices=["json", "csv", "table"], default="table")
    listing.add_argument("--limit", type=int, default=None, help="at most this many alerts")
    listing.add_argument("--burst", default=None, metavar="BURST_ID", help="only this burst")
    listing.set_defaults(handler=list_alerts)

    show = what.add_parser(
        "show",
        help="one alert with every Param and the raw XML, or one burst: its notices with their "
        "latency and its observability from the site",
    )
    show.add_argument("ivorn", metavar="IVORN_OR_BURST_ID")
    show.add_argument("--format", choices=["json"], default="json", help="output format")
    show.add_argument("--xml", action="store_true", help="print only the raw XML")
    show.set_defaults(handler=show_alert)

    quarantined = what.add_parser("quarantined", help="packets kept in quarantine, with reasons")
    quarantined.add_argument("--format", choices=["json", "csv", "table"], default="table")
    quarantined.set_defaults(handler=list_quarantined)

    operations = what.add_parser("operations", help="the NATS operations feed, newest first")
    operations.add_argument("--format", choices=["json", "csv", "table"], default="table")
    operations.add_argument("--limit", type=int, default=200)
    operations.set_defaults(handler=list_operations)

    listen = what.add_parser(
        "listen",
        help="run the Comet broker, handing every packet to gic-alert-handler",
        description="Start `twistd -n comet`: receive packets on [alerts.comet] receive_port "
        "and/or subscribe to a remote broker; Comet's ivorn database and saved packets stay "
        "in the workspace. Runs until interrupted.",
    )
    listen.add_argument(
        "--remote",
        default=None,
        metavar="HOST:PORT",
        help="subscribe to this broker (default: [alerts.comet] remote)",
    )
    listen.add_argument("--port", type=int, default=None, help="port to receive packets on")
    listen.add_argument(
        "--no-receive",
        action="store_true",
        help="only subscribe to the remote broker; do not receive locally",
    )
    listen.add_argument("--dry-run", action="store_true", help="print the command, run nothing")
    listen.set_defaults(handler=listen_comet)

    kafka = what.add_parser(
        "kafka",
        help="consume SVOM VOEvents and GCN JSON notices from GCN Kafka",
        description="Consume the [alerts.kafka] topics and json_topics in the configured "
        "consumer group; each packet's offset is committed only once it is stored (or "
        "quarantined). Secret from the environment variable named by [alerts.kafka] "
        "client_secret_env; with [alerts.kafka] bootstrap_servers set, that broker is read "
        "without credentials.",
    )
    kafka.add_argument("--since", default=None, help="replay from this ISO date (UTC)")
    kafka.add_argument("--max-messages", type=int, default=None)
    kafka.set_defaults(handler=consume_kafka)

    sync = groups["sync"].add_parser(
        "alerts", help="store the packets and messages spooled while the cache could not be reached"
    )
    sync.set_defaults(handler=sync_alerts)

    watch = subparsers.add_parser(
        "watch",
        help="record the NATS operations feed in the cache",
        description="Subscribe to the [alerts.nats] subjects and record every message; "
        "reconnects when the server goes away; a malformed message is logged and recorded "
        "with its error. Runs until interrupted.",
    )
    watch.add_argument("--url", default=None, help="NATS server (default: [alerts.nats] url)")
    watch.add_argument(
        "--subject",
        action="append",
        default=None,
        help="subject to watch (repeatable; default: [alerts.nats] subjects)",
    )
    watch.set_defaults(handler=watch_nats)


# -- packets ------------------------------------------------------------------------------
def _receive_stdin(workspace: Workspace, source: str) -> int:
    return receive_stdin(workspace.root, source)


def _packet_files(paths: list[str]) -> tuple[list[Path], list[str]]:
    """The files to ingest (every file of a folder, whatever its name: one that is no packet
    is quarantined with the reason), and one line per file of a folder left out (hidden)."""
    files, skipped = [], []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            for found in sorted(p for p in path.rglob("*") if p.is_file()):
                if any(part.startswith(".") for part in found.relative_to(path).parts):
                    skipped.append(f"{found}: hidden file, not read")
                else:
                    files.append(found)
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return files, skipped


def ingest_alerts(args) -> int:
    workspace = open_workspace(args)
    if not args.paths:
        return _receive_stdin(workspace, "stdin")
    files, skipped = _packet_files(args.paths)
    stores = Stores(workspace)
    try:
        receipts, refused = stores.alerts.store_files(files)
    finally:
        stores.close()
    new = sum(r.stored for r in receipts)
    triggers = len({r.trigger_file for r in receipts if r.trigger_file})
    print(
        f"{new} stored, {len(receipts) - new} duplicates, {len(refused)} quarantined, "
        f"{len(skipped)} skipped; {triggers} trigger files"
    )
    for line in refused:
        print(f"quarantined: {line}", file=sys.stderr)
    for line in skipped:
        print(f"skipped: {line}", file=sys.stderr)
    return 1 if refused else 0


def handle_alert() -> int:
    """``gic-alert-handler``: the same as :func:`app.alert_handler.main` (prefer that one as
    the console script's entry point: importing this module loads every ``gic`` command)."""
    return alert_handler_main()


# -- reading ------------------------------------------------------------------------------
def list_alerts(args) -> int:
    stores = Stores(open_workspace(args), read_only=True)
    try:
        frame = stores.alerts.alerts(limit=args.limit, burst_id=args.burst)
    finally:
        stores.close()
    if args.format == "json":
        frame = frame[
            LIST_COLUMNS + ["event_id", "author", "packet_date", "source", "duplicates", "test"]
        ].copy()
        for column in ("t0", "packet_date", "received_at"):  # keep the milliseconds of T0
            iso = frame[column].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3]
            frame[column] = iso.astype(object).where(frame[column].notna(), None)
    else:
        frame = frame[LIST_COLUMNS]
    write_frame(frame, args.format)
    return 0


def show_alert(args) -> int:
    if BURST_ID_PATTERN.match(args.ivorn):
        return show_burst(args, args.ivorn)
    detail = read_report(
        args,
        lambda stores: stores.alerts.alert(args.ivorn),
        missing=f"no alert with ivorn {args.ivorn!r} in the cache",
    )
    if args.xml:
        print(detail["raw_xml"])
    else:
        print_json(detail, default=str)
    return 0


def show_burst(args, burst_id: str) -> int:
    """Print a burst's report (:meth:`BurstQueries.report`) as JSON, seen from now."""
    from data_access.alerts.bursts import BurstQueries
    from data_access.alerts.trigger_extras import telescope_site

    def burst_report(stores: Stores) -> dict | None:
        alerts = stores.alerts
        site = telescope_site(stores.workspace.config.site)
        queries = BurstQueries(alerts.cache, alerts.triggers_dir)
        return queries.report(burst_id, site=site, at=datetime.now(UTC))

    missing = f"no notice names burst {burst_id!r} in the cache"
    print_json(read_report(args, burst_report, missing=missing))
    return 0


def list_quarantined(args) -> int:
    stores = Stores(open_workspace(args), read_only=True)
    try:
        write_frame(stores.alerts.quarantined(), args.format)
    finally:
        stores.close()
    return 0


def list_operations(args) -> int:
    stores = Stores(open_workspace(args), read_only=True)
    try:
        write_frame(stores.alerts.operations_messages(limit=args.limit), args.format)
    finally:
        stores.close()
    return 0


def sync_alerts(args) -> int:
    stores = Stores(open_workspace(args))
    try:
        summary = stores.alerts.ingest_spool()
    finally:
        stores.close()
    print(summary.describe())
    return 0


# -- sources ------------------------------------------------------------------------------
def listen_comet(args) -> int:
    from data_access.alerts.sources import comet_command

    workspace = open_workspace(args)
    command = comet_command(
        workspace, remote=args.remote, receive=not args.no_receive, receive_port=args.port
    )
    print(" ".join(command), file=sys.stderr)
    if args.dry_run:
        return 0
    env = {**os.environ, "GIC_WORKSPACE": str(workspace.root)}
    return subprocess.run(command, env=env, check=False).returncode


def consume_kafka(args) -> int:
    from data_access.alerts.sources import (
        consume_alerts,
        kafka_topics,
        open_kafka_consumer,
        replay_from,
    )

    workspace = open_workspace(args)
    settings = workspace.config.alerts.kafka
    consumer = open_kafka_consumer(settings, os.environ.get(settings.client_secret_env, ""))
    if args.since:
        replay_from(consumer, kafka_topics(settings), datetime.fromisoformat(args.since))
    else:
        consumer.subscribe(kafka_topics(settings))
    try:
        summary = consume_alerts(
            consumer,
            lambda packet, source: receive_packet(workspace, packet, source=source),
            max_messages=args.max_messages,
        )
    finally:
        consumer.close()
    print(f"{summary.received} packets, {summary.quarantined} quarantined")
    if summary.errors:
        print(
            f"kafka: {len(summary.errors)} broker errors, the last: {summary.errors[-1]}",
            file=sys.stderr,
        )
    return 0


def watch_nats(args) -> int:
    from data_access.alerts.sources import watch_operations
    from data_access.gp2.burst_frames import request_sync

    logging.basicConfig(level=logging.INFO, format="gic watch: %(message)s")
    workspace = open_workspace(args)
    settings = workspace.config.alerts.nats
    url = args.url or settings.url
    subjects = args.subject or list(settings.subjects)
    if not url:
        raise UsageError("no NATS server: set [alerts.nats] url in gic.toml or give --url")
    input_dir = workspace.path(workspace.config.gp2.input_dir)

    def on_message(subject: str, data: bytes) -> None:
        message = receive_operations_message(workspace, subject, data)
        if message.burst_id and not message.error:  # the sync of its frames, by the server
            request_sync(input_dir, message.burst_id, reason=f"NATS {subject}")
        state = (
            f"malformed: {message.error}"
            if message.error
            else (f"burst {message.burst_id}" if message.burst_id else "recorded")
        )
        print(f"{subject}: {state}", flush=True)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await watch_operations(
            url, subjects, on_message, stop=stop, credentials_file=settings.credentials_file or None
        )

    asyncio.run(run())
    return 0
