"""Alerts read by burst: the best position, instruments, retraction, notices and latency."""

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from analysis.observability import Site
from analysis.trigger_file import read_trigger_file
from data_access.alerts.bursts import BurstQueries
from data_access.alerts.trigger_extras import TRIGGER_LOG_NAME
from tests.analysis.test_voevent import make_packet

T0 = "2026-02-11T19:24:23.604000"
ARRIVAL = datetime(2026, 2, 11, 19, 26, tzinfo=UTC)


def notice(name, *, instrument="ECLAIRs", burst="sb26021102", minute=0, **fields) -> bytes:
    date = f"2026-02-11T19:{25 + minute:02d}:50+00:00"
    packet = make_packet(f"ivo://org.svom/fsc#{burst}_{name}", burst_id=burst, date=date, **fields)
    return packet.replace(b'value="ECLAIRs"', f'value="{instrument}"'.encode())


@pytest.fixture
def queries(stores) -> BurstQueries:
    store = stores.alerts
    packets = [
        notice("eclairs", position=(86.97, -0.43, 0.1)),
        notice("grm", instrument="GRM", minute=1, position=(80.0, 1.0, -1)),
        notice("mxt", instrument="MXT", minute=2, position=(86.98, -0.44, 0.02)),
        notice("vt", instrument="VT", minute=3, position=(86.99, -0.45, 0.0)),
        notice("wakeup", burst="sb26021103", position=(10.0, 20.0, 0.2)),
        notice(
            "retraction",
            burst="sb26021103",
            minute=1,
            packet_type=219,
            retracts=("ivo://org.svom/fsc#sb26021103_wakeup",),
        ),
        notice("only-grm", instrument="GRM", burst="sb26021104", position=(1.0, 2.0, -1)),
        notice("drill", burst="sb26021105", role="test"),
        make_packet("ivo://gwnet/LVK#S260211a", burst_id=None),
    ]
    for number, packet in enumerate(packets):
        store.store(packet, received_at=ARRIVAL + timedelta(seconds=10 * number))
    return BurstQueries(store.cache, store.triggers_dir)


def test_one_row_per_burst_with_the_best_real_position(queries):
    bursts = queries.bursts().set_index("burst_id")
    assert sorted(bursts.index) == ["sb26021102", "sb26021103", "sb26021104", "sb26021105"]
    best = bursts.loc["sb26021102"]
    assert (best.ra, best.dec, best.error_deg, best.best_instrument) == (86.98, -0.44, 0.02, "MXT")
    assert best.instruments == "ECLAIRs, GRM, MXT, VT" and best.notices == 4
    assert best.t0 == pd.Timestamp(T0) and not best.retracted and not best.test
    assert bursts.loc["sb26021103", "retracted"] and bursts.loc["sb26021103", "notices"] == 2
    assert bursts.loc["sb26021103", "error_deg"] == 0.2  # the retraction gives no position
    assert pd.isna(bursts.loc["sb26021104", "ra"]) and pd.isna(
        bursts.loc["sb26021104", "error_deg"]
    )
    assert bursts.loc["sb26021105", "test"]
    assert "sb26021105" not in set(queries.bursts(include_tests=False)["burst_id"])
    assert queries.burst("sb26021103")["retracted"] and queries.burst("sb99999999") is None


def test_packets_without_a_burst_have_their_own_table(queries):
    unassigned = queries.unassigned()
    assert unassigned["ivorn"].tolist() == ["ivo://gwnet/LVK#S260211a"]
    assert "ivo://gwnet/LVK#S260211a" not in set(queries.notices("sb26021102")["ivorn"])


def test_a_bursts_notices_newest_first_with_their_latency(queries):
    notices = queries.notices("sb26021102")
    assert [i.rsplit("_", 1)[1] for i in notices["ivorn"]] == ["vt", "mxt", "grm", "eclairs"]
    assert notices["t0_to_arrival_s"].tolist() == pytest.approx([126.396, 116.396, 106.396, 96.396])
    written = read_trigger_file((queries.triggers_dir / "trigger_sb26021102.dat").read_text())
    assert "obs_altitude_deg" in written
    # every notice that rewrote the trigger file has its arrival -> trigger latency
    assert notices["arrival_to_trigger_s"].notna().all()
    assert (notices["arrival_to_trigger_s"] > 0).all()


def test_a_notice_that_left_the_trigger_file_unchanged_has_no_trigger_latency(queries, stores):
    late = notice("late-old", minute=-1, position=(86.0, 0.0, 0.5))  # older, worse position
    stores.alerts.store(late, received_at=ARRIVAL + timedelta(minutes=5))
    notices = queries.notices("sb26021102").set_index("ivorn")
    assert pd.isna(notices.loc["ivo://org.svom/fsc#sb26021102_late-old", "arrival_to_trigger_s"])
    log = (queries.triggers_dir / TRIGGER_LOG_NAME).read_text()
    assert "late-old" not in log and log.count("sb26021102_") == 4


def test_report_is_json_with_observability_and_latency(queries):
    site = Site("OAN San Pedro Martir", 31.0439, -115.4637, 2800.0)
    report = queries.report("sb26021102", site=site, at=datetime(2026, 2, 12, 6, tzinfo=UTC))
    text = json.dumps(report)
    assert report["best_instrument"] == "MXT" and report["t0"] == "2026-02-11T19:24:23.604000Z"
    seen = report["observability"]
    assert report["since_t0_s"] == 10 * 3600 + 35 * 60 + 36.396
    assert seen["at"] == "2026-02-12T06:00:00Z" and seen["night"]["evening_astronomical"]
    assert report["notices"] == 4 and report["packets"][0]["t0_to_arrival_s"] == 126.396
    assert "NaN" not in text
    assert queries.report("sb26021104", site=site, at=ARRIVAL)["observability"] is None
    assert queries.report("sb99999999", site=site, at=ARRIVAL) is None
