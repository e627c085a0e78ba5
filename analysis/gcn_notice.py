"""GCN's JSON notices, and the one entry point that reads any alert packet.

GCN Kafka serves the notices of newer missions (SVOM's ECLAIRs and GRM triggers, Einstein
Probe WXT alerts...) as JSON documents under the schemas of ``nasa-gcn/gcn-schema``. A
notice names its schema in ``$schema``
(``https://gcn.nasa.gov/schema/<version>/gcn/notices/svom/trigger.schema.json``); it is
checked against the copy of that schema kept in ``analysis/data/gcn_schema`` (see its
``PROVENANCE.md``; validation needs no network), then read into the same
:class:`~analysis.voevent.AlertRecord` as a VOEvent:

==================  ======================================================================
AlertRecord         JSON notice
==================  ======================================================================
burst_id            the first ``id`` of the form ``sbYYMMDDNN`` (SVOM)
event_id            the first ``id``
t0                  ``trigger_time``
ra, dec, error      ``ra``, ``dec``, ``ra_dec_error`` (a circle's radius, or an ellipse's
                    semi-major axis); an error of zero or less means no position
instrument          ``instrument``
role                ``alert_tense``: test and injection are ``test``, planned is
                    ``prediction``, the others ``observation``
retraction          ``alert_type`` is ``retraction``
date                ``alert_datetime``
params              every field, values as text (lists and objects as JSON)
==================  ======================================================================

A JSON notice carries no ivorn: its identifier is built from its schema, its IDs and the
SHA-256 of its canonical form (``gcn-json:svom/trigger#sb24022203_3f2a...``), so the same
notice delivered twice is one notice. The document itself is kept by the store.

:func:`parse_notice` is the one path every source takes: it reads a VOEvent (the packet
starts with ``<``) or a JSON notice (``{``), and refuses anything else saying so.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from analysis.voevent import (
    BURST_ID_PATTERN,
    MAX_PACKET_BYTES,
    AlertRecord,
    HostileVOEventError,
    VOEventError,
    parse_voevent,
    utc_to_mjd,
)
from analysis.voevent.packet import _parse_time

#: Where the vendored schemas lie, as in the schema repository (``gcn/notices/...``).
SCHEMA_FOLDER = files("analysis") / "data" / "gcn_schema"
#: A notice's ``$schema``: GCN's schema address, any version, and the path under gcn/notices.
SCHEMA_URL = re.compile(
    r"^https://gcn\.nasa\.gov/schema/(?P<version>[^/]+)/gcn/notices/(?P<path>.+)\.schema\.json$"
)
#: The notice schemas read, by path under ``gcn/notices``, with the mission they belong to.
NOTICE_SCHEMAS: dict[str, str] = {
    "svom/trigger": "SVOM",
    "einstein_probe/wxt/alert": "Einstein Probe",
}
#: The VOEvent role of each ``alert_tense``.
ROLE_OF_TENSE: dict[str, str] = {
    "current": "observation",
    "archival": "observation",
    "commanded": "observation",
    "planned": "prediction",
    "injection": "test",
    "test": "test",
}
if TYPE_CHECKING:  # imported when a JSON notice is read: a VOEvent's handler never pays for it
    from jsonschema import Draft202012Validator
    from referencing import Registry

_MAIN = "https://gcn.nasa.gov/schema/main/gcn/notices/"
_UTF8_BOM = b"\xef\xbb\xbf"


class JSONNoticeError(VOEventError):
    """A JSON document that is not a usable GCN notice; the message names the field."""


# -- which kind of packet ------------------------------------------------------------------
def packet_kind(packet: bytes) -> str:
    """``"xml"``, ``"json"`` or ``"unknown"``, from the packet's first meaningful byte.

    A UTF-8 byte-order mark and leading whitespace are skipped; a UTF-16 byte-order mark
    means XML (JSON is UTF-8).
    """
    head = bytes(packet[:4096])
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "xml"
    head = head.removeprefix(_UTF8_BOM).lstrip()
    if head.startswith(b"<"):
        return "xml"
    if head.startswith((b"{", b"[")):
        return "json"
    return "unknown"


def parse_notice(packet: bytes, *, max_bytes: int = MAX_PACKET_BYTES) -> AlertRecord:
    """Read one alert packet, VOEvent or GCN JSON notice, into an :class:`AlertRecord`.

    The parameters and the record are those of :func:`~analysis.voevent.parse_voevent`;
    what a JSON notice gives is in the module's table.

    Raises
    ------
    HostileVOEventError
        If the packet is too large, or hostile (see :func:`~analysis.voevent.parse_voevent`).
    VOEventError
        If it is neither XML nor JSON (the message says so and quotes its first bytes), or
        not a usable VOEvent or JSON notice (the message names the element or field).
    """
    if not isinstance(packet, bytes | bytearray):
        raise VOEventError(f"packet must be bytes, got {type(packet).__name__}")
    _refuse_oversized(packet, max_bytes)
    kind = packet_kind(packet)
    if kind == "json":
        return parse_json_notice(packet, max_bytes=max_bytes)
    if kind == "xml" or not bytes(packet).strip():
        return parse_voevent(packet, max_bytes=max_bytes)
    start = bytes(packet[:16]).removeprefix(_UTF8_BOM).lstrip()[:8]
    raise VOEventError(
        f"packet is neither XML nor JSON: it starts with {start!r}, expected '<' of a VOEvent "
        "or '{' of a GCN JSON notice"
    )


def _refuse_oversized(packet: bytes, max_bytes: int) -> None:
    if len(packet) > max_bytes:
        raise HostileVOEventError(
            f"packet of {len(packet)} bytes exceeds the {max_bytes}-byte limit"
        )


# -- JSON notices --------------------------------------------------------------------------
@functools.cache
def _registry() -> Registry:
    from referencing import Registry, Resource

    resources = []
    for path in _schema_files(SCHEMA_FOLDER):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


def _schema_files(folder) -> list:
    found = []
    for entry in folder.iterdir():
        if entry.is_dir():
            found += _schema_files(entry)
        elif entry.name.endswith(".schema.json"):
            found.append(entry)
    return found


@functools.cache
def _validator(path: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = _registry().contents(f"{_MAIN}{path}.schema.json")
    return Draft202012Validator(schema, registry=_registry())


def _refuse_constant(name: str) -> None:
    raise JSONNoticeError(f"JSON notice holds {name}, which is not JSON; expected a number")


def _load_json(packet: bytes) -> dict[str, Any]:
    try:
        text = bytes(packet).removeprefix(_UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JSONNoticeError(f"JSON notice is not UTF-8: {exc}") from exc
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise HostileVOEventError("JSON notice nests too deeply; a notice nests 2 levels") from exc
    except json.JSONDecodeError as exc:
        raise JSONNoticeError(f"packet is not well-formed JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise JSONNoticeError(f"JSON notice is a {type(document).__name__}, expected an object")
    return document


def _schema_of(document: dict[str, Any]) -> tuple[str, str]:
    given = document.get("$schema")
    if not isinstance(given, str):
        raise JSONNoticeError(
            "JSON notice has no field '$schema' naming its GCN notice schema "
            f"(one of {', '.join(sorted(NOTICE_SCHEMAS))})"
        )
    match = SCHEMA_URL.match(given)
    if match is None or match["path"] not in NOTICE_SCHEMAS:
        raise JSONNoticeError(
            f"JSON notice field '$schema' is {given!r}, expected a GCN notice schema "
            f"{_MAIN}<path>.schema.json with <path> one of {', '.join(sorted(NOTICE_SCHEMAS))}"
        )
    return match["path"], match["version"]


def validate_json_notice(document: dict[str, Any], path: str) -> None:
    """Check a notice against the vendored schema ``gcn/notices/<path>.schema.json``.

    Raises
    ------
    JSONNoticeError
        Naming the first wrong field (by its JSON path) and what the schema expects; an
        error of the whole notice (an unknown field) only when no field is wrong.
    """
    errors = sorted(  # a field's own error first: the notice's then only repeats it
        _validator(path).iter_errors(document),
        key=lambda e: (not e.absolute_path, [str(p) for p in e.absolute_path], e.message),
    )
    if errors:
        first = errors[0]
        field = "/".join(str(p) for p in first.absolute_path) or "(the notice)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise JSONNoticeError(
            f"JSON notice fails schema {path}: field '{field}': {first.message}{more}"
        )


def parse_json_notice(packet: bytes, *, max_bytes: int = MAX_PACKET_BYTES) -> AlertRecord:
    """Read one GCN JSON notice into an :class:`AlertRecord` (see the module's table).

    Raises
    ------
    HostileVOEventError
        If the packet is larger than ``max_bytes`` or nests too deeply.
    JSONNoticeError
        If it is not a JSON object, names no known schema, fails the schema, or holds an
        SVOM ``id`` that is no burst ID or a declination outside [-90, 90]; the message
        names the field.
    """
    _refuse_oversized(packet, max_bytes)
    document = _load_json(packet)
    path, version = _schema_of(document)
    validate_json_notice(document, path)
    mission = NOTICE_SCHEMAS[path]
    ids = _ids(document.get("id"))
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    ivorn = f"gcn-json:{path}#{'_'.join(ids) or 'notice'}_{_digest(canonical)}"
    burst_id = _burst_id(ivorn, mission, ids)
    t0 = _parse_time(ivorn, "field 'trigger_time'", document.get("trigger_time"))
    ra, dec, error = _position(ivorn, document)
    return AlertRecord(
        ivorn=ivorn,
        role=ROLE_OF_TENSE.get(document.get("alert_tense", "current"), "observation"),
        version=version,
        author=document.get("mission") or mission,
        date=_parse_time(ivorn, "field 'alert_datetime'", document.get("alert_datetime")),
        packet_type=None,
        mission=mission,
        instrument=document.get("instrument"),
        burst_id=burst_id,
        event_id=ids[0] if ids else None,
        t0=t0,
        t0_mjd=None if t0 is None else utc_to_mjd(t0),
        ra_deg=ra,
        dec_deg=dec,
        error_deg=error,
        params={key: _text(value) for key, value in document.items()},
        description=document.get("additional_info"),
        alert_type=document.get("alert_type"),
        notice_format="json",
    )


def _digest(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _ids(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _burst_id(ivorn: str, mission: str, ids: list[str]) -> str | None:
    if mission != "SVOM" or not ids:
        return None
    burst = next((i for i in ids if BURST_ID_PATTERN.match(i)), None)
    if burst is None:
        raise JSONNoticeError(
            f"{ivorn}: field 'id' is {ids!r}, expected an SVOM burst ID ('sb' and 8 digits)"
        )
    return burst


def _position(ivorn: str, document: dict[str, Any]) -> tuple[float | None, ...]:
    ra, dec = document.get("ra"), document.get("dec")
    error = document.get("ra_dec_error")
    if isinstance(error, list):
        error = error[0] if error else None  # an ellipse: its semi-major axis
    if ra is None or dec is None or (error is not None and error <= 0):
        return None, None, None  # no position, or "no localisation"
    if not (math.isfinite(ra) and math.isfinite(dec) and -90.0 <= dec <= 90.0):
        raise JSONNoticeError(f"{ivorn}: field 'dec' is {dec}, expected a value in [-90, 90]")
    return float(ra) % 360.0, float(dec), None if error is None else float(error)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
