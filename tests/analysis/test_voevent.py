import time
from datetime import UTC, datetime

import pytest
from astropy.time import Time

from analysis.voevent import HostileVOEventError, VOEventError, parse_voevent, utc_to_mjd


def make_packet(
    ivorn="ivo://org.svom/fsc#sb26021102_eclairs-wakeup",
    *,
    burst_id="sb26021102",
    packet_type=202,
    date="2026-02-11T19:25:50+00:00",
    t0="2026-02-11T19:24:23.604000",
    position=(86.9755, -0.4379, 0.1057),
    role="observation",
    retracts=(),
) -> bytes:
    """A small SVOM-shaped packet (the layout of the real FSC packets)."""
    burst = (
        f'<Group name="Svom_Identifiers"><Param name="Burst_Id" value="{burst_id}"/></Group>'
        if burst_id
        else ""
    )
    where = ""
    if position:
        ra, dec, err = position
        where = (
            f'<Position2D unit="deg"><Name1>RA</Name1><Name2>Dec</Name2><Value2><C1>{ra}</C1>'
            f"<C2>{dec}</C2></Value2><Error2Radius>{err}</Error2Radius></Position2D>"
        )
    cites = "".join(f'<EventIVORN cite="retraction">{i}</EventIVORN>' for i in retracts)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" role="{role}" version="2.0"
  ivorn="{ivorn}">
  <Who><AuthorIVORN>ivo://org.svom/fsc</AuthorIVORN><Date>{date}</Date></Who>
  <What><Param name="Packet_Type" value="{packet_type}"/><Param name="Instrument" value="ECLAIRs"/>
    {burst}<Group name="Detection_Info"><Param name="SNR" value="12.79" unit="sigma"/></Group>
  </What>
  <WhereWhen><ObsDataLocation><ObservationLocation><AstroCoords coord_system_id="UTC-ICRS-GEO">
    <Time unit="s"><TimeInstant><ISOTime>{t0}</ISOTime></TimeInstant></Time>{where}
  </AstroCoords></ObservationLocation></ObsDataLocation></WhereWhen>
  {f"<Citations>{cites}</Citations>" if cites else ""}
</voe:VOEvent>""".encode()


def test_svom_packet_fields():
    record = parse_voevent(make_packet())
    assert record.ivorn == "ivo://org.svom/fsc#sb26021102_eclairs-wakeup"
    assert (record.mission, record.instrument, record.packet_type) == ("SVOM", "ECLAIRs", 202)
    assert record.burst_id == "sb26021102"
    assert record.t0 == datetime(2026, 2, 11, 19, 24, 23, 604000, tzinfo=UTC)
    assert record.date == datetime(2026, 2, 11, 19, 25, 50, tzinfo=UTC)
    assert (record.ra_deg, record.dec_deg, record.error_deg) == (86.9755, -0.4379, 0.1057)
    assert record.params["Svom_Identifiers.Burst_Id"] == "sb26021102"
    assert record.params["Detection_Info.SNR"] == "12.79"
    assert record.units["Detection_Info.SNR"] == "sigma"
    assert not record.retraction


def test_t0_mjd_agrees_with_astropy():
    record = parse_voevent(make_packet())
    assert record.t0_mjd == pytest.approx(Time(record.t0).utc.mjd, abs=1e-9)
    assert utc_to_mjd(datetime(1858, 11, 17, tzinfo=UTC)) == 0.0


def test_packet_without_burst_id_parses():
    record = parse_voevent(make_packet(burst_id=None, position=None))
    assert record.burst_id is None
    assert record.ra_deg is None and record.error_deg is None


def test_retraction_is_recognised():
    cited = (
        "ivo://org.svom/fsc#sb26021102_eclairs-wakeup",
        "ivo://org.svom/fsc#sb26021102_slewing",
    )
    record = parse_voevent(
        make_packet("ivo://org.svom/fsc#sb26021102_retraction", packet_type=219, retracts=cited)
    )
    assert record.retraction
    assert record.retracted_ivorns == cited
    assert parse_voevent(make_packet(packet_type=219)).retraction  # type 219 alone is enough


@pytest.mark.parametrize(
    ("packet", "message"),
    [
        (b"", "empty"),
        (b"<VOEvent ivorn='ivo://x/y#z'", "not well-formed"),
        (b"<Event ivorn='ivo://x/y#z'/>", "expected <VOEvent>"),
        (b"<VOEvent role='observation'/>", "ivorn attribute"),
        (b"<VOEvent ivorn='ivo://x/y#z' role='rumour'/>", "role is 'rumour'"),
        (make_packet(burst_id="../../etc/passwd"), "Burst_Id is"),
        (make_packet(t0="yesterday"), "expected an ISO 8601 time"),
        (make_packet(position=("nan", 1, 1)), "finite"),
        (make_packet(position=(1, 95, 1)), "outside"),
        (make_packet(packet_type="two"), "Packet_Type"),
    ],
)
def test_malformed_packets_raise_clear_errors(packet, message):
    with pytest.raises(VOEventError, match=message):
        parse_voevent(packet)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE VOEvent [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<VOEvent ivorn="ivo://evil/x#1" role="observation"><Who><Date>&xxe;</Date></Who></VOEvent>"""

LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><VOEvent ivorn="ivo://evil/x#2" role="observation"><What>&lol9;</What></VOEvent>'
)


@pytest.mark.parametrize("packet", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_hostile_packets_are_refused_quickly(packet):
    start = time.perf_counter()
    with pytest.raises(HostileVOEventError, match="DOCTYPE"):
        parse_voevent(packet)
    assert time.perf_counter() - start < 0.1


def test_oversized_packet_is_refused_before_parsing():
    with pytest.raises(HostileVOEventError, match="exceeds the 1000-byte limit"):
        parse_voevent(make_packet() + b" " * 2000, max_bytes=1000)


@pytest.mark.shared_data
def test_every_real_packet_parses(shared_data):
    files = sorted((shared_data / "voevents").rglob("*.xml"))
    assert len(files) >= 40
    records = {path.name: parse_voevent(path.read_bytes()) for path in files}
    svom = {n: r for n, r in records.items() if r.mission == "SVOM"}
    assert len(svom) == 28
    assert all(r.burst_id and r.burst_id.startswith("sb") for r in svom.values())
    assert all(r.t0 is not None and r.t0_mjd > 60000 for r in svom.values())
    with_position = [r for r in svom.values() if r.instrument != "GRM"]
    assert all(0 < r.error_deg < 1 for r in with_position)
    assert {r.instrument for r in svom.values()} == {"ECLAIRs", "GRM", "MXT"}
    retractions = {r.burst_id: r for r in svom.values() if r.retraction}
    assert set(retractions) == {"sb26020303", "sb26020402", "sb26030408"}
    assert len(retractions["sb26020303"].retracted_ivorns) == 3


@pytest.mark.shared_data
def test_real_other_missions(shared_data):
    folder = shared_data / "voevents"
    gw = parse_voevent((folder / "lvk" / "S190425z-1-Initial.xml").read_bytes())
    assert (gw.mission, gw.burst_id, gw.event_id, gw.ra_deg) == ("LVK", None, "S190425z", None)
    assert gw.params["GraceID"] == "S190425z"
    mock = parse_voevent((folder / "lvk" / "MS181101ab-4-Retraction.xml").read_bytes())
    assert mock.role == "test" and mock.retraction
    fermi = [
        parse_voevent(p.read_bytes())
        for p in sorted((folder / "fermi" / "sequence_538809001").glob("*.xml"))
    ]
    assert [f.packet_type for f in fermi] == [110, 111, 112, 115]
    assert fermi[0].ra_deg is None  # the Alert's "unavailable" 0, 0, 0
    assert fermi[-1].error_deg < fermi[1].error_deg
    assert {f.instrument for f in fermi} == {"GBM"} and {f.event_id for f in fermi} == {"538809001"}
    swift = parse_voevent((folder / "swift" / "SWIFT_1125809-092.xml").read_bytes())
    assert (swift.mission, swift.instrument, swift.ra_deg) == ("Swift", "BAT", 64.7373)
    bare = parse_voevent((folder / "edge_cases" / "no_namespace_packet.xml").read_bytes())
    assert bare.role == "test" and bare.params["Subscribe.Port"] == "8099"


@pytest.mark.parametrize(
    ("ivorn", "mission"),
    [
        ("ivo://nasa.gsfc.gcn/AGILE#MCAL_Trigger_2024-01-01T00:00:00.00_12345-0-001", "AGILE"),
        ("ivo://nasa.gsfc.gcn/INTEGRAL#Wakeup_2024-01-01T00:00:00.00_012345-0-001", "INTEGRAL"),
        ("ivo://nasa.gsfc.gcn/SNEWS#Alert_2024-01-01T00:00:00.00_000001-0-001", "SNEWS"),
        ("ivo://nasa.gsfc.gcn/AMON#ICECUBE_GOLD_Event2024-01-01T00:00:00.00_1_2_3", "AMON"),
        ("ivo://voevent.4pisky.org/ASASSN#2016-01-09.28_ASASSN-16ad", "ASAS-SN"),
        ("ivo://gaia.cam.uk/alerts#Gaia16aac", "Gaia"),
    ],
)
def test_missions_from_ivorn(ivorn, mission):
    assert parse_voevent(make_packet(ivorn, burst_id=None)).mission == mission


def test_record_differences_name_the_fields():
    from analysis.voevent import record_differences

    first = parse_voevent(make_packet())
    moved = parse_voevent(make_packet(position=(87.0, -0.4379, 0.1057), packet_type=203))
    assert record_differences(first, first) == []
    assert record_differences(first, moved) == [
        "packet_type: 202 -> 203",
        "ra: 86.9755 -> 87.0",
        "params.Packet_Type: '202' -> '203'",
    ]
