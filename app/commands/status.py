"""Status commands beside the telemetry's: ``gic status attention``, what needs attention
now (:mod:`pipelines.attention`), the list the home page opens with."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from app.commands.common import open_workspace
from data_access.stores import Stores


def register(subparsers, groups) -> None:
    attention = groups["status"].add_parser(
        "attention",
        help="what needs attention now (the home page's list)",
        description="Last night's invalid or missing calibration series, stale or erroring "
        "sensors, bursts of the last [attention] burst_days days without products, products "
        "awaiting approval, failed pushes and packets in quarantine, most urgent first; each "
        "with its kind, severity (error, warning, info), sentence, object and the link (page "
        "and query, from the server's root) where it is fixed.",
    )
    attention.add_argument("--format", choices=["json", "text"], default="text")
    attention.set_defaults(handler=status_attention)


def status_attention(args) -> int:
    from pipelines.attention import attention

    stores = Stores(open_workspace(args), read_only=True)
    try:
        found = attention(stores, now=datetime.now(UTC))
    finally:
        stores.close()
    if args.format == "json":
        print(json.dumps(found.to_dict(), indent=2))
        return 0
    if not found.items:
        print(f"Nothing needs attention (checked {found.checked_at:%Y-%m-%d %H:%M:%S} UTC).")
    for item in found.items:
        print(f"{item.severity:7s} {item.kind}: {item.sentence} -> {item.link}")
    return 0
