"""``gic worker``: the workspace's background work in a process of its own."""

from __future__ import annotations

import logging
import signal
import time

from app.commands.common import UsageError, open_workspace
from data_access.stores import Stores

#: Seconds between two looks at the background turn while another process holds it.
TURN_LOOK_S = 5.0


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
    # The handler only appends to a list: one that takes a lock (an Event's set) deadlocks
    # when a second SIGTERM arrives while the first handler holds it (its server stopping
    # it, then the server's own end), and the worker outlived its server.
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda number, _: stopping.append(number))
    while not turn.take():
        if not args.wait:
            raise UsageError(
                f"the background work of {workspace.root} already runs: {turn.holder()}"
            )
        if _stopped_within(stopping, TURN_LOOK_S):
            return 0
    stores = Stores(workspace)
    worker = Worker(stores).start()
    logging.getLogger("gic.worker").info("background work of %s started", workspace.root)
    try:
        while not _stopped_within(stopping, 1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
        turn.release()
        stores.close()
    return 0


def _stopped_within(stopping: list[int], seconds: float) -> bool:
    """Whether a SIGTERM has come (``stopping`` holds it) by the end of ``seconds``."""
    deadline = time.monotonic() + seconds
    while not stopping and time.monotonic() < deadline:
        time.sleep(min(0.2, max(deadline - time.monotonic(), 0.0)))
    return bool(stopping)
