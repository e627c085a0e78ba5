"""Every SQL statement takes values as parameters: a sensor, a burst ID, an ivorn and a
user named like an injection are stored and shown as the text they are, through ingest and
through the queries the pages use."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from astropy.time import Time

from analysis.products import Burst
from analysis.products.synthetic import synthetic_photometry
from data_access.telemetry.store import documents_in
from tests.analysis.test_voevent import make_packet

INJECTION = "x'); DROP TABLE status_reading; --"
QUOTES = "sb2603\"05'12"
TABLES = ("status_reading", "sensor", "alert", "product", "calibration_report")


def _tables(stores) -> set[str]:
    return {
        row[0] for row in stores.cache.execute("SELECT table_name FROM information_schema.tables")
    }


def test_a_sensor_named_like_an_injection_is_stored_and_shown_as_text(
    stores, tmp_path, status_record, write_status_file
):
    path = write_status_file(
        tmp_path / "s.json",
        [
            status_record(name=INJECTION, value="+1.5", date="2024-03-01T00:00:00"),
            status_record(name=INJECTION, value="+2.5", date="2024-03-01T00:05:00"),
            status_record(name="it's", value="ok", type="string", date="2024-03-01T00:05:00"),
        ],
    )
    summary = stores.status.ingest(documents_in([path]))
    assert not summary.rejected and summary.readings == 3
    assert set(TABLES[:2]) <= _tables(stores)
    assert {INJECTION, "it's"} <= set(stores.status.sensors()["name"])
    latest = stores.status.latest(stale_after=timedelta(days=1), now=datetime(2024, 3, 1, 0, 6))
    assert latest.set_index("name").loc[INJECTION, "value"] in ("2.5", 2.5)
    series = stores.status.series(
        [INJECTION], datetime(2024, 2, 29), datetime(2024, 3, 2), timedelta(minutes=1)
    )
    assert len(series) == 2


def test_a_burst_id_and_an_ivorn_with_quotes_are_stored_and_shown_as_text(stores):
    ivorn = "ivo://org.svom/fsc#x');DROP TABLE alert;--"
    receipt = stores.alerts.store(make_packet(ivorn, burst_id=None), source="fuzz'; --")
    assert receipt.stored and "alert" in _tables(stores)
    row = stores.alerts.alert(ivorn)
    assert row["ivorn"] == ivorn and row["source"] == "fuzz'; --"
    assert ivorn in stores.alerts.alerts()["ivorn"].tolist()
    message = stores.alerts.record_operations_message(
        "ops'; DROP TABLE alert; --", json.dumps({"burst_id": QUOTES}).encode()
    )
    assert message.burst_id == QUOTES
    feed = stores.alerts.operations_messages()
    assert feed.iloc[0]["subject"] == "ops'; DROP TABLE alert; --"
    assert feed.iloc[0]["burst_id"] == QUOTES and "alert" in _tables(stores)


def test_a_burst_id_and_a_user_with_quotes_go_through_products(stores):
    burst = Burst(QUOTES, Time("2026-03-05T04:10:00", scale="utc"), 150.0, 20.0, 0.05)
    built = stores.products.build(
        burst, synthetic_photometry(burst, n_images=2), user=INJECTION, comment="it's ok"
    )
    assert len(built) == 7 and "product" in _tables(stores)
    queue = stores.products.queue(QUOTES)
    assert set(queue["burst_id"]) == {QUOTES}
    dt = int(queue.set_index("card").loc["DT_GFT_FGFT", "product_id"])
    stores.products.review.approve(dt, user=INJECTION, comment="'; DROP TABLE product; --")
    audit = stores.products.audit(burst_id=QUOTES)
    assert INJECTION in set(audit["user_name"]) and "'; DROP TABLE product; --" in set(
        audit["comment"]
    )
    assert stores.products.record(dt)["state"] == "approved"


def test_a_calibration_report_with_quotes_is_stored_and_certified_as_text(stores, tmp_path):
    from tests.hardening.test_fuzz_calibration_report import _good

    report = _good()
    report["INSTRUME"] = INJECTION
    report["IM_NAME"] = "bias'; --.fits"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report))
    summary = stores.calibration.ingest_reports([path])
    assert summary.ingested
    trend = stores.calibration.trend("bias", INJECTION)
    assert list(trend["im_name"]) == ["bias'; --.fits"]
    report_id = int(trend["report_id"].iloc[0])
    stores.calibration.certify(report_id, True, comment="it's fine'); --", user=INJECTION)
    assert "calibration_report" in _tables(stores)
    assert datetime.now(UTC)  # the cache is still usable
    assert len(stores.calibration.trend("bias", INJECTION)) == 1
