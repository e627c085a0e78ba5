"""What a page says after an action: a toast, the message shown, and a failure in words.

A failure the user can act on (a bad input, a missing role, a store's refusal, the
SDB's answer: :data:`EXPECTED_ERRORS`, whose messages are written for users) shows its
message; a file that could not be read or written shows the reason and the file's name;
any other exception is logged with its traceback (logger ``gic.<page>``) and the page
says what failed in words, never the exception's text, which may hold server paths or
code. Every text is escaped here (:mod:`app.markup`): it may name a burst, a file or a
user.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import PurePath

import panel as pn

from app.auth import PermissionDenied
from app.markup import escape_html, escape_markdown
from data_access.sdb_client import SdbError

#: Errors whose message is written for the user (every store error is a ValueError).
EXPECTED_ERRORS = (ValueError, PermissionDenied, SdbError)


def notify(kind: str, text: str) -> None:
    """A toast on the served page (``kind``: error, warning, success or info), ``text``
    escaped; nothing in a notebook or a test, where the view's message says the same."""
    if pn.state.notifications is not None:
        getattr(pn.state.notifications, kind)(escape_html(text), duration=8000)


def failure_text(exc: BaseException, *, doing: str, log: logging.Logger) -> str:
    """What the page says when ``doing`` (``"The run"``, ``"Pushing"``...) failed with
    ``exc``; an unexpected exception is logged here with its traceback.

    Examples
    --------
    >>> log = logging.getLogger("gic.reprocess")
    >>> failure_text(ValueError("pick a product first"), doing="Approving", log=log)
    'pick a product first'
    >>> failure_text(KeyError("path"), doing="The run", log=log)  # doctest: +ELLIPSIS
    'The run failed on an error of the workbench (logged by gic.reprocess at ... UTC)...'
    """
    if isinstance(exc, EXPECTED_ERRORS):
        return str(exc)
    if isinstance(exc, OSError):
        log.warning("%s failed: %s", doing, exc)
        reason = exc.strerror or "input/output error"
        name = f" ({PurePath(str(exc.filename)).name})" if exc.filename else ""
        return f"{doing} failed: {reason}{name}."
    log.error("%s failed", doing, exc_info=exc)
    return (
        f"{doing} failed on an error of the workbench (logged by {log.name} at "
        f"{datetime.now(UTC):%H:%M:%S} UTC). Try again; if it fails again, send that time "
        "to whoever runs the workbench."
    )


def message_pane(text: str, *, failed: bool, **options) -> pn.viewable.Viewable:
    """The outcome of the last action: red when it failed, green otherwise, nothing when
    there is none."""
    if not text:
        return pn.Spacer(height=0)
    return pn.pane.Alert(escape_markdown(text), alert_type="danger" if failed else "success",
                         **options)  # fmt: skip
