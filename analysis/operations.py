"""Operations messages: what the science center announces on NATS (a product, a burst ID).

A message is UTF-8 text, usually a JSON object. :func:`read_operations_message` never
raises for a bad message: it returns an :class:`OperationsMessage` whose ``error`` says
what was wrong, so a receiver can record it, log it and go on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from analysis.limits import DocumentLimitError, load_json, size_problem

#: Largest message read, in bytes (NATS's default max_payload); a larger one is recorded
#: with its error and the start of its text.
MAX_MESSAGE_BYTES = 1024 * 1024
#: Characters kept of the text of a message that is too large.
TOO_LARGE_TEXT_CHARS = 2000
#: An SVOM burst ID anywhere in a text (``sb`` then YYMMDD and a two-digit number).
BURST_ID_IN_TEXT = re.compile(r"\b(sb\d{8})\b")
#: Keys of a JSON message that name the burst, compared case-insensitively.
BURST_ID_KEYS: tuple[str, ...] = ("burst_id", "burstid", "burst")
#: Keys of a JSON message that say what it announces, compared case-insensitively.
KIND_KEYS: tuple[str, ...] = ("kind", "type", "message_type", "event")


@dataclass(frozen=True)
class OperationsMessage:
    """One operations message as read.

    Attributes
    ----------
    subject : str
        The NATS subject it arrived on.
    text : str
        The message as text (bytes that are not UTF-8 are shown escaped).
    payload : dict or None
        The JSON object, when the message is one.
    kind : str or None
        What it announces (a ``kind``/``type`` key of the JSON), if it says.
    burst_id : str or None
        The SVOM burst it names, from a ``burst_id`` key or an ``sb…`` word of the text.
    error : str or None
        Why the message could not be read; None for a good message.
    """

    subject: str
    text: str
    payload: dict | None
    kind: str | None
    burst_id: str | None
    error: str | None


def read_operations_message(subject: str, data: bytes) -> OperationsMessage:
    """Read one operations message; a malformed one comes back with ``error`` set.

    Parameters
    ----------
    subject : str
        The subject it arrived on.
    data : bytes
        The message body.

    Returns
    -------
    OperationsMessage
    """
    if too_large := size_problem(len(data), MAX_MESSAGE_BYTES):
        start = bytes(data[:TOO_LARGE_TEXT_CHARS]).decode("utf-8", errors="backslashreplace")
        return OperationsMessage(subject, start + "…", None, None, None, f"message of {too_large}")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        escaped = bytes(data).decode("utf-8", errors="backslashreplace")
        return OperationsMessage(subject, escaped, None, None, None, f"not UTF-8 text: {exc}")
    stripped = text.strip()
    if not stripped:
        return OperationsMessage(subject, text, None, None, None, "empty message")
    if not stripped.startswith(("{", "[")):
        return OperationsMessage(subject, text, None, None, _burst_in_text(text), None)
    try:
        payload = load_json(stripped)
    except DocumentLimitError as exc:
        return OperationsMessage(subject, text, None, None, None, str(exc))
    except json.JSONDecodeError as exc:
        return OperationsMessage(subject, text, None, None, None, f"not valid JSON: {exc}")
    if not isinstance(payload, dict):
        kind_found = type(payload).__name__
        return OperationsMessage(
            subject, text, None, None, None, f"expected a JSON object, got a {kind_found}"
        )
    lowered = {str(k).lower(): v for k, v in payload.items()}
    burst = next((str(lowered[k]) for k in BURST_ID_KEYS if lowered.get(k)), None)
    kind = next((str(lowered[k]) for k in KIND_KEYS if lowered.get(k)), None)
    return OperationsMessage(subject, text, payload, kind, burst or _burst_in_text(text), None)


def _burst_in_text(text: str) -> str | None:
    found = BURST_ID_IN_TEXT.search(text)
    return found.group(1) if found else None
