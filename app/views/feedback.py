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

import functools
import inspect
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import PurePath

import panel as pn

from app.auth import PermissionDenied
from app.markup import escape_html, escape_markdown
from data_access.products.sdb_client import SdbError

#: Errors whose message is written for the user (every store error is a ValueError).
EXPECTED_ERRORS = (ValueError, PermissionDenied, SdbError)


def notify(kind: str, text: str) -> None:
    """A toast on the served page (``kind``: error, warning, success or info), ``text``
    escaped; nothing in a notebook or a test, where the view's message says the same."""
    if pn.state.notifications is not None:
        getattr(pn.state.notifications, kind)(escape_html(text), duration=8000)


def failure_text(exc: BaseException, *, doing: str, log: logging.Logger) -> str:
    """Why ``doing`` (``"the run"``, ``"Push"``: what failed, for the log) failed, in words
    for the page; an unexpected exception is logged here with its traceback.

    Examples
    --------
    >>> log = logging.getLogger("gic.reprocess")
    >>> failure_text(ValueError("pick a product first"), doing="Approve", log=log)
    'pick a product first'
    >>> failure_text(KeyError("path"), doing="the run", log=log)  # doctest: +ELLIPSIS
    'an unexpected error stopped it (logged by gic.reprocess at ... UTC); try again, and ...'
    """
    if isinstance(exc, EXPECTED_ERRORS):
        return str(exc)
    if isinstance(exc, OSError):
        log.warning("%s failed: %s", doing, exc)
        name = f" ({PurePath(str(exc.filename)).name})" if exc.filename else ""
        return (
            f"{exc.strerror or 'input/output error'}{name}; check that the file is there and "
            "readable, then try again"
        )
    log.error("%s failed", doing, exc_info=exc)
    return (
        f"an unexpected error stopped it (logged by {log.name} at {datetime.now(UTC):%H:%M:%S} "
        "UTC); try again, and if it fails again, tell whoever runs the workbench that time"
    )


def failure_sentence(exc: BaseException, *, doing: str, log: logging.Logger) -> str:
    """What failed and why, as one sentence: "Showing the master failed: <why>."
    (:func:`failure_text` gives the why; ``doing`` names the action, as a noun phrase)."""
    reason = failure_text(exc, doing=doing, log=log).rstrip(".")
    return f"{doing[:1].upper()}{doing[1:]} failed: {reason}."


def guarded(
    doing: str, log: logging.Logger, say: Callable[[str], None] | str | None = None
) -> Callable[[Callable], Callable]:
    """The one wrapper of a page's callbacks (a button's click, a watcher, a tap, a
    periodic refresh): a failure becomes :func:`failure_sentence`, shown by ``say`` (a
    callable, or the name of a method of the callback's first argument, its view) or as a
    toast, and the callback returns None. Every callback of ``app/`` goes through it
    (tests/app/test_callbacks.py checks).

    Examples
    --------
    >>> said = []
    >>> click = guarded("Showing the master", logging.getLogger("gic.x"), said.append)(
    ...     lambda event: {}["report"]
    ... )
    >>> click(None), said[0][:46]
    (None, 'Showing the master failed: an unexpected error')
    """

    def said(exc: Exception, args: tuple) -> None:
        sentence = failure_sentence(exc, doing=doing, log=log)
        tell = getattr(args[0], say) if isinstance(say, str) else say
        if tell is None:
            notify("error", sentence)
        else:
            tell(sentence)

    def wrap(callback: Callable) -> Callable:
        if inspect.iscoroutinefunction(callback):

            @functools.wraps(callback)
            async def run(*args, **kwargs):
                try:
                    return await callback(*args, **kwargs)
                except Exception as exc:  # said in words; an unexpected one is logged
                    said(exc, args)

        else:

            @functools.wraps(callback)
            def run(*args, **kwargs):
                try:
                    return callback(*args, **kwargs)
                except Exception as exc:  # said in words; an unexpected one is logged
                    said(exc, args)

        run.failure_doing = doing
        return run

    return wrap


def unexpected_failure(exc: BaseException) -> None:
    """Panel's handler of a failure no callback caught (a part of a page drawn again after
    a click, a widget's link): logged by ``gic.server``, and said as a toast in words."""
    log = logging.getLogger("gic.server")
    notify("error", failure_sentence(exc, doing="Updating the page", log=log))


def message_pane(text: str, *, failed: bool, **options) -> pn.viewable.Viewable:
    """The outcome of the last action: red when it failed, green otherwise, nothing when
    there is none."""
    if not text:
        return pn.Spacer(height=0)
    return pn.pane.Alert(
        escape_markdown(text), alert_type="danger" if failed else "success", **options
    )
