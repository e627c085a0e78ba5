"""``gic notify``: the notifications waiting in the workspace's spool, sent.

The server sends them itself (every ``notifications.every_s``); a deployment without the
server runs ``gic notify send-pending`` from cron instead, which also tells of the sensors
newly stale.
"""

from __future__ import annotations

from app.commands.common import open_workspace
from data_access.cache import CacheError
from data_access.notifications import Notifier
from data_access.stores import Stores


def register(subparsers, groups) -> None:
    parser = subparsers.add_parser(
        "notify",
        help="send the notifications waiting",
        description="Send the notifications (e-mail, webhook) waiting in the workspace's "
        "spool; what fails is kept and tried again later.",
    )
    what = parser.add_subparsers(dest="what", metavar="WHAT", required=True)
    send = what.add_parser(
        "send-pending",
        help="gather the events whose window has passed and send every message due",
        description="Gather the events whose notifications.window_s has passed into one "
        "message per kind and send every message due; a failed one waits its back-off.",
    )
    send.set_defaults(handler=send_pending)


def send_pending(args) -> int:
    ws = open_workspace(args)
    notifier = Notifier.from_workspace(ws)
    if notifier.enabled("stale_sensor"):
        _check_sensors(ws, notifier)
    summary = notifier.deliver_pending()
    print(summary.describe())
    return 1 if summary.failed or summary.given_up else 0


def _check_sensors(ws, notifier: Notifier) -> None:
    """Tell of the sensors newly stale (a cache that cannot be opened is said, not fatal)."""
    try:
        stores = Stores(ws, read_only=True)
    except CacheError as exc:
        print(f"stale sensors not checked: {exc}")
        return
    try:
        told = notifier.check_sensors(
            stores.status, stale_after_min=ws.config.telemetry.stale_after_min
        )
    finally:
        stores.close()
    if told:
        print(f"stale sensors told: {', '.join(told)}")
