"""A burst's dossier joined from every store of the demo workspace."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from data_access.stores import Stores
from pipelines.dossier import TIMELINE_COLUMNS, DossierError, burst_dossier

NOW = datetime(2026, 12, 1, 22, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_stores(demo_root):
    stores = Stores.open(demo_root, read_only=True)
    yield stores
    stores.close()


def test_a_burst_with_frames_has_its_notices_masters_and_telemetry(demo_stores, demo_bursts):
    burst = demo_bursts.reprocess
    dossier = burst_dossier(demo_stores, burst, at=NOW)
    packets = dossier.report["packets"]
    assert len(packets) == dossier.report["notices"] >= 2
    assert [p["received_at"] for p in packets] == sorted(
        (p["received_at"] for p in packets), reverse=True
    )
    assert dossier.trigger_file["text"].count(f"burst_id = {burst}") == 1
    assert set(dossier.frames["folder"]) == {burst} and len(dossier.frames) == 8
    masters = dossier.masters
    assert set(masters["caltype"]) == {"bias", "dark", "flat"}
    assert set(masters["instrument"]) == set(dossier.frames["instrument"])
    assert (masters["master"] != "").all()
    assert list(dossier.telemetry["image"]) == list(dossier.frames["name"])
    assert (dossier.telemetry["detector temperature (C)"] != "").all()
    events = list(dossier.timeline["event"])
    assert events[0] == "T0" and {"notice", "trigger file", "first frame", "last frame"} <= set(
        events
    )
    assert list(dossier.timeline.columns) == TIMELINE_COLUMNS
    assert dossier.timeline["at"].is_monotonic_increasing


def test_a_burst_with_products_has_their_versions_and_audit(demo_stores, demo_bursts):
    dossier = burst_dossier(demo_stores, demo_bursts.products, at=NOW)
    products = dossier.products
    assert set(products["version"]) == {1, 2} and "approved" in set(products["state"])
    assert {"build", "approve"} <= set(dossier.audit["action"])
    approvals = dossier.timeline[dossier.timeline["event"] == "product approve"]
    assert len(approvals) == 1 and approvals["user"].iloc[0] == "demo"
    assert dossier.frames.empty and dossier.masters.empty


def test_the_dossier_is_json_and_holds_the_position_history(demo_stores, demo_bursts):
    data = burst_dossier(demo_stores, demo_bursts.reprocess, at=NOW).to_dict()
    assert json.loads(json.dumps(data)) == data
    history = data["position_history"]
    assert history and min(p["error_deg"] for p in history) == data["error_deg"]
    assert data["observability"]["at"].startswith("2026-12-01T22:00")
    assert {"timeline", "frames", "masters", "telemetry", "runs", "products", "audit"} <= set(data)


def test_an_unknown_burst_has_no_dossier_and_a_malformed_id_is_named(demo_stores):
    assert burst_dossier(demo_stores, "sb00000000", at=NOW) is None
    with pytest.raises(DossierError, match="'sb<b>' is not a burst ID"):
        burst_dossier(demo_stores, "sb<b>", at=NOW)
