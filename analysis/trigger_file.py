"""The COLIBRI trigger file: one burst's position and trigger time for the telescope.

``trigger_<burstid>.dat`` is plain text the telescope side reads: one ``key = value`` per
line (see :func:`format_trigger_file` for the format). It describes the burst's newest
packet and says whether the burst was retracted (:func:`next_trigger_text` decides what a
new packet changes).
"""

from __future__ import annotations

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
)


def trigger_file_name(burst_id: str) -> str:
    """``trigger_<burstid>.dat``; refuses anything but an SVOM burst ID (it becomes a file name)."""
    if not BURST_ID_PATTERN.match(burst_id or ""):
        raise ValueError(f"burst ID {burst_id!r} is not 'sb' and 8 digits; no trigger file name")
    return f"trigger_{burst_id}.dat"


def format_trigger_file(record: AlertRecord, *, received: datetime, retracted: bool) -> str:
    """The trigger file the telescope reads for one burst, as text.

    One ``key = value`` per line, in the order of :data:`TRIGGER_KEYS`; lines starting
    with ``#`` are comments; an unknown value is the word ``none``::

        # COLIBRI trigger file, written by GIC Workbench
        burst_id = sb26021102
        ivorn = ivo://org.svom/fsc#sb26021102_eclairs-wakeup
        t0_iso = 2026-02-11T19:24:23.604000Z      trigger time, UTC
        t0_mjd = 61082.808606527779               trigger time, UTC MJD (days)
        ra_deg = 86.9755                          ICRS right ascension (deg)
        dec_deg = -0.4379                         ICRS declination (deg)
        error_deg = 0.1057                        error radius (deg)
        instrument = ECLAIRs
        packet_type = 202
        role = observation                        'test' packets are not real alerts
        packet_date = 2026-02-11T19:25:50.000000Z when the sender wrote the packet, UTC
        received = 2026-02-11T19:25:51.123456Z    when the workbench received it, UTC
        retracted = false                         'true' once a retraction names the burst

    (the explanations above are not part of the file).

    Parameters
    ----------
    record : AlertRecord
        The packet the file describes (the burst's newest one); needs a burst ID.
    received : datetime
        When the workbench received that packet (UTC).
    retracted : bool
        Whether a retraction of the burst has been received.

    Raises
    ------
    ValueError
        If the record has no SVOM burst ID.
    """
    trigger_file_name(record.burst_id or "")
    values = {
        "burst_id": record.burst_id,
        "ivorn": record.ivorn,
        "t0_iso": iso_utc(record.t0),
        "t0_mjd": None if record.t0_mjd is None else f"{record.t0_mjd:.12f}",
        "ra_deg": record.ra_deg,
        "dec_deg": record.dec_deg,
        "error_deg": record.error_deg,
        "instrument": record.instrument,
        "packet_type": record.packet_type,
        "role": record.role,
        "packet_date": iso_utc(record.date),
        "received": iso_utc(received),
        "retracted": "true" if retracted else "false",
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
    an MXT update rewrites it, an older one arriving late does not), and ``retracted = true``
    once a retraction has arrived (kept by every later rewrite). A retraction keeps the
    position of the packet already in the file; with no file yet, it describes itself.

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
    was_retracted = current.get("retracted") == "true"
    if record.retraction:
        if was_retracted:
            return None
        return existing.replace("retracted = false", "retracted = true")
    if current.get("ivorn") == record.ivorn or not _is_newer(record, current.get("packet_date")):
        return None
    return format_trigger_file(record, received=received, retracted=was_retracted)


def _is_newer(record: AlertRecord, current_date: str | None) -> bool:
    if record.date is None or current_date in (None, "none"):
        return True
    return iso_utc(record.date) >= current_date
