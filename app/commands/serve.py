"""``gic serve``: the workbench server over the workspace."""

from __future__ import annotations

import argparse
import logging

from app.commands.common import UsageError, open_workspace
from data_access.stores import Stores


def register(subparsers, groups) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the workbench's pages",
        description="Serve every page of the workbench over the workspace (loopback only by "
        "default), from [server] processes page servers; unless [server] background is "
        "never, the server also runs the workspace's background work when no other process "
        "(`gic worker`, another server) does.",
    )
    parser.add_argument("--address", help="listen address (default: [server] address)")
    parser.add_argument("--port", type=int, help="port (default: [server] port)")
    parser.add_argument("--show", action="store_true", help="open a browser tab")
    parser.add_argument("--processes", type=int, help="page servers (default: [server] processes)")
    parser.add_argument(
        "--background",
        choices=["auto", "never"],
        help="bid for the background work (default: [server] background)",
    )
    # a page server behind the sticky proxy of `gic serve --processes N`
    parser.add_argument("--public-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-services", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(handler=serve)


def serve(args) -> int:
    from app.server import serve as serve_pages
    from app.server import serve_processes

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    workspace = open_workspace(args)
    processes = args.processes or workspace.config.server.processes
    if processes < 1:
        raise UsageError(f"--processes must be 1 or more, not {processes}")
    stores = Stores(workspace)
    try:
        if processes > 1:
            serve_processes(stores, processes, address=args.address, port=args.port)
        else:
            serve_pages(
                stores,
                address=args.address,
                port=args.port,
                show=args.show,
                background=args.background,
                public_port=args.public_port,
                start_services=not args.no_services,
            )
    finally:
        stores.close()
    return 0
