"""VOEvent packets, fuzzed: any packet is an AlertRecord or a VOEventError, and a refused
packet leaves nothing but its quarantined copy (no alert row, no trigger file)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.voevent import AlertRecord, VOEventError, parse_voevent
from data_access.alerts.trigger_files import QuarantinedPacketError
from tests.analysis.test_voevent import make_packet
from tests.hardening._fuzz import FUZZ, mutations

GOOD = make_packet()
texts = st.text(st.characters(codec="utf-8", exclude_characters='"<&'), max_size=40)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**400), 10**400), texts
)


@FUZZ
@given(mutations(GOOD))
def test_a_damaged_packet_is_a_record_or_a_voevent_error(packet):
    try:
        assert isinstance(parse_voevent(packet), AlertRecord)
    except VOEventError as exc:
        assert str(exc)


@FUZZ
@given(st.binary(max_size=400))
def test_any_bytes_are_a_record_or_a_voevent_error(packet):
    with pytest.raises(VOEventError):
        parse_voevent(packet)


@FUZZ
@given(
    ivorn=st.one_of(
        st.just("ivo://org.svom/fsc#x"), st.text(max_size=30).map(lambda t: "ivo://" + t)
    ),
    burst_id=st.one_of(st.none(), st.from_regex(r"\Asb\d{8}\Z"), texts),
    packet_type=st.one_of(st.integers(-(10**30), 10**30), texts),
    date=st.one_of(st.datetimes().map(lambda d: d.isoformat()), texts),
    t0=st.one_of(st.datetimes().map(lambda d: d.isoformat()), texts),
    position=st.one_of(st.none(), st.tuples(numbers, numbers, numbers)),
    role=st.one_of(st.sampled_from(["observation", "test", "utility"]), texts),
)
def test_hostile_field_values_are_a_record_or_a_voevent_error(
    ivorn, burst_id, packet_type, date, t0, position, role
):
    packet = make_packet(
        ivorn.replace('"', "").replace("<", "").replace("&", ""),
        burst_id=burst_id,
        packet_type=packet_type,
        date=date,
        t0=t0,
        position=position,
        role=role,
    )
    try:
        record = parse_voevent(packet)
    except VOEventError:
        return
    for value in (record.ra_deg, record.dec_deg, record.error_deg, record.t0_mjd):
        assert value is None or value == value  # never NaN
    if record.dec_deg is not None:
        assert -90 <= record.dec_deg <= 90


@FUZZ
@given(mutations(GOOD))
def test_a_refused_packet_writes_nothing_but_its_quarantine_copy(stores, packet):
    alerts = stores.alerts
    before = alerts.cache.execute("SELECT count(*) FROM alert")[0][0]
    triggers = set(alerts.triggers_dir.glob("trigger_*"))
    try:
        receipt = alerts.store(packet, source="fuzz")
    except QuarantinedPacketError as exc:
        assert exc.path.is_file() and exc.path.read_bytes() == packet
        assert alerts.cache.execute("SELECT count(*) FROM alert")[0][0] == before
        assert set(alerts.triggers_dir.glob("trigger_*")) == triggers
        return
    row = alerts.alert(receipt.record.ivorn)
    assert row is not None and row["ivorn"] == receipt.record.ivorn


@pytest.mark.parametrize("encoding", [b"TF-8", b"UTF-7"])
def test_a_packet_declaring_an_unreadable_encoding_is_a_voevent_error(encoding):
    """Regressions found by the fuzzers: expat raised LookupError for encoding="TF-8"
    (Hypothesis) and ValueError for encoding="UTF-7" (atheris)."""
    packet = GOOD.replace(b'encoding="UTF-8"', b'encoding="' + encoding + b'"', 1)
    assert packet != GOOD
    with pytest.raises(VOEventError, match="encoding"):
        parse_voevent(packet)


def test_a_packet_with_an_undeclared_prefix_is_a_voevent_error():
    """Regression (found by atheris): ElementTree's ParseError ("unbound prefix") on a
    packet expat alone finds well-formed."""
    packet = GOOD.replace(b"xmlns:voe=", b"xmlns:vox=", 1)
    with pytest.raises(VOEventError, match="unbound prefix"):
        parse_voevent(packet)
