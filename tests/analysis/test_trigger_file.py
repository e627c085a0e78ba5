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


# -- positions ------------------------------------------------------------------------------
GRM_POSITION = (
    '<Position2D unit="deg"><Name1>RA</Name1><Name2>Dec</Name2><Value2><C1>204.7</C1>'
    "<C2>45.1</C2></Value2><Error2Radius>-1</Error2Radius></Position2D>"
)


def svom_packet(shared_data, name: str) -> bytes:
    folder = name.split("_")[0]
    return (shared_data / "voevents" / "svom" / folder / f"{name}.xml").read_bytes()


def grm_without_localisation(shared_data, burst_id: str) -> bytes:
    """The real GRM trigger grm_284 as GRM packets with ``Error2Radius = -1`` are written."""
    packet = svom_packet(shared_data, "grm_284").replace(b"sb26020401", burst_id.encode())
    return packet.replace(b"</Time>", b"</Time>" + GRM_POSITION.encode(), 1)


def trigger_after(packets: list[bytes]) -> dict[str, str]:
    text = None
    for packet in packets:
        text = next_trigger_text(text, parse_voevent(packet), received=RECEIVED) or text
    return read_trigger_file(text)


def test_grm_error_radius_of_minus_one_is_no_position(shared_data):
    record = parse_voevent(grm_without_localisation(shared_data, "sb26020401"))
    assert (record.ra_deg, record.dec_deg, record.error_deg) == (None, None, None)
    values = trigger_after([grm_without_localisation(shared_data, "sb26020401")])
    assert values["error_deg"] == values["ra_deg"] == values["position_ivorn"] == "none"


def test_best_position_is_the_smallest_real_error_whatever_the_order(shared_data):
    grm = grm_without_localisation(shared_data, "sb26022501")
    names = ["eclairs_299", "mxt_40", "eclairs_300"]  # ECLAIRs 0.0981, MXT 0.0643, ECLAIRs 0.0854
    for packets in (
        [grm, *(svom_packet(shared_data, n) for n in names)],
        [svom_packet(shared_data, n) for n in reversed(names)] + [grm],
    ):
        values = trigger_after(packets)
        assert (values["ra_deg"], values["error_deg"]) == ("204.8665", "0.0643")
        assert values["position_ivorn"] == "ivo://org.svom/fsc#sb26022501_mxt-initial_qf1"
        assert values["position_instrument"] == "MXT"
        assert values["packet_type"] == "209"  # the newest packet, MXT's at 10:17


def test_a_late_packet_with_a_better_position_moves_only_the_position(shared_data):
    update, initial = svom_packet(shared_data, "mxt_42"), svom_packet(shared_data, "mxt_41")
    values = trigger_after([svom_packet(shared_data, "eclairs_301"), update, initial])
    assert values["error_deg"] == "0.034" and values["position_instrument"] == "MXT"
    assert values["ivorn"] == values["position_ivorn"] == parse_voevent(update).ivorn


def test_an_old_file_with_a_negative_radius_is_no_position():
    old = format_trigger_file(
        parse_voevent(make_packet(position=None)), received=RECEIVED, retracted=False
    ).replace("error_deg = none", "error_deg = -1")
    better = parse_voevent(make_packet(ivorn="ivo://org.svom/fsc#b", date="2026-02-11T19:20:00"))
    values = read_trigger_file(next_trigger_text(old, better, received=RECEIVED))
    assert values["error_deg"] == "0.1057" and values["position_ivorn"] == "ivo://org.svom/fsc#b"


def test_a_second_reading_of_a_shown_ivorn_changes_nothing():
    first = parse_voevent(make_packet())
    text = format_trigger_file(first, received=RECEIVED, retracted=False)
    sharper = parse_voevent(make_packet(position=(86.9, -0.43, 0.001)))  # same ivorn
    assert next_trigger_text(text, sharper, received=RECEIVED) is None
