"""A VOEvent 2.0 packet read into an :class:`~analysis.voevent.record.AlertRecord`:
its sender and mission, the burst ID, T0, the position and its error, every Param of
What, its citations."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from analysis.voevent.record import (
    BURST_ID_PATTERN,
    ROLES,
    AlertRecord,
    Citation,
    VOEventError,
    utc_to_mjd,
)
from analysis.voevent.safe_xml import MAX_PACKET_BYTES, parse_xml_safely

#: Where SVOM packets carry the burst ID: (Group name, Param name) in What.
SVOM_BURST_ID_PARAM: tuple[str, str] = ("Svom_Identifiers", "Burst_Id")


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


_DEGREES_PER_UNIT = {
    "deg": 1.0,
    "": 1.0,
    "rad": math.degrees(1.0),
    "arcmin": 1 / 60,
    "arcsec": 1 / 3600,
}


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
