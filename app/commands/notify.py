"""``gic notify``: the notifications waiting in the workspace's spool, sent.

The server sends them itself (every ``notifications.every_s``); a deployment without the
server runs ``gic notify send-pending`` from cron instead.
"""

from __future__ import annotations

from app.commands.common import open_workspace
from data_access.notifications import Notifier


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
    summary = Notifier.from_workspace(open_workspace(args)).deliver_pending()
    print(summary.describe())
    return 1 if summary.failed or summary.given_up else 0
