from datetime import UTC, datetime, timedelta

import pytest

from analysis.trigger_file import (
    format_trigger_file,
    next_trigger_text,
    read_trigger_file,
    trigger_file_name,
)
from analysis.voevent import parse_voevent
from tests.analysis.test_voevent import make_packet

RECEIVED = datetime(2026, 2, 11, 19, 26, tzinfo=UTC)


def test_trigger_file_round_trip():
    record = parse_voevent(make_packet())
    text = format_trigger_file(record, received=RECEIVED, retracted=False)
    values = read_trigger_file(text)
    assert values["burst_id"] == "sb26021102"
    assert values["t0_iso"] == "2026-02-11T19:24:23.604000Z"
    assert float(values["t0_mjd"]) == pytest.approx(record.t0_mjd, abs=1e-9)
    assert (values["ra_deg"], values["dec_deg"], values["error_deg"]) == (
        "86.9755",
        "-0.4379",
        "0.1057",
    )
    assert values["retracted"] == "false" and values["role"] == "observation"
    assert values["received"] == "2026-02-11T19:26:00.000000Z"


def test_trigger_file_name_refuses_anything_but_a_burst_id():
    assert trigger_file_name("sb22020379") == "trigger_sb22020379.dat"
    with pytest.raises(ValueError, match="not 'sb' and 8 digits"):
        trigger_file_name("../sb22020379")


def test_later_packet_rewrites_and_older_does_not():
    first = parse_voevent(make_packet())
    text = next_trigger_text(None, first, received=RECEIVED)
    better = parse_voevent(
        make_packet(
            "ivo://org.svom/fsc#sb26021102_mxt-initial_qf1",
            date="2026-02-11T20:00:00",
            position=(87.0, -0.43, 0.01),
        )
    )
    newer = next_trigger_text(text, better, received=RECEIVED + timedelta(minutes=30))
    assert read_trigger_file(newer)["error_deg"] == "0.01"
    assert next_trigger_text(newer, first, received=RECEIVED) is None  # older, late
    assert next_trigger_text(newer, better, received=RECEIVED) is None  # same packet again


def test_retraction_marks_the_trigger_and_stays():
    text = next_trigger_text(None, parse_voevent(make_packet()), received=RECEIVED)
    retraction = parse_voevent(
        make_packet(
            "ivo://org.svom/fsc#sb26021102_retraction", packet_type=219, date="2026-02-11T21:00:00"
        )
    )
    retracted = next_trigger_text(text, retraction, received=RECEIVED)
    values = read_trigger_file(retracted)
    assert values["retracted"] == "true"
    assert values["ivorn"].endswith("eclairs-wakeup")  # the position shown stays the burst's
    later = parse_voevent(
        make_packet("ivo://org.svom/fsc#sb26021102_late", date="2026-02-11T22:00:00")
    )
    assert (
        read_trigger_file(next_trigger_text(retracted, later, received=RECEIVED))["retracted"]
        == "true"
    )
    alone = next_trigger_text(None, retraction, received=RECEIVED)
    assert read_trigger_file(alone)["retracted"] == "true"
