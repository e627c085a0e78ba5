"""Naming the products a ``gic products`` command acts on: ids, or a burst and a card."""

from __future__ import annotations

import getpass

from app.commands.common import UsageError
from data_access.stores import Stores

FORMATS = ("json", "csv", "table")


def target_arguments(parser, *, burst_alone: bool = False) -> None:
    parser.add_argument(
        "ids", nargs="*", type=int, metavar="ID", help="product ids (gic products list)"
    )
    parser.add_argument("--burst", metavar="ID")
    parser.add_argument(
        "--card",
        metavar="CARD",
        help="with --burst: its latest version"
        + ("; without: every approved product of the burst" if burst_alone else ""),
    )
    parser.add_argument("--user", default=None, help="default: the login name")


def acting_user(args) -> str:
    return args.user or getpass.getuser()


def targets(stores: Stores, args, *, approved_of_burst: bool = False) -> list[int]:
    ids = list(args.ids)
    if args.burst:
        queue = stores.products.queue(args.burst)
        if args.card:
            chosen = queue[queue["card"] == args.card]
            if chosen.empty:
                raise UsageError(f"burst {args.burst} has no product {args.card}")
        elif approved_of_burst:
            chosen = queue[queue["state"].isin(["approved", "push failed"])]
        else:
            raise UsageError("--burst needs --card here")
        ids += [int(i) for i in chosen["product_id"]]
    if not ids:
        raise UsageError("name products by id, or with --burst (and --card)")
    return ids
