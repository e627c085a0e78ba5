"""Calibration commands: ``gic calib build|validate|run|certify|impact|trend|grid``,
``gic ingest calibration`` and ``gic sync calibration``.

In the module style of the design notes: ``--input/-s`` (folder or file list),
``--output/-r``, ``--config/-c``. ``build`` and ``validate`` work on files alone
(no workspace); ``run``, ``certify``, ``trend``, ``grid`` and ``ingest`` use the workspace.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import sys
from datetime import date, datetime
from pathlib import Path

from app.commands.common import UsageError, open_workspace, progress_bar, write_frame
from data_access.calibration.store import CalibrationStoreError
from data_access.config import CalibrationConfig, load_config
from data_access.fits_frames import write_master
from data_access.notifications import Notifier
from data_access.stores import Stores
from pipelines.calibration_night import build_from_files, run_night, validate_files, write_report
from pipelines.calibration_nightly import fetch_night, run_nightly
from pipelines.master_impact import describe_impact, master_impact, queue_reprocessing
from pipelines.reprocess_queue import run_queued

TYPES = ("bias", "dark", "flat")


def register(subparsers, groups) -> None:
    calib = subparsers.add_parser(
        "calib",
        help="build, validate and promote calibration masters",
        description="Master bias, dark and flat: build, validate against the reference, run "
        "a night's procedure, certify a verdict by hand, and query trends and completeness.",
    )
    what = calib.add_subparsers(dest="what", metavar="WHAT", required=True)
    build = what.add_parser(
        "build",
        help="build a master from raw frames",
        description="Combine raw frames (median by default) into a master. Frames that fail "
        "the checks are left out and listed on stderr; too few good frames is an error.",
    )
    build.add_argument("--type", required=True, choices=TYPES)
    build.add_argument(
        "--input",
        "-s",
        nargs="+",
        required=True,
        metavar="PATH",
        help="raw frames (.fits, .fits.fz) or folders of them",
    )
    build.add_argument("--output", "-r", required=True, metavar="MASTER.fits")
    build.add_argument("--bias", metavar="MASTER", help="master bias (darks and flats)")
    build.add_argument("--dark", metavar="MASTER", help="master dark (flats)")
    build.add_argument("--config", "-c", metavar="FILE", help="a gic.toml ([calibration])")
    build.set_defaults(handler=calib_build)

    validate = what.add_parser(
        "validate",
        help="compare a candidate master with the reference",
        description="Write the report (the notes' JSON) and print the verdict. Exit 0 whether "
        "the candidate is valid or not; 2 with a message when an input cannot be used.",
    )
    validate.add_argument("--candidate", required=True, metavar="FILE")
    validate.add_argument("--reference", required=True, metavar="FILE")
    validate.add_argument("--json", required=True, metavar="REPORT.json")
    validate.add_argument("--config", "-c", metavar="FILE", help="a gic.toml ([calibration])")
    validate.set_defaults(handler=calib_validate)

    run = what.add_parser(
        "run",
        help="the daily procedure for one night",
        description="For every instrument, filter and type in the night's raw folder: build a "
        "candidate, check it, compare it with the master in force and promote it by the cuts. "
        "Reports go into the cache. Nothing found: nothing done.",
    )
    run.add_argument("--night", required=True, metavar="YYYYMMDD")
    run.add_argument("--force", action="store_true", help="build again what was already built")
    run.set_defaults(handler=calib_run)

    fetch = what.add_parser(
        "fetch",
        help="bring a night's calibration frames from the CDB",
        description="Read the CDB's calibration links (drop folder, cdb.postgres, "
        "calibration.nightly.links_url) and download the night's frames into its raw folder, "
        "checking size and checksum; frames already there are skipped. Exit 1 if a frame "
        "could not be had (the others are fetched).",
    )
    fetch.add_argument("--night", required=True, metavar="YYYYMMDD")
    fetch.set_defaults(handler=calib_fetch)

    nightly = what.add_parser(
        "nightly",
        help="the whole nightly run: fetch, run, publish, clean up",
        description="Fetch the night's frames, run the night (build, check, validate, "
        "promote), publish the masters in force for GP1 and delete the raw frames kept long "
        "enough; the run is recorded. A night without frames does nothing (exit 0). Exit 1 "
        "if anything failed.",
    )
    nightly.add_argument("--night", required=True, metavar="YYYYMMDD")
    nightly.set_defaults(handler=calib_nightly)

    certify = what.add_parser(
        "certify",
        help="certify a report's verdict by hand",
        description="Mark a master good (promotes it) or bad (demotes it), with a comment; "
        "the automatic verdict is kept beside it.",
    )
    certify.add_argument("--report", type=int, required=True, metavar="ID")
    verdict = certify.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--good", action="store_true")
    verdict.add_argument("--bad", action="store_true")
    certify.add_argument("--comment", required=True)
    certify.add_argument("--user", default=None, help="default: the login name")
    certify.set_defaults(handler=calib_certify)

    impact = what.add_parser(
        "impact",
        help="the GP2 runs and product versions that used a master",
        description="What a master served: the runs that used it, the product versions built "
        "from them (with their warning when the master is bad) and the reprocessing asked "
        "for; --queue asks for every such run to be done again with the masters in force; "
        "--run-queued (no MASTER) runs every request queued, one after the other.",
    )
    impact.add_argument("master", metavar="MASTER", nargs="?", help="the master's id or file name")
    impact.add_argument("--queue", action="store_true", help="queue the runs' reprocessing")
    impact.add_argument(
        "--run-queued", action="store_true", help="run the reprocessing queued (all masters)"
    )
    impact.add_argument("--user", default=None, help="default: the login name")
    impact.add_argument("--format", choices=["json", "text"], default="text")
    impact.set_defaults(handler=calib_impact)

    trend = what.add_parser("trend", help="reports of one type over time")
    trend.add_argument("--type", required=True, choices=TYPES)
    trend.add_argument("--instrument")
    trend.add_argument("--filter")
    trend.add_argument("--start", help="ISO time, UTC")
    trend.add_argument("--end", help="ISO time, UTC (excluded)")
    trend.add_argument("--format", choices=["json", "csv", "table"], default="table")
    trend.set_defaults(handler=calib_trend)

    grid = what.add_parser("grid", help="completeness: night x instrument x filter x type")
    grid.add_argument("--first", required=True, metavar="YYYYMMDD")
    grid.add_argument("--last", required=True, metavar="YYYYMMDD")
    grid.add_argument("--type", choices=TYPES)
    grid.add_argument("--format", choices=["json", "csv", "table"], default="table")
    grid.set_defaults(handler=calib_grid)

    ingest = groups["ingest"].add_parser(
        "calibration",
        help="ingest calibration report JSON files",
        description="Put validation reports (the notes' JSON, e.g. from TCS through the CDB) "
        "into the cache; the same file twice adds nothing. Exit 1 if any file was rejected.",
    )
    ingest.add_argument("paths", nargs="+", metavar="REPORT.json", help="files or folders")
    ingest.set_defaults(handler=ingest_calibration)

    sync = groups["sync"].add_parser(
        "calibration",
        help="pull calibration reports from the CDB",
        description="Fetch the reports new since the last sync from cdb.postgres."
        "calibration_table (when cdb.postgres.dsn is set) and cdb.http.calibration_url, keep "
        "them under raw/calibration-reports/ and put them into the cache. Exit 1 if a source "
        "failed or a report was rejected.",
    )
    sync.set_defaults(handler=sync_calibration)


def _config(args) -> CalibrationConfig:
    return load_config(Path(args.config)).calibration if args.config else CalibrationConfig()


def _night(text: str, option: str) -> date:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise UsageError(f"{option} '{text}' is not a date YYYYMMDD") from None


def calib_build(args) -> int:
    output = Path(args.output)
    with progress_bar(f"combining {args.type} frames") as progress:
        built = build_from_files(
            args.input,
            args.type,
            config=_config(args),
            bias=Path(args.bias) if args.bias else None,
            dark=Path(args.dark) if args.dark else None,
            progress=progress,
        )
    for name, reason in built.left_out:
        print(f"left out {name}: {reason}", file=sys.stderr)
    for note in built.notes:
        print(f"warning: {note}", file=sys.stderr)
    write_master(output, built.master.data, built.master.header)
    print(
        f"{output}: master {args.type} of {len(built.selection.good)} frame(s) "
        f"({built.master.header['COMBMETH']})"
    )
    if built.residual is not None:
        r = built.residual
        print(
            f"residual check: mean {r.mean:.4g}, noise {r.noise:.4g} (frames' own "
            f"{r.expected_noise:.4g}): {'passed' if r.passed else 'FAILED: ' + r.reason}"
        )
    return 0


def calib_validate(args) -> int:
    report = validate_files(args.candidate, args.reference, config=_config(args))
    target = Path(args.json)
    write_report(target.parent, target.name, report)
    verdict = "VALID" if report.valid else "INVALID: " + "; ".join(report.reasons)
    print(
        f"{args.candidate}: MEANDIFF {report.meandiff:.4g}, RMSDIFF {report.rmsdiff:.4g}: {verdict}"
    )
    return 0


def calib_run(args) -> int:
    night = _night(args.night, "--night")
    ws = open_workspace(args)
    config = ws.config.calibration
    folder = ws.path(config.raw_dir) / config.night_folder.format(night=f"{night:%Y%m%d}")
    stores = Stores(ws)
    try:
        with progress_bar(f"calibration night {night:%Y%m%d}") as progress:
            outcomes = run_night(
                stores.calibration,
                night,
                folder,
                config=config,
                force=args.force,
                reports_dir=ws.path(config.reports_dir),
                progress=progress,
                notifier=Notifier.from_workspace(ws),
            )
    finally:
        stores.close()
    if not outcomes:
        print(f"{folder}: no calibration frames; nothing done")
    for o in outcomes:
        detail = f": {o.detail}" if o.detail else ""
        print(f"{o.caltype} {o.instrument} {o.filter}: {o.n_frames} frame(s), {o.action}{detail}")
        for name, reason in o.left_out:
            print(f"  left out {name}: {reason}", file=sys.stderr)
    return 0


def calib_fetch(args) -> int:
    night = _night(args.night, "--night")
    stores = Stores(open_workspace(args))
    try:
        with progress_bar(f"calibration frames of {night:%Y%m%d}") as progress:
            links, summary, failures = fetch_night(stores, night, progress=progress)
    finally:
        stores.close()
    for text in failures:
        print(f"warning: {text}", file=sys.stderr)
    for _, reason in summary.failed:
        print(f"failed: {reason}", file=sys.stderr)
    print(f"night {night:%Y%m%d}: {links} link(s); {summary.describe()}")
    return 1 if summary.failed else 0


def calib_nightly(args) -> int:
    night = _night(args.night, "--night")
    stores = Stores(open_workspace(args))
    try:
        with progress_bar(f"calibration frames of {night:%Y%m%d}") as progress:
            run = run_nightly(stores, night, progress=progress)
    finally:
        stores.close()
    counts = run.record(run.started_at)
    for text in run.failures:
        print(f"failed: {text}", file=sys.stderr)
    print(
        f"night {night:%Y%m%d}: {run.outcome}; {counts.links} link(s), {run.fetch.describe()}; "
        f"{counts.masters_built} master(s) built, {counts.masters_valid} valid, "
        f"{counts.masters_promoted} promoted; {counts.published} published; "
        f"{counts.raw_deleted} raw frame(s) deleted"
    )
    return 1 if run.failures else 0


def calib_certify(args) -> int:
    stores = Stores(open_workspace(args))
    try:
        stores.calibration.certify(
            args.report, bool(args.good), comment=args.comment, user=args.user or getpass.getuser()
        )
    finally:
        stores.close()
    print(f"report {args.report} certified {'good' if args.good else 'bad'}")
    return 0


def calib_impact(args) -> int:
    if args.run_queued:
        return _run_queued(args)
    if args.master is None:
        raise UsageError("gic calib impact: give a MASTER, or --run-queued")
    stores = Stores(open_workspace(args), read_only=not args.queue)
    try:
        impact, runs = stores.impact, stores.reprocess
        master = impact.master(args.master)
        if args.queue:
            user = args.user or getpass.getuser()
            queue_reprocessing(impact, master["master_id"], user=user, runs=runs)
        report = master_impact(impact, stores.calibration, master["master_id"], runs=runs)
    except CalibrationStoreError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        stores.close()
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(describe_impact(report)))
    return 0


def _run_queued(args) -> int:
    """``gic calib impact --run-queued``: every queued request, one line each."""
    if args.master is not None or args.queue:
        raise UsageError("gic calib impact --run-queued takes no MASTER nor --queue")
    stores = Stores(open_workspace(args))
    try:
        outcomes = run_queued(stores)
    finally:
        stores.close()
    if args.format == "json":
        print(json.dumps([dataclasses.asdict(o) for o in outcomes], indent=2))
    else:
        print("\n".join(o.describe() for o in outcomes) or "no reprocessing queued")
    return 1 if any(o.reason for o in outcomes) else 0


def _utc(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} '{text}' is not an ISO 8601 time") from None


def calib_trend(args) -> int:
    stores = Stores(open_workspace(args), read_only=True)
    try:
        frame = stores.calibration.trend(
            args.type,
            args.instrument,
            args.filter,
            _utc(args.start, "--start"),
            _utc(args.end, "--end"),
        )
    finally:
        stores.close()
    write_frame(frame, args.format)
    return 0


def calib_grid(args) -> int:
    first, last = _night(args.first, "--first"), _night(args.last, "--last")
    if last < first:
        raise UsageError(f"--last {args.last} is before --first {args.first}")
    stores = Stores(open_workspace(args), read_only=True)
    try:
        frame = stores.calibration.completeness(first, last, args.type)
    finally:
        stores.close()
    write_frame(frame, args.format)
    return 0


def ingest_calibration(args) -> int:
    paths = []
    for given in args.paths:
        path = Path(given)
        if path.is_dir():
            paths += sorted(path.rglob("*.json"))
        elif path.is_file():
            paths.append(path)
        else:
            raise FileNotFoundError(f"{given}: no such file or folder")
    stores = Stores(open_workspace(args))
    try:
        summary = stores.calibration.ingest_reports(paths)
    finally:
        stores.close()
    print(summary.describe())
    for _, reason in summary.rejected:
        print(f"rejected: {reason}", file=sys.stderr)
    return 1 if summary.rejected else 0


def sync_calibration(args) -> int:
    from data_access.calibration.sources import sync_calibration as sync_all_sources

    stores = Stores(open_workspace(args))
    try:
        results = sync_all_sources(stores)
    finally:
        stores.close()
    if not results:
        print(
            "no CDB source of calibration reports is configured (cdb.postgres.dsn with "
            "cdb.postgres.calibration_table, cdb.http.calibration_url)"
        )
    failed = False
    for source, result in results.items():
        if isinstance(result, str):
            print(f"{source}: failed: {result}", file=sys.stderr)
            failed = True
            continue
        print(
            f"{source}: {len(result.ingested)} new, {len(result.replaced)} replaced, "
            f"{len(result.unchanged)} unchanged documents; {result.readings} reports added, "
            f"{len(result.rejected)} rejected"
        )
        for _, reason in result.rejected:
            print(f"rejected: {reason}", file=sys.stderr)
        failed |= bool(result.rejected)
    return 1 if failed else 0
