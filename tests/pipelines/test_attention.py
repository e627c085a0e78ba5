"""What needs attention: each kind of item appears when its condition holds, and not otherwise,
on a small workspace filled by the test."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from astropy.time import Time

from analysis.products import Burst
from analysis.products.synthetic import synthetic_photometry
from app.cli import main
from data_access.alerts.trigger_files import quarantine_packet
from data_access.products.sdb_client import SdbClient
from data_access.telemetry.store import documents_in
from pipelines.attention import (
    AttentionItem,
    Look,
    attention,
    master_items,
    masters_of_last_night,
    recent_bursts,
    sensor_items,
)
from tests.analysis.test_voevent import make_packet
from tests.conftest import free_port

NOW = datetime(2026, 12, 2, 3, tzinfo=UTC)
#: The night before the one NOW belongs to ([calibration] night_offset_h = -19).
LAST_NIGHT = date(2026, 11, 30)


def kinds(items: list[AttentionItem]) -> list[tuple[str, str]]:
    return [(item.kind, item.subject) for item in items]


def test_an_empty_workspace_needs_no_attention(stores):
    found = attention(stores, now=NOW)
    assert found.items == () and found.to_dict() == {
        "checked_at": "2026-12-02T03:00:00",
        "items": [],
    }


def test_last_nights_invalid_and_missing_series_and_nothing_older(stores):
    calibration = stores.calibration
    calibration.record_series(
        LAST_NIGHT - timedelta(days=2), "DDRAGO1", "r", "flat", n_frames=5, n_good=5
    )
    calibration.record_series(
        LAST_NIGHT - timedelta(days=20), "CAGIRE", "J", "flat", n_frames=5, n_good=5
    )
    calibration.record_series(
        LAST_NIGHT, "DDRAGO1", "NONE", "bias", n_frames=4, n_good=1, problem="1 good frame of 4"
    )
    items = masters_of_last_night(stores_look(stores))
    assert kinds(items) == [
        ("invalid master", "DDRAGO1/NONE/bias 2026-11-30"),
        ("missing master", "DDRAGO1/r/flat 2026-11-30"),
    ]  # CAGIRE J was seen 20 nights ago, beyond [attention] master_nights
    invalid, missing = items
    assert invalid.severity == "error" and "invalid: 1 good frame of 4" in invalid.sentence
    assert missing.link == "/flat?instrument=DDRAGO1&filter=r&start=2026-11-30&end=2026-11-30"


def test_a_series_that_passed_is_not_listed():
    grid = pd.DataFrame(
        {
            "night": [LAST_NIGHT],
            "instrument": ["DDRAGO2"],
            "filter": ["g"],
            "caltype": ["flat"],
            "verdict": ["OK"],
            "problem": [None],
        }
    )
    assert master_items(grid, LAST_NIGHT) == []


def test_stale_and_erroring_sensors_one_item_per_subsystem(
    stores, status_record, write_status_file, tmp_path
):
    fresh = (NOW - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    old = (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    records = [
        status_record("dome-temperature", date=fresh),
        status_record("dome-humidity", date=old),
        status_record("weather-wind", date=fresh, subsystem="weather", error_code=3),
        status_record("weather-rain", date=fresh, subsystem="weather"),
    ]
    stores.status.ingest(documents_in([write_status_file(tmp_path / "s" / "a.json", records)]))
    items = attention(stores, now=NOW).items
    assert kinds(items) == [("sensor errors", "weather"), ("stale sensors", "dome")]
    assert items[0].sentence == "1 weather sensors report an error code: weather-wind (code 3)."
    assert (
        items[1].sentence
        == "1 of 2 dome sensors are stale (newest reading 2.0 h ago): dome-humidity."
    )
    assert items[1].link == "/telemetry?subsystem=dome&problems=true"


def test_a_long_list_of_sensors_is_cut_and_a_stopped_feed_is_one_item():
    latest = pd.DataFrame(
        {
            "name": [f"s{i}" for i in range(6)],
            "subsystem": ["tcs"] * 5 + ["dome"],
            "error_code": 0,
            "age_s": [4000.0] * 5 + [60.0],
            "stale": [True] * 5 + [False],
        }
    )
    (item,) = sensor_items(latest)
    assert item.sentence.endswith(": s0, s1, s2 and 2 more.")
    (stopped,) = sensor_items(latest.assign(stale=True))
    assert (stopped.subject, stopped.link) == ("every sensor", "/telemetry?problems=true")
    assert stopped.sentence.startswith("Every sensor is stale (newest reading 1 min ago)")


def test_recent_bursts_without_products_neither_retracted_nor_tests(stores):
    def notice(burst_id: str, t0: datetime, **fields) -> bytes:
        return make_packet(
            f"ivo://org.svom/fsc#{burst_id}_{fields.get('packet_type', 202)}",
            burst_id=burst_id,
            t0=t0.strftime("%Y-%m-%dT%H:%M:%S"),
            date=t0.isoformat(),
            **fields,
        )

    recent, old = NOW - timedelta(days=1), NOW - timedelta(days=10)
    packets = [
        notice("sb26120101", recent),
        notice("sb26112201", old),
        notice("sb26120102", recent, role="test"),
        notice("sb26120103", recent),
        notice(
            "sb26120103",
            recent,
            packet_type=219,
            retracts=("ivo://org.svom/fsc#sb26120103_202",),
        ),
        notice("sb26120104", recent),
    ]
    for packet in packets:
        stores.alerts.store(packet, received_at=NOW)
    build_products(stores, "sb26120104")
    items = recent_bursts(stores_look(stores))
    assert kinds(items) == [("burst without products", "sb26120101")]
    assert (
        items[0].link == "/burst?id=sb26120101" and "T0 2026-12-01 03:00 UTC" in items[0].sentence
    )


def test_products_awaiting_approval_and_a_failed_push(stores):
    products = build_products(stores, "sb26120104")
    dt = int(products.queue().set_index("card").loc["DT_GFT_FGFT", "product_id"])
    products.review.approve(dt, user="ana")
    closed = SdbClient(
        f"http://127.0.0.1:{free_port()}", retries=1, timeout=2.0, sleep=lambda s: None
    )
    assert not products.pushes.push(dt, closed, user="ana").pushed
    items = attention(stores, now=NOW).items
    failed, waiting = items
    assert (failed.kind, failed.severity) == ("failed push", "error")
    assert failed.link == f"/products?burst=sb26120104&product={dt}"
    assert (waiting.kind, waiting.subject) == ("awaiting approval", "sb26120104")
    assert waiting.sentence == "6 products of sb26120104 await approval."
    assert waiting.link == "/products?burst=sb26120104"


def test_a_quarantined_packet_is_listed_with_its_reason(stores):
    path = quarantine_packet(
        stores.alerts.quarantine_dir, b"<not xml", "not a VOEvent", source="comet", received_at=NOW
    )
    (item,) = attention(stores, now=NOW).items
    assert (item.kind, item.subject, item.link) == ("quarantined packet", path.name, "/alerts")
    assert "comet" in item.sentence and "not a VOEvent" in item.sentence


def test_a_failing_check_is_an_item_and_the_others_still_speak(stores):
    def broken_check(look):
        raise OSError("status folder unreadable")

    def one_item(look):
        return [AttentionItem("awaiting approval", "info", "x", "sb1", "products")]

    items = attention(stores, now=NOW, producers=[one_item, broken_check]).items
    assert kinds(items) == [("check failed", "broken check"), ("awaiting approval", "sb1")]
    assert items[0].sentence == "The check of broken check failed: status folder unreadable"


def test_gic_status_attention_gives_the_list_as_json_and_text(stores, capsys):
    quarantine_packet(
        stores.alerts.quarantine_dir, b"junk", "not a VOEvent", source="kafka", received_at=NOW
    )
    root = str(stores.workspace.root)
    stores.close()
    assert main(["--workspace", root, "status", "attention", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [i["kind"] for i in data["items"]] == ["quarantined packet"]
    assert set(data["items"][0]) == {"kind", "severity", "sentence", "object", "link"}
    assert main(["--workspace", root, "status", "attention"]) == 0
    assert capsys.readouterr().out.startswith("warning quarantined packet: A packet from kafka")


def stores_look(stores) -> Look:
    return Look(stores, NOW.replace(tzinfo=None))


def build_products(stores, burst_id: str):
    burst = Burst(burst_id, Time("2026-12-01T03:00:00", scale="utc"), 150.0, 20.0, 0.05)
    stores.products.build(burst, synthetic_photometry(burst, n_images=3), user="ana")
    return stores.products
