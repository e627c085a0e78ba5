"""What one alert packet says, as an :class:`AlertRecord`, whatever its format; the
errors a packet raises; two readings of one ivorn compared; its times as MJD and ISO."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

#: The roles a VOEvent may declare (VOEvent 2.0, section 3.3.1).
ROLES: tuple[str, ...] = ("observation", "prediction", "utility", "test")


#: SVOM's Packet_Type of a retraction notice.
SVOM_RETRACTION_PACKET_TYPE = 219


#: An SVOM burst ID: ``sb`` then YYMMDD and a two-digit number of the day.
BURST_ID_PATTERN = re.compile(r"^sb\d{8}$")


_MJD_UNIX_EPOCH = 40587.0  # MJD of 1970-01-01T00:00:00 UTC


class VOEventError(ValueError):
    """A packet that is not a usable VOEvent; the message says what was expected."""


class HostileVOEventError(VOEventError):
    """A packet refused for safety: too large, too deeply nested, or declaring a DTD or entities."""


@dataclass(frozen=True)
class Citation:
    """One ``Citations/EventIVORN``: the cited ivorn and how (followup, supersedes, retraction)."""

    ivorn: str
    cite: str


@dataclass(frozen=True)
class AlertRecord:
    """What one VOEvent packet says.

    Attributes
    ----------
    ivorn : str
        The packet's unique identifier (``ivo://org.svom/fsc#sb26021102_eclairs-wakeup``).
    role : str
        One of :data:`ROLES`; ``test`` packets are not real alerts.
    version : str
        VOEvent version declared by the packet ("2.0").
    author : str or None
        ``Who/AuthorIVORN``, else the author's short name or contact name.
    date : datetime or None
        ``Who/Date``, when the packet was written (UTC, aware).
    packet_type : int or None
        ``What/Param[@name="Packet_Type"]`` (GCN and SVOM notice type numbers).
    mission, instrument : str or None
        ``SVOM``/``Fermi``/``Swift``/``LVK``...; ``ECLAIRs``, ``GRM``, ``MXT``, ``GBM``, ``BAT``...
    burst_id : str or None
        SVOM burst ID (``sbYYMMDDNN``); None for packets that carry none (GW alerts...).
    event_id : str or None
        The mission's own event name: the burst ID, a GraceID or a GCN TrigID.
    t0 : datetime or None
        Trigger time from ``WhereWhen`` (UTC, aware).
    t0_mjd : float or None
        The same time as a UTC Modified Julian Date, in days.
    ra_deg, dec_deg, error_deg : float or None
        Position (ICRS/FK5, degrees) and its error radius (degrees, always > 0). None where
        the packet gives none, gives the "unavailable" position 0, 0 with a zero radius (GCN,
        Fermi), or an error radius of zero or less (SVOM GRM's ``Error2Radius = -1``: no
        localisation).
    params : dict of str to str
        Every ``Param`` of ``What``, by name; grouped ones as ``"Group.Param"``.
    units : dict of str to str
        The unit of each param that declares one, with the same keys.
    citations : tuple of Citation
    description : str or None
        ``How/Description`` (or the packet's top-level ``Description``).
    alert_type : str or None
        A JSON notice's ``alert_type`` (initial, subsequent, update, retraction); None for
        a VOEvent.
    notice_format : str
        ``voevent`` or ``json`` (a GCN JSON notice, :mod:`analysis.gcn_notice`).
    """

    ivorn: str
    role: str
    version: str
    author: str | None
    date: datetime | None
    packet_type: int | None
    mission: str | None
    instrument: str | None
    burst_id: str | None
    event_id: str | None
    t0: datetime | None
    t0_mjd: float | None
    ra_deg: float | None
    dec_deg: float | None
    error_deg: float | None
    params: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    citations: tuple[Citation, ...] = ()
    description: str | None = None
    alert_type: str | None = None
    notice_format: str = "voevent"

    @property
    def retraction(self) -> bool:
        """True for a retraction: SVOM Packet_Type 219, a JSON notice of alert_type
        ``retraction``, or any ``cite="retraction"`` citation."""
        svom_retraction = self.mission == "SVOM" and self.packet_type == SVOM_RETRACTION_PACKET_TYPE
        return (
            svom_retraction
            or self.alert_type == "retraction"
            or any(c.cite == "retraction" for c in self.citations)
        )

    @property
    def retracted_ivorns(self) -> tuple[str, ...]:
        """The ivorns this packet retracts (empty unless it is a retraction)."""
        return tuple(c.ivorn for c in self.citations if c.cite == "retraction")

    def to_dict(self) -> dict:
        """A JSON-ready dictionary (times as ISO strings, citations as lists)."""
        return {
            "ivorn": self.ivorn,
            "role": self.role,
            "version": self.version,
            "author": self.author,
            "date": iso_utc(self.date),
            "packet_type": self.packet_type,
            "mission": self.mission,
            "instrument": self.instrument,
            "burst_id": self.burst_id,
            "event_id": self.event_id,
            "t0": iso_utc(self.t0),
            "t0_mjd": self.t0_mjd,
            "ra": self.ra_deg,
            "dec": self.dec_deg,
            "error_deg": self.error_deg,
            "retraction": self.retraction,
            "retracted_ivorns": list(self.retracted_ivorns),
            "params": dict(self.params),
            "units": dict(self.units),
            "citations": [{"ivorn": c.ivorn, "cite": c.cite} for c in self.citations],
            "description": self.description,
            "alert_type": self.alert_type,
            "notice_format": self.notice_format,
        }


def record_differences(old: AlertRecord, new: AlertRecord) -> list[str]:
    """What two readings of one ivorn say differently, one ``field: old -> new`` per line.

    Fields are those of :meth:`AlertRecord.to_dict`; params and units are compared by name
    (``params.Burst_Id: 'sb26020401' -> 'sb26020402'``). Empty when they say the same.
    """
    before, after = old.to_dict(), new.to_dict()
    differences = []
    for key in before:
        if key in ("params", "units"):
            names = sorted(set(before[key]) | set(after[key]))
            differences += [
                f"{key}.{name}: {before[key].get(name)!r} -> {after[key].get(name)!r}"
                for name in names
                if before[key].get(name) != after[key].get(name)
            ]
        elif before[key] != after[key]:
            differences.append(f"{key}: {before[key]!r} -> {after[key]!r}")
    return differences


def utc_to_mjd(moment: datetime) -> float:
    """A UTC time as a Modified Julian Date, in days (``MJD = 40587 + unix seconds / 86400``).

    Parameters
    ----------
    moment : datetime
        Aware, or naive meaning UTC.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _MJD_UNIX_EPOCH + moment.timestamp() / 86400.0


def iso_utc(moment: datetime | None) -> str | None:
    """``2026-02-11T19:24:23.604000Z`` for an aware or naive-UTC time; None stays None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
