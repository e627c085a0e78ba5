import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analysis.gcn_notice import JSONNoticeError, packet_kind, parse_json_notice, parse_notice
from analysis.voevent import HostileVOEventError, VOEventError

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "gcn_notices"


def example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.example.json").read_text(encoding="utf-8"))


def notice(document: dict) -> bytes:
    return json.dumps(document).encode()


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_published_example_reads(path):
    record = parse_notice(path.read_bytes())
    assert record.notice_format == "json" and record.ivorn.startswith("gcn-json:")
    assert record.t0 is not None and record.error_deg > 0


def test_svom_notice_fields_as_a_voevent_gives_them():
    record = parse_notice(notice(example("svom_eclairs_trigger.wakeup")))
    assert (record.mission, record.instrument, record.burst_id) == ("SVOM", "ECLAIRs", "sb24022203")
    assert record.t0 == datetime(2024, 2, 22, 8, 51, 31, 320000, tzinfo=UTC)
    assert record.date == datetime(2024, 2, 22, 8, 51, 55, tzinfo=UTC)
    assert (record.ra_deg, record.dec_deg, record.error_deg) == (143.2478, -68.0289, 0.1)
    assert record.role == "test"  # alert_tense = test
    assert record.params["slew_status"] == "not_requested"
    assert record.params["image_energy_range"] == "[4, 20]"
    assert record.version == "main" and not record.retraction


def test_einstein_probe_notice_has_an_event_id_and_no_burst_id():
    record = parse_notice(notice(example("einstein_probe_wxt_alert")))
    assert record.mission == "Einstein Probe" and record.instrument == "WXT"
    assert record.burst_id is None and record.event_id == "01708973486"
    assert record.role == "observation" and record.description.startswith("The net count")


def test_one_notice_delivered_twice_is_one_notice():
    document = example("svom_grm_trigger")
    compact = json.dumps(document, separators=(",", ":")).encode()
    spaced = json.dumps(document, indent=4).encode()
    assert parse_notice(compact).ivorn == parse_notice(spaced).ivorn
    other = parse_notice(notice({**document, "rate_snr": 9.0}))
    assert other.ivorn != parse_notice(compact).ivorn


def test_retraction_and_versioned_schema():
    document = example("svom_grm_trigger") | {"alert_type": "retraction"}
    document["$schema"] = document["$schema"].replace("/main/", "/v5.2.0/")
    record = parse_notice(notice(document))
    assert record.retraction and record.version == "v5.2.0"


@pytest.mark.parametrize(
    ("change", "position"),
    [
        ({"ra_dec_error": -1}, (None, None, None)),
        ({"ra_dec_error": 0}, (None, None, None)),
        ({"ra_dec_error": [0.3, 0.1, 20]}, (143.2478, -68.0289, 0.3)),
        ({"ra": 370.0}, (10.0, -68.0289, 0.1)),
    ],
)
def test_positions(change, position):
    record = parse_notice(notice(example("svom_grm_trigger") | change))
    assert (record.ra_deg, record.dec_deg, record.error_deg) == pytest.approx(position)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ra": "143.2"}, r"field 'ra': '143.2' is not of type 'number'"),
        ({"alert_tense": "maybe"}, r"field 'alert_tense': 'maybe' is not one of"),
        ({"triggered_GRDs": [True]}, r"field 'triggered_GRDs': \[True\] is too short"),
        ({"colour": "red"}, r"field '\(the notice\)'.*'colour' was unexpected"),
        ({"id": ["GRB 240222A"]}, r"field 'id' is \['GRB 240222A'\], expected an SVOM burst ID"),
        ({"dec": -95.0}, r"field 'dec' is -95.0, expected a value in \[-90, 90\]"),
        ({"trigger_time": "yesterday"}, r"field 'trigger_time' is 'yesterday', expected an ISO"),
    ],
)
def test_a_notice_that_fails_names_the_field(change, message):
    with pytest.raises(VOEventError, match=message):
        parse_notice(notice(example("svom_grm_trigger") | change))


def test_a_notice_without_a_known_schema_is_refused(shared_data):
    schema = shared_data / "voevents" / "json_notices" / "svom" / "trigger.schema.json"
    with pytest.raises(JSONNoticeError, match=r"'\$schema' is 'https://json-schema.org/"):
        parse_notice(schema.read_bytes())
    without = {k: v for k, v in example("svom_grm_trigger").items() if k != "$schema"}
    with pytest.raises(JSONNoticeError, match=r"no field '\$schema'"):
        parse_notice(notice(without))


@pytest.mark.parametrize(
    ("packet", "error", "message"),
    [
        (b"GIF89a\x01\x00", VOEventError, r"neither XML nor JSON: it starts with b'GIF89a"),
        (b"  hello", VOEventError, r"neither XML nor JSON"),
        (b"[1, 2]", JSONNoticeError, r"is a list, expected an object"),
        (b'{"ra": NaN}', JSONNoticeError, r"holds NaN"),
        (b'{"ra": 1', JSONNoticeError, r"not well-formed JSON"),
        (b'{"a": "\xff"}', JSONNoticeError, r"not UTF-8"),
        (b"[" * 100_000, HostileVOEventError, r"nests too deeply"),
    ],
)
def test_packets_that_are_no_notice(packet, error, message):
    with pytest.raises(error, match=message):
        parse_notice(packet)


def test_size_limit_and_kinds():
    with pytest.raises(HostileVOEventError, match="exceeds the 10-byte limit"):
        parse_json_notice(b'{"a": 1234567}', max_bytes=10)
    assert packet_kind(b"\xef\xbb\xbf <?xml") == "xml"
    assert packet_kind(b'\n {"a": 1}') == "json"
    assert packet_kind(b"\x00\x01") == "unknown"


def test_voevent_and_json_of_one_burst_read_alike(shared_data):
    voevent = parse_notice(
        (shared_data / "voevents" / "svom" / "eclairs" / "eclairs_296.xml").read_bytes()
    )
    document = example("svom_eclairs_trigger.wakeup") | {"id": [voevent.burst_id]}
    json_record = parse_notice(notice(document))
    assert json_record.burst_id == voevent.burst_id == "sb26021102"
    assert (json_record.mission, json_record.instrument) == (voevent.mission, voevent.instrument)
