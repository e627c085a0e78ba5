"""The ``gic`` command: one entry point, a subcommand per capability.

Each capability registers its subcommands from its own module in ``app/commands/``
(``register(subparsers, groups)``, where ``groups`` holds the shared parents such as
``ingest`` and ``sync``, so that ``gic ingest status`` and ``gic ingest calibration``
live side by side); a subcommand's handler takes the parsed arguments and
returns the exit code. Errors that name a file or a record reach the user as one
clear line on stderr and a non-zero exit, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys

from app.commands import COMMAND_MODULES, burst
from app.commands.common import UsageError
from data_access.cache import CacheError
from data_access.config import ConfigError

SHARED_GROUPS = {
    "ingest": "put files into the cache (idempotent: the same file twice adds nothing)",
    "sync": "pull what is new from the configured sources into the cache",
    "status": "the state of things: the telemetry, what needs attention now",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gic",
        description="GIC Workbench: calibration, telemetry, alerts, reprocessing and GFT "
        "products of the COLIBRI ground interface.",
    )
    parser.add_argument(
        "--workspace",
        metavar="DIR",
        help="the workspace folder (default: $GIC_WORKSPACE, else ./workspace)",
    )
    parser.add_argument(
        "--at",
        metavar="SNAPSHOT",
        type=int,
        help="read the cache as it was at this lake snapshot (the one a product version, "
        "an approval, a promotion or a certification records); commands that write are "
        "refused",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups = {
        name: subparsers.add_parser(name, help=text, description=text).add_subparsers(
            dest="what", metavar="WHAT", required=True
        )
        for name, text in SHARED_GROUPS.items()
    }
    for module in (*COMMAND_MODULES, burst):
        module.register(subparsers, groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (
        UsageError,
        ConfigError,
        CacheError,
        FileNotFoundError,
        ValueError,
        PermissionError,
    ) as exc:
        print(f"gic {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gic {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
