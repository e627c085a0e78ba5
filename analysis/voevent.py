"""VOEvent packets: safe parsing into alert records, and the COLIBRI trigger file format.

A VOEvent 2.0 packet (the IVOA standard the SVOM French Science Center, GCN and
LIGO/Virgo/KAGRA publish alerts in) becomes an :class:`AlertRecord`: who sent it,
which mission and instrument, the SVOM burst ID, the trigger time T0, the position
with its error radius, and every ``Param`` of ``What`` (groups included).

SVOM packets name the burst in ``What/Group[@name="Svom_Identifiers"]/Param[@name="Burst_Id"]``
(``sbYYMMDDNN``); their packet type is ``What/Param[@name="Packet_Type"]`` (201 GRM
trigger, 202 ECLAIRs wakeup, 203/204 slewing/not slewing, 205 catalog, 209/210 MXT
initial/update, 219 retraction). A retraction cites the ivorns it retracts in
``Citations/EventIVORN[@cite="retraction"]``.

Parsing is safe for packets from the network: a packet larger than ``max_bytes`` is
refused before it is read, one nesting elements deeper than
:data:`~analysis.limits.MAX_XML_DEPTH` as soon as the parser meets them, and any
``<!DOCTYPE`` is refused, so no entity can be declared or expanded (billion laughs,
external entities / XXE) and nothing is ever fetched. Everything wrong with a packet raises :class:`VOEventError`
(or its subclass :class:`HostileVOEventError`) with a message saying what was expected.

The trigger file the telescope reads is written by :mod:`analysis.trigger_file`.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.parsers import expat

from analysis.limits import MAX_XML_DEPTH

#: Largest packet accepted, in bytes (real packets are 2–20 kB).
MAX_PACKET_BYTES = 1_000_000
#: The roles a VOEvent may declare (VOEvent 2.0, section 3.3.1).
ROLES: tuple[str, ...] = ("observation", "prediction", "utility", "test")
#: SVOM's Packet_Type of a retraction notice.
SVOM_RETRACTION_PACKET_TYPE = 219
#: Where SVOM packets carry the burst ID: (Group name, Param name) in What.
SVOM_BURST_ID_PARAM: tuple[str, str] = ("Svom_Identifiers", "Burst_Id")
#: An SVOM burst ID: ``sb`` then YYMMDD and a two-digit number of the day.
BURST_ID_PATTERN = re.compile(r"^sb\d{8}$")
#: Params that name an event in other missions' packets (GCN TrigID, LVK GraceID).
EVENT_ID_PARAMS: tuple[str, ...] = ("Burst_Id", "GraceID", "TrigID")
#: The mission of a packet, from the start of its ivorn (or author ivorn), case-insensitive.
MISSIONS: tuple[tuple[str, str], ...] = (
    ("ivo://org.svom", "SVOM"),
    ("ivo://svom", "SVOM"),
    ("ivo://nasa.gsfc.gcn/fermi", "Fermi"),
    ("ivo://nasa.gsfc.gcn/swift", "Swift"),
    ("ivo://nasa.gsfc.gcn/gcn", "GCN"),
    ("ivo://nasa.gsfc.gcn/agile", "AGILE"),
    ("ivo://nasa.gsfc.gcn/integral", "INTEGRAL"),
    ("ivo://nasa.gsfc.gcn/snews", "SNEWS"),
    ("ivo://nasa.gsfc.gcn/amon", "AMON"),
    ("ivo://voevent.4pisky.org/asassn", "ASAS-SN"),
    ("ivo://gaia.cam.uk", "Gaia"),
    ("ivo://voevent.4pisky.org/gaia", "Gaia"),
    ("ivo://gwnet", "LVK"),
)
_MJD_UNIX_EPOCH = 40587.0  # MJD of 1970-01-01T00:00:00 UTC
_DEGREES_PER_UNIT = {
    "deg": 1.0,
    "": 1.0,
    "rad": math.degrees(1.0),
    "arcmin": 1 / 60,
    "arcsec": 1 / 3600,
}


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


# -- safe XML ------------------------------------------------------------------------------
def _refuse_doctype(*_args: object) -> None:
    raise HostileVOEventError(
        "packet declares a DOCTYPE; VOEvents need none and DTDs (entities) are refused"
    )


def _refuse_entity(*_args: object) -> None:
    raise HostileVOEventError("packet declares an entity; entities are refused")


def _limit_depth(parser: expat.XMLParserType, max_depth: int) -> None:
    """Make ``parser`` refuse elements nested deeper than ``max_depth``."""
    depth = 0

    def start(*_args: object) -> None:
        nonlocal depth
        depth += 1
        if depth > max_depth:
            raise HostileVOEventError(
                f"packet nests elements more than {max_depth} levels deep "
                f"(line {parser.CurrentLineNumber}); a VOEvent nests about 7"
            )

    def end(*_args: object) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end


def parse_xml_safely(packet: bytes, *, max_bytes: int = MAX_PACKET_BYTES) -> ET.Element:
    """Parse untrusted XML: bounded size, no DTD, no entities, no network.

    Parameters
    ----------
    packet : bytes
        The document as received.
    max_bytes : int, optional
        Largest accepted size, in bytes.

    Returns
    -------
    xml.etree.ElementTree.Element
        The root element.

    Raises
    ------
    HostileVOEventError
        If the packet is larger than ``max_bytes``, nests elements deeper than
        :data:`~analysis.limits.MAX_XML_DEPTH` or declares a DOCTYPE or an entity.
    VOEventError
        If it is empty or not well-formed XML (the message gives expat's line and column).
    """
    if not isinstance(packet, bytes | bytearray):
        raise VOEventError(f"packet must be bytes, got {type(packet).__name__}")
    if len(packet) > max_bytes:
        raise HostileVOEventError(
            f"packet of {len(packet)} bytes exceeds the {max_bytes}-byte limit"
        )
    if not packet.strip():
        raise VOEventError("packet is empty; expected a VOEvent XML document")
    checker = expat.ParserCreate()
    _limit_depth(checker, MAX_XML_DEPTH)
    checker.StartDoctypeDeclHandler = _refuse_doctype
    checker.EntityDeclHandler = _refuse_entity
    checker.UnparsedEntityDeclHandler = _refuse_entity
    checker.ExternalEntityRefHandler = _refuse_entity
    checker.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        checker.Parse(bytes(packet), True)
    except expat.ExpatError as exc:
        raise VOEventError(f"packet is not well-formed XML: {exc}") from exc
    except VOEventError:  # a DOCTYPE or an entity, refused by the handlers above
        raise
    # <?xml encoding="..."?> names no codec we have (LookupError, UnicodeError) or one expat
    # cannot read (ValueError: "multi-byte encodings are not supported", for UTF-7)
    except (LookupError, ValueError) as exc:
        raise VOEventError(f"packet declares an encoding that cannot be read: {exc}") from exc
    try:
        return ET.fromstring(bytes(packet))
    except ET.ParseError as exc:  # well-formed for expat, but not for namespaces
        raise VOEventError(f"packet is not well-formed XML: {exc}") from exc


# -- VOEvent -------------------------------------------------------------------------------
def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(elem: ET.Element | None, name: str) -> ET.Element | None:
    if elem is None:
        return None
    return next((c for c in elem if _local(c.tag) == name), None)


def _path(elem: ET.Element | None, *names: str) -> ET.Element | None:
    for name in names:
        elem = _child(elem, name)
    return elem


def _text(elem: ET.Element | None) -> str | None:
    if elem is None or elem.text is None:
        return None
    text = elem.text.strip()
    return text or None


def parse_voevent(packet: bytes, *, max_bytes: int = MAX_PACKET_BYTES) -> AlertRecord:
    """Read one VOEvent packet into an :class:`AlertRecord`.

    Parameters
    ----------
    packet : bytes
        The packet as received (Comet's stdin, a Kafka message value, a file's bytes).
    max_bytes : int, optional
        Largest accepted packet, in bytes.

    Returns
    -------
    AlertRecord

    Raises
    ------
    HostileVOEventError
        If the packet is too large or declares a DOCTYPE/entity.
    VOEventError
        If it is not well-formed XML, its root is not ``VOEvent``, it has no ``ivorn``
        or an unknown ``role``, or a time, number or position cannot be read; the
        message names the element and the value found.

    Examples
    --------
    >>> record = parse_voevent(Path("eclairs_296.xml").read_bytes())  # doctest: +SKIP
    >>> record.burst_id, record.instrument, record.error_deg  # doctest: +SKIP
    ('sb26021102', 'ECLAIRs', 0.1057)
    """
    root = parse_xml_safely(packet, max_bytes=max_bytes)
    if _local(root.tag) != "VOEvent":
        raise VOEventError(f"root element is <{_local(root.tag)}>, expected <VOEvent>")
    ivorn = (root.get("ivorn") or "").strip()
    if not ivorn.startswith("ivo://"):
        raise VOEventError(f"VOEvent ivorn attribute is {ivorn!r}, expected 'ivo://...'")
    role = (root.get("role") or "observation").strip()
    if role not in ROLES:
        raise VOEventError(f"{ivorn}: role is {role!r}, expected one of {', '.join(ROLES)}")
    params, units = _what_params(_child(root, "What"))
    author = _author(_child(root, "Who"))
    mission = _mission(ivorn, author)
    t0, ra, dec, error = _where_when(ivorn, _child(root, "WhereWhen"))
    burst_id = params.get(".".join(SVOM_BURST_ID_PARAM))
    if burst_id is not None and not BURST_ID_PATTERN.match(burst_id):
        raise VOEventError(f"{ivorn}: Burst_Id is {burst_id!r}, expected 'sb' and 8 digits")
    return AlertRecord(
        ivorn=ivorn,
        role=role,
        version=(root.get("version") or "").strip(),
        author=author,
        date=_parse_time(ivorn, "Who/Date", _text(_path(root, "Who", "Date"))),
        packet_type=_packet_type(ivorn, params.get("Packet_Type")),
        mission=mission,
        instrument=_instrument(ivorn, params),
        burst_id=burst_id,
        event_id=next((params[k] for k in _event_id_keys(params) if params[k]), None),
        t0=t0,
        t0_mjd=None if t0 is None else utc_to_mjd(t0),
        ra_deg=ra,
        dec_deg=dec,
        error_deg=error,
        params=params,
        units=units,
        citations=_citations(_child(root, "Citations")),
        description=_text(_path(root, "How", "Description")) or _text(_child(root, "Description")),
    )


def _what_params(what: ET.Element | None) -> tuple[dict[str, str], dict[str, str]]:
    params: dict[str, str] = {}
    units: dict[str, str] = {}
    if what is None:
        return params, units

    def add(prefix: str, param: ET.Element) -> None:
        key = prefix + (param.get("name") or "").strip()
        base, n = key, 2
        while key in params:  # a name repeated in one group keeps every value
            key, n = f"{base}#{n}", n + 1
        params[key] = (param.get("value") or _text(_child(param, "Value")) or "").strip()
        if param.get("unit"):
            units[key] = param.get("unit")

    for index, elem in enumerate(what):
        if _local(elem.tag) == "Param":
            add("", elem)
        elif _local(elem.tag) == "Group":
            group = elem.get("name") or elem.get("type") or f"Group{index}"
            for param in elem:
                if _local(param.tag) == "Param":
                    add(f"{group}.", param)
    return params, units


def _event_id_keys(params: dict[str, str]) -> list[str]:
    return [k for k in params if k.rsplit(".", 1)[-1] in EVENT_ID_PARAMS]


def _author(who: ET.Element | None) -> str | None:
    return (
        _text(_child(who, "AuthorIVORN"))
        or _text(_path(who, "Author", "shortName"))
        or _text(_path(who, "Author", "contactName"))
    )


def _mission(ivorn: str, author: str | None) -> str | None:
    for candidate in (ivorn, author or ""):
        lowered = candidate.lower()
        for prefix, mission in MISSIONS:
            if lowered.startswith(prefix):
                return mission
    return None


def _instrument(ivorn: str, params: dict[str, str]) -> str | None:
    for key in ("Instrument", "Instruments"):
        if params.get(key):
            return params[key]
    fragment = ivorn.partition("#")[2]
    if ivorn.lower().startswith(("ivo://nasa.gsfc.gcn/fermi", "ivo://nasa.gsfc.gcn/swift")):
        return fragment.split("_", 1)[0] or None  # GBM_Alert_..., BAT_GRB_Pos_...
    return None


def _packet_type(ivorn: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise VOEventError(f"{ivorn}: Packet_Type is {value!r}, expected an integer") from exc


def _parse_time(ivorn: str, where: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise VOEventError(f"{ivorn}: {where} is {value!r}, expected an ISO 8601 time") from exc
    if moment.tzinfo is None:  # VOEvent times are UTC unless they say otherwise
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _float(ivorn: str, where: str, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise VOEventError(f"{ivorn}: {where} is {value!r}, expected a number") from exc
    if not math.isfinite(number):
        raise VOEventError(f"{ivorn}: {where} is {value!r}, expected a finite number")
    return number


def _where_when(
    ivorn: str, where_when: ET.Element | None
) -> tuple[datetime | None, float | None, float | None, float | None]:
    coords = _path(where_when, "ObsDataLocation", "ObservationLocation", "AstroCoords")
    iso = _text(_path(coords, "Time", "TimeInstant", "ISOTime"))
    t0 = _parse_time(ivorn, "WhereWhen ISOTime", iso)
    position = _child(coords, "Position2D")
    if position is None:
        return t0, None, None, None
    unit = (position.get("unit") or "").strip()
    if unit not in _DEGREES_PER_UNIT:
        raise VOEventError(f"{ivorn}: Position2D unit is {unit!r}, expected deg, rad or arcmin")
    scale = _DEGREES_PER_UNIT[unit]
    ra = _float(ivorn, "Position2D C1", _text(_path(position, "Value2", "C1")))
    dec = _float(ivorn, "Position2D C2", _text(_path(position, "Value2", "C2")))
    error = _float(ivorn, "Position2D Error2Radius", _text(_child(position, "Error2Radius")))
    if ra is None or dec is None or (ra == 0.0 and dec == 0.0 and not error):
        return t0, None, None, None  # no position, or GCN's "unavailable" 0, 0, 0
    if error is not None and error <= 0.0:
        return t0, None, None, None  # "no localisation" (SVOM GRM's Error2Radius = -1)
    if not -90.0 <= dec * scale <= 90.0:
        raise VOEventError(f"{ivorn}: declination {dec} {unit or 'deg'} is outside [-90, 90] deg")
    return t0, (ra * scale) % 360.0, dec * scale, None if error is None else error * scale


def _citations(citations: ET.Element | None) -> tuple[Citation, ...]:
    if citations is None:
        return ()
    return tuple(
        Citation(ivorn=_text(c) or "", cite=(c.get("cite") or "").strip())
        for c in citations
        if _local(c.tag) == "EventIVORN" and _text(c)
    )


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


# -- times ---------------------------------------------------------------------------------
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
