"""Products and the SDB: ``gic products push|clear-warning|pull|coherence|archive`` and
``gic sandbox serve`` (the SDB named in ``[sdb]``, the token from the environment variable it
names; the sandbox is a local stand-in for it).
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pandas as pd

from app.commands.common import UsageError, open_workspace, progress_bar, write_frame
from app.commands.product_targets import FORMATS, acting_user, target_arguments, targets
from data_access.products.sdb_client import SdbClient, SdbError
from data_access.stores import Stores
from sandbox.sdb import SandboxServer


def register_sandbox(subparsers) -> None:
    sandbox = subparsers.add_parser(
        "sandbox",
        help="a local SDB/MDB import-export server (offline demo and tests)",
        description="Serve the SDB import API (a_spjson, a_product) and an export API on loopback.",
    )
    sandbox_what = sandbox.add_subparsers(dest="what", metavar="WHAT", required=True)
    serve = sandbox_what.add_parser(
        "serve",
        help="serve until interrupted",
        description="Serve the sandbox until Ctrl-C. Received files "
        "go under --storage; /openapi.json describes the API.",
    )
    serve.add_argument("--port", type=int, default=None, help="default: [sdb] sandbox_port")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--storage", metavar="DIR", help="default: WORKSPACE/[sdb] sandbox_dir")
    serve.set_defaults(handler=sandbox_serve)


def register_sdb(what) -> None:
    push = what.add_parser(
        "push",
        help="push approved products to the SDB import API",
        description="Send each product's card then the file; a product is "
        "marked pushed only when the server answered OK. Exit 1 if any failed.",
    )
    target_arguments(push, burst_alone=True)
    push.add_argument("--comment", default="")
    push.add_argument(
        "--override-retraction",
        default="",
        metavar="COMMENT",
        help="push the products of a retracted burst all the same, saying why (an approver's "
        "override, kept in the audit log); without it they are refused",
    )
    push.set_defaults(handler=products_push)

    clear = what.add_parser(
        "clear-warning",
        help="clear a product's warning of a bad master, with a comment",
        description="A product built by a run that used a master since certified bad or "
        "demoted carries a warning until it is rebuilt or a scientist clears it; the "
        "comment goes to the audit log.",
    )
    clear.add_argument("ids", nargs="+", type=int, metavar="ID", help="product ids")
    clear.add_argument("--comment", required=True)
    clear.add_argument("--user", default=None, help="default: the login name")
    clear.set_defaults(handler=products_clear_warning)

    pull = what.add_parser(
        "pull",
        help="bring a burst's products and images from the export API",
        description="List the burst's products and images on the export API and "
        "download them (all, or --name ones) into the workspace.",
    )
    pull.add_argument("--burst", required=True, metavar="ID")
    pull.add_argument("--name", nargs="+", metavar="FILE", help="only these files")
    pull.add_argument("--list", action="store_true", help="only list what the export API holds")
    pull.add_argument("--user", default=None)
    pull.add_argument("--format", choices=FORMATS, default="table")
    pull.set_defaults(handler=products_pull)

    coherence = what.add_parser(
        "coherence",
        help="compare a burst's products with the SDB",
        description="Products on one side only, or differing in bytes, "
        "number of headers or keywords. Exit 1 if any problem.",
    )
    coherence.add_argument("--burst", required=True, metavar="ID")
    coherence.add_argument("--format", choices=FORMATS, default="table")
    coherence.set_defaults(handler=products_coherence)

    archive = what.add_parser(
        "archive",
        help="many bursts' products as one zip",
        description="The latest version of each product of each burst (every "
        "version with --all-versions), with a manifest.json.",
    )
    archive.add_argument("--burst", nargs="+", required=True, metavar="ID")
    archive.add_argument("--output", required=True, metavar="ZIP")
    archive.add_argument("--all-versions", action="store_true")
    archive.set_defaults(handler=products_archive)


def _client(workspace) -> SdbClient:
    return SdbClient.from_config(workspace.config.sdb)


def products_push(args) -> int:
    workspace = open_workspace(args)
    stores = Stores(workspace)
    client = _client(workspace)
    try:
        outcomes = [
            stores.products.pushes.push(
                i,
                client,
                user=acting_user(args),
                comment=args.comment,
                override_retraction=args.override_retraction,
            )
            for i in targets(stores, args, approved_of_burst=True)
        ]
    finally:
        client.close()
        stores.close()
    for outcome in outcomes:
        said = json.dumps(outcome.answer) if outcome.answer else outcome.error
        print(f"{outcome.file_name}: {outcome.state}: {said}")
    if any(o.retracted for o in outcomes):
        print(
            "an approver pushes them all the same with --override-retraction 'why'",
            file=sys.stderr,
        )
    return 0 if all(o.pushed for o in outcomes) else 1


def products_clear_warning(args) -> int:
    stores = Stores(open_workspace(args))
    try:
        for product_id in args.ids:
            cleared = stores.products.warnings.clear(
                product_id, user=acting_user(args), comment=args.comment
            )
            print(f"product {product_id}: warning cleared (master {', '.join(map(str, cleared))})")
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        stores.close()
    return 0


def products_pull(args) -> int:
    workspace = open_workspace(args)
    client = _client(workspace)
    stores = Stores(workspace)
    try:
        if args.list:
            remote = stores.products.transfers.remote(args.burst, client)
            write_frame(pd.DataFrame([r.to_dict() for r in remote]), args.format)
            return 0
        with progress_bar(f"pull {args.burst}") as update:
            pulled = stores.products.transfers.pull(
                args.burst, client, names=args.name, user=acting_user(args), progress=update
            )
    except SdbError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        client.close()
        stores.close()
    for item in pulled:
        print(f"{item.kind} {item.name}: {item.status} {item.path or ''}")
    return 0


def products_coherence(args) -> int:
    workspace = open_workspace(args)
    client = _client(workspace)
    stores = Stores(workspace, read_only=True)
    try:
        frame = stores.products.transfers.coherence(args.burst, client)
    except SdbError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        client.close()
        stores.close()
    write_frame(frame, args.format)
    return 1 if (frame["problems"] != "").any() else 0


def products_archive(args) -> int:
    stores = Stores(open_workspace(args), read_only=True)
    try:
        with progress_bar("archive") as update:
            path = stores.products.transfers.archive(
                args.burst, Path(args.output), all_versions=args.all_versions, progress=update
            )
    finally:
        stores.close()
    print(path)
    return 0


def sandbox_serve(args) -> int:
    workspace = open_workspace(args) if args.storage is None or args.port is None else None
    storage = (
        Path(args.storage) if args.storage else workspace.path(workspace.config.sdb.sandbox_dir)
    )
    port = args.port if args.port is not None else workspace.config.sdb.sandbox_port
    server = SandboxServer(storage, host=args.host, port=port)
    # Ctrl-C stops it even when started from a shell's background job (started with SIGINT
    # ignored, which Python then leaves ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print(f"SDB sandbox on {server.url} (storage {storage}); Ctrl-C stops it", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close_socket()
    return 0
