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

By noun: :mod:`.record` (the record, its errors, its times), :mod:`.safe_xml` (untrusted XML
parsed safely) and :mod:`.packet` (a VOEvent read into a record).
"""

from analysis.voevent.packet import EVENT_ID_PARAMS, MISSIONS, SVOM_BURST_ID_PARAM, parse_voevent
from analysis.voevent.record import (
    BURST_ID_PATTERN,
    ROLES,
    SVOM_RETRACTION_PACKET_TYPE,
    AlertRecord,
    Citation,
    HostileVOEventError,
    VOEventError,
    iso_utc,
    record_differences,
    utc_to_mjd,
)
from analysis.voevent.safe_xml import MAX_PACKET_BYTES, parse_xml_safely

__all__ = [
    "BURST_ID_PATTERN",
    "EVENT_ID_PARAMS",
    "MAX_PACKET_BYTES",
    "MISSIONS",
    "ROLES",
    "SVOM_BURST_ID_PARAM",
    "SVOM_RETRACTION_PACKET_TYPE",
    "AlertRecord",
    "Citation",
    "HostileVOEventError",
    "VOEventError",
    "iso_utc",
    "parse_voevent",
    "parse_xml_safely",
    "record_differences",
    "utc_to_mjd",
]
