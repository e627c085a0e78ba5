"""Burst commands: ``gic burst show ID``, a burst's dossier (:mod:`pipelines.dossier`)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.commands.common import print_json, read_report, write_frame

#: The dossier's tables, in the order ``--format table`` prints them.
TABLE_SECTIONS = (
    "timeline",
    "frames",
    "masters",
    "telemetry",
    "runs",
    "products",
    "audit",
)


def register(subparsers, groups) -> None:
    burst = subparsers.add_parser(
        "burst",
        help="one burst's dossier: notices, trigger file, frames, masters, runs, products",
        description="Everything known of one burst, joined from every store.",
    )
    what = burst.add_subparsers(dest="what", metavar="WHAT", required=True)
    show = what.add_parser(
        "show",
        help="a burst's dossier (what the Burst page shows)",
        description="The burst's notices newest first with their latency, best position and "
        "its history, trigger file, observability from the site now, the frames with the "
        "masters in force that night and the telemetry at each exposure, the GP2 runs with "
        "their light curves, every product version and the audit trail, and the timeline "
        "(since_t0_s: seconds from T0). Exit 2 when no notice names the burst.",
    )
    show.add_argument("burst_id", metavar="BURST_ID")
    show.add_argument("--format", choices=["json", "table"], default="json")
    show.set_defaults(handler=show_dossier)


def show_dossier(args) -> int:
    from pipelines.dossier import burst_dossier

    dossier = read_report(
        args,
        lambda stores: burst_dossier(stores, args.burst_id, at=datetime.now(UTC)),
        missing=f"no notice names burst {args.burst_id!r} in the cache",
    )
    if args.format == "json":
        print_json(dossier.to_dict())
        return 0
    report = dossier.report
    print(
        f"burst {dossier.burst_id}: T0 {report['t0']}, {report['notices']} notices, "
        f"best position {report['ra']}, {report['dec']} ± {report['error_deg']} deg "
        f"({report['best_instrument']}), retracted: {report['retracted']}"
    )
    for name in TABLE_SECTIONS:
        print(f"\n{name}:")
        write_frame(getattr(dossier, name), "table")
    return 0
