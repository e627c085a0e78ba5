"""``gic serve``: the workbench server over the workspace."""

from __future__ import annotations

import logging

from app.commands.common import open_workspace
from data_access.stores import Stores


def register(subparsers, groups) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the workbench's pages",
        description="Serve every page of the workbench over the workspace (loopback only by "
        "default). The server holds the cache and runs the scheduled syncs itself.",
    )
    parser.add_argument("--address", help="listen address (default: [server] address)")
    parser.add_argument("--port", type=int, help="port (default: [server] port)")
    parser.add_argument("--show", action="store_true", help="open a browser tab")
    parser.set_defaults(handler=serve)


def serve(args) -> int:
    from app.server import serve as serve_pages

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stores = Stores(open_workspace(args))
    try:
        serve_pages(stores, address=args.address, port=args.port, show=args.show)
    finally:
        stores.close()
    return 0
