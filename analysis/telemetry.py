"""Telemetry: the status record format and the arithmetic of time buckets.

A status document (one file every 5 minutes, or one row of the CDB) is a JSON list
of records with the 15 fields of :data:`STATUS_FIELDS`. Values arrive as strings
(``"+0.0"``) and are typed by the record's ``type``, one of :data:`VALUE_TYPES`.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

#: The fields every status record carries, in the order of the design notes.
STATUS_FIELDS: tuple[str, ...] = (
    "name",
    "value",
    "date",
    "pretty_name",
    "subsystem",
    "component",
    "group",
    "model",
    "identifier",
    "firmware",
    "type",
    "unit",
    "correction_model",
    "raw_value",
    "error_code",
)

#: The values ``type`` may take; integer and float sensors are numeric.
VALUE_TYPES: tuple[str, ...] = ("integer", "float", "string")
NUMERIC_TYPES: tuple[str, ...] = ("integer", "float")

#: Bucket widths a plot may choose from, in seconds (aligned on multiples of themselves).
NICE_BUCKETS_S: tuple[int, ...] = (
    1,
    5,
    10,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    172800,
    604800,
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|min|m|h|d|w)\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """Read a duration such as ``30s``, ``5min``, ``1h``, ``1d`` or ``2w``.

    Raises
    ------
    ValueError
        If the text is not a positive number followed by one of s, min (or m), h, d, w.
    """
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        msg = f"duration '{text}' is not a positive number followed by s, min, h, d or w"
        raise ValueError(msg)
    return timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2).lower()])


def format_duration(width: timedelta) -> str:
    """The shortest exact spelling of a duration, the inverse of :func:`parse_duration`."""
    seconds = width.total_seconds()
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def describe_age(seconds: float) -> str:
    """An age in words: '42 s', '7 min', '3.5 h', '2.0 d'."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def bucket_width(
    start: datetime, end: datetime, max_points: int, *, minimum: timedelta = timedelta(0)
) -> timedelta:
    """The narrowest nice bucket, at least ``minimum`` wide, that draws ``[start, end)`` in at
    most ``max_points`` buckets.

    Parameters
    ----------
    start, end : datetime
        The time range shown.
    max_points : int
        Most buckets (points per line) wanted; at least 1.
    minimum : timedelta, optional
        The narrowest bucket worth drawing (the readings' cadence).

    Returns
    -------
    timedelta
        One of :data:`NICE_BUCKETS_S`, or a whole number of weeks beyond them.
    """
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points}")
    span = max((end - start).total_seconds(), 1.0)
    for width in NICE_BUCKETS_S:
        if span / width <= max_points and width >= minimum.total_seconds():
            return timedelta(seconds=width)
    weeks = math.ceil(span / max_points / 604800)
    return timedelta(weeks=weeks)


def bucket_start(moment: datetime, width: timedelta) -> datetime:
    """The start of the bucket holding ``moment``: buckets start on multiples of ``width``
    counted from the Unix epoch (so 1 h buckets start on the hour, 1 d ones at 00:00 UTC)."""
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    step = width // timedelta(microseconds=1)
    offset = (moment - epoch) // timedelta(microseconds=1)
    return epoch + timedelta(microseconds=(offset // step) * step)
