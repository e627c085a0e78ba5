"""Untrusted XML parsed safely: a bounded size and nesting depth, no DTD, no entity,
nothing fetched."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.parsers import expat

from analysis.limits import MAX_XML_DEPTH
from analysis.voevent.record import HostileVOEventError, VOEventError

#: Largest packet accepted, in bytes (real packets are 2–20 kB).
MAX_PACKET_BYTES = 1_000_000


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
