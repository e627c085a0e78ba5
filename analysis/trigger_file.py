"""The COLIBRI trigger file: one burst's position and trigger time for the telescope.

``trigger_<burstid>.dat`` is plain text the telescope side reads: one ``key = value`` per
line (see :func:`format_trigger_file` for the format). It describes the burst's newest
packet, gives the burst's best position (the smallest real error radius among its packets,
with the packet and instrument it came from) and says whether the burst was retracted
(:func:`next_trigger_text` decides what a new packet changes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from analysis.voevent import BURST_ID_PATTERN, AlertRecord, iso_utc

#: The keys of a trigger file, in the order they are written.
TRIGGER_KEYS: tuple[str, ...] = (
    "burst_id",
    "ivorn",
    "t0_iso",
    "t0_mjd",
    "ra_deg",
    "dec_deg",
    "error_deg",
    "instrument",
    "packet_type",
    "role",
    "packet_date",
    "received",
    "retracted",
    "position_ivorn",
    "position_instrument",
)
#: The keys that describe the burst's best position (rewritten together).
POSITION_KEYS: tuple[str, ...] = (
    "ra_deg",
    "dec_deg",
    "error_deg",
    "position_ivorn",
    "position_instrument",
)


@dataclass(frozen=True)
class TriggerPosition:
    """A burst's position as one packet gave it: degrees, and where it came from."""

    ra_deg: float
    dec_deg: float
    error_deg: float | None
    ivorn: str
    instrument: str | None

    @property
    def rank(self) -> float:
        """The error radius (deg); a position without one ranks after every real error."""
        return math.inf if self.error_deg is None else self.error_deg

    def values(self) -> dict[str, object]:
        """The trigger file's values of :data:`POSITION_KEYS`."""
        return dict(zip(POSITION_KEYS, self._fields(), strict=True))

    def _fields(self) -> tuple:
        return (self.ra_deg, self.dec_deg, self.error_deg, self.ivorn, self.instrument)


def position_of(record: AlertRecord) -> TriggerPosition | None:
    """The position a packet gives, or None (no position, or a retraction)."""
    if record.retraction or record.ra_deg is None or record.dec_deg is None:
        return None
    return TriggerPosition(
        record.ra_deg, record.dec_deg, record.error_deg, record.ivorn, record.instrument
    )


def best_position(*positions: TriggerPosition | None) -> TriggerPosition | None:
    """The position with the smallest real error radius (the first one on a tie)."""
    best = None
    for position in positions:
        if position is not None and (best is None or position.rank < best.rank):
            best = position
    return best


def trigger_file_name(burst_id: str) -> str:
    """``trigger_<burstid>.dat``; refuses anything but an SVOM burst ID (it becomes a file name)."""
    if not BURST_ID_PATTERN.match(burst_id or ""):
        raise ValueError(f"burst ID {burst_id!r} is not 'sb' and 8 digits; no trigger file name")
    return f"trigger_{burst_id}.dat"


def format_trigger_file(
    record: AlertRecord,
    *,
    received: datetime,
    retracted: bool,
    position: TriggerPosition | None = None,
) -> str:
    """The trigger file the telescope reads for one burst, as text.

    One ``key = value`` per line, in the order of :data:`TRIGGER_KEYS`; lines starting
    with ``#`` are comments; an unknown value is the word ``none``::

        # COLIBRI trigger file, written by GIC Workbench
        burst_id = sb26021102
        ivorn = ivo://org.svom/fsc#sb26021102_eclairs-wakeup
        t0_iso = 2026-02-11T19:24:23.604000Z      trigger time, UTC
        t0_mjd = 61082.808606527779               trigger time, UTC MJD (days)
        ra_deg = 86.9755                          best ICRS right ascension (deg)
        dec_deg = -0.4379                         best ICRS declination (deg)
        error_deg = 0.1057                        its error radius (deg, > 0)
        instrument = ECLAIRs
        packet_type = 202
        role = observation                        'test' packets are not real alerts
        packet_date = 2026-02-11T19:25:50.000000Z when the sender wrote the packet, UTC
        received = 2026-02-11T19:25:51.123456Z    when the workbench received it, UTC
        retracted = false                         'true' once a retraction names the burst
        position_ivorn = ivo://org.svom/fsc#sb26021102_eclairs-wakeup   packet of the position
        position_instrument = ECLAIRs             instrument of the position

    (the explanations above are not part of the file). The position is the burst's best
    (smallest real error radius); the other keys describe the newest packet. A burst
    without any position (GRM alone, ``Error2Radius = -1``) has ``none`` in every
    position key, never a negative radius.

    Parameters
    ----------
    record : AlertRecord
        The packet the file describes (the burst's newest one); needs a burst ID.
    received : datetime
        When the workbench received that packet (UTC).
    retracted : bool
        Whether a retraction of the burst has been received.
    position : TriggerPosition, optional
        The burst's best position; by default the record's own.

    Raises
    ------
    ValueError
        If the record has no SVOM burst ID.
    """
    trigger_file_name(record.burst_id or "")
    position = position or position_of(record)
    values = {
        "burst_id": record.burst_id,
        "ivorn": record.ivorn,
        "t0_iso": iso_utc(record.t0),
        "t0_mjd": None if record.t0_mjd is None else f"{record.t0_mjd:.12f}",
        "instrument": record.instrument,
        "packet_type": record.packet_type,
        "role": record.role,
        "packet_date": iso_utc(record.date),
        "received": iso_utc(received),
        "retracted": "true" if retracted else "false",
        **(position.values() if position else dict.fromkeys(POSITION_KEYS)),
    }
    lines = ["# COLIBRI trigger file, written by GIC Workbench (key = value; see TRIGGER_KEYS)"]
    lines += [f"{key} = {_trigger_value(values[key])}" for key in TRIGGER_KEYS]
    return "\n".join(lines) + "\n"


def _trigger_value(value: object) -> str:
    if value is None:
        return "none"
    return str(value).replace("\n", " ").strip()


def read_trigger_file(text: str) -> dict[str, str]:
    """The ``key = value`` pairs of a trigger file (comments and blank lines skipped).

    Raises
    ------
    ValueError
        If a line is neither a comment nor ``key = value``; the message gives the line number.
    """
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        if not sep:
            raise ValueError(f"trigger file line {number}: {line!r} is not 'key = value'")
        values[key.strip()] = value.strip()
    return values


def next_trigger_text(
    existing: str | None, record: AlertRecord, *, received: datetime
) -> str | None:
    """The new content of a burst's trigger file after ``record`` arrives, or None to leave it.

    The file shows the burst's newest packet (by ``Who/Date``; a later-dated packet such as
    an MXT update rewrites it, an older one arriving late does not), the best position of
    every packet seen (:func:`best_position`: a late packet with a smaller error radius
    still moves it), and ``retracted = true`` once a retraction has arrived (kept by every
    later rewrite). A retraction keeps the position already in the file; with no file yet,
    it describes itself. A packet whose ivorn the file already names (as the newest packet
    or as the position's) changes nothing, even if its content differs (the store
    quarantines such a packet).

    Parameters
    ----------
    existing : str or None
        The current trigger file's text, None when there is none.
    record : AlertRecord
        The packet just received; must carry a burst ID.
    received : datetime
        When it was received (UTC).

    Returns
    -------
    str or None
        The text to write, or None when the file already says everything (same packet again,
        or an older packet with nothing new to say).
    """
    if existing is None:
        return format_trigger_file(record, received=received, retracted=record.retraction)
    current = read_trigger_file(existing)
    if record.ivorn in (current.get("ivorn"), current.get("position_ivorn")):
        return None  # a packet the file already shows (a second reading changes nothing)
    was_retracted = current.get("retracted") == "true"
    if record.retraction:
        return None if was_retracted else _replace_values(existing, {"retracted": "true"})
    shown = position_in(current)
    best = best_position(shown, position_of(record))
    if current.get("ivorn") != record.ivorn and _is_newer(record, current.get("packet_date")):
        return format_trigger_file(
            record, received=received, retracted=was_retracted, position=best
        )
    if best is not None and best != shown:
        return _replace_values(existing, best.values())
    return None


def position_in(values: dict[str, str]) -> TriggerPosition | None:
    """The position a trigger file gives (see :func:`read_trigger_file`), or None.

    A file written before positions were ranked may hold an error radius of zero or less
    (SVOM GRM's "no localisation"): that is no position.
    """
    try:
        ra, dec = float(values.get("ra_deg", "none")), float(values.get("dec_deg", "none"))
    except ValueError:  # 'none'
        return None
    error_text = values.get("error_deg", "none")
    error = None if error_text == "none" else float(error_text)
    if error is not None and error <= 0:
        return None
    return TriggerPosition(
        ra,
        dec,
        error,
        values.get("position_ivorn", values.get("ivorn", "none")),
        _none(values.get("position_instrument", values.get("instrument"))),
    )


def _none(value: str | None) -> str | None:
    return None if value in (None, "none") else value


def _replace_values(text: str, values: dict[str, object]) -> str:
    """The trigger file ``text`` with the lines of ``values``' keys rewritten (missing keys
    added at the end), every other line as it was."""
    lines, done = [], set()
    for line in text.splitlines():
        key = line.partition("=")[0].strip()
        if key in values and not line.lstrip().startswith("#"):
            lines.append(f"{key} = {_trigger_value(values[key])}")
            done.add(key)
        else:
            lines.append(line)
    lines += [f"{k} = {_trigger_value(v)}" for k, v in values.items() if k not in done]
    return "\n".join(lines) + "\n"


def _is_newer(record: AlertRecord, current_date: str | None) -> bool:
    if record.date is None or current_date in (None, "none"):
        return True
    return iso_utc(record.date) >= current_date
