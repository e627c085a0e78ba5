"""``gic worker``: the workspace's background work in a process of its own."""

from __future__ import annotations

import logging
import signal
import threading

from app.commands.common import UsageError, open_workspace
from data_access.stores import Stores


def register(subparsers, groups) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run the workspace's background work",
        description="Run the scheduled syncs, the alert sources of [worker] alert_sources, "
        "the nightly calibration runs due and the lake's maintenance, until interrupted. "
        "Exactly one process of a workspace runs them: this one refuses to start while "
        "another holds the turn (a server with [server] background = auto takes it when no "
        "worker runs), unless --wait.",
    )
    parser.add_argument("--wait", action="store_true", help="wait for the turn instead of refusing")
    parser.set_defaults(handler=run_worker)


def run_worker(args) -> int:
    from app.worker import Worker
    from data_access.background import BackgroundTurn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    workspace = open_workspace(args)
    turn = BackgroundTurn(workspace.root)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not turn.take():
        if not args.wait:
            raise UsageError(
                f"the background work of {workspace.root} already runs: {turn.holder()}"
            )
        if stop.wait(5.0):
            return 0
    stores = Stores(workspace)
    worker = Worker(stores).start()
    logging.getLogger("gic.worker").info("background work of %s started", workspace.root)
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
        turn.release()
        stores.close()
    return 0
