import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from analysis.trigger_file import read_trigger_file
from data_access.alerts.receive import receive_operations_message, receive_packet
from data_access.alerts.store import AlertStore
from data_access.alerts.trigger_files import AlertFolders, QuarantinedPacketError
from data_access.stores import Stores
from tests.analysis.test_voevent import LAUGHS, XXE, make_packet


@pytest.fixture
def store(stores) -> AlertStore:
    return stores.alerts


@pytest.fixture
def voevents(shared_data) -> Path:
    return shared_data / "voevents"


def triggers(store: AlertStore) -> dict[str, dict]:
    return {
        p.name: read_trigger_file(p.read_text()) for p in store.triggers_dir.glob("trigger_*.dat")
    }


def test_packet_is_stored_with_its_trigger_file(store):
    receipt = store.store(make_packet(), source="stdin")
    assert receipt.stored and not receipt.duplicate
    assert receipt.trigger_file == store.triggers_dir / "trigger_sb26021102.dat"
    assert triggers(store)["trigger_sb26021102.dat"]["ivorn"].endswith("eclairs-wakeup")
    frame = store.alerts()
    assert frame.loc[0, "burst_id"] == "sb26021102" and frame.loc[0, "source"] == "stdin"
    detail = store.alert(frame.loc[0, "ivorn"])
    assert detail["params"]["Svom_Identifiers.Burst_Id"] == "sb26021102"
    assert detail["raw_xml"].encode() == make_packet()


def test_same_ivorn_is_stored_once_and_counted(store):
    assert store.last_change() == (0, 0, 0)
    store.store(make_packet(), source="comet")
    again = store.store(make_packet(), source="kafka")
    assert store.last_change() == (1, 1, 0)
    assert again.duplicate and not again.stored
    frame = store.alerts()
    assert len(frame) == 1 and frame.loc[0, "duplicates"] == 1 and frame.loc[0, "source"] == "comet"


def test_packet_without_burst_id_is_stored_without_trigger_file(store):
    receipt = store.store(make_packet("ivo://gwnet/LVC#S1-1-Initial", burst_id=None, position=None))
    assert receipt.stored and receipt.trigger_file is None
    assert triggers(store) == {}
    assert store.alerts()["burst_id"].isna().all()


@pytest.mark.parametrize(
    "packet", [XXE, LAUGHS, b"<VOEvent", b""], ids=["xxe", "laughs", "broken", "empty"]
)
def test_bad_packet_is_quarantined_with_its_reason_and_nothing_else(store, packet):
    with pytest.raises(QuarantinedPacketError) as raised:
        store.store(packet, source="comet")
    assert raised.value.path.read_bytes() == packet
    quarantined = store.quarantined()
    assert len(quarantined) == 1 and quarantined.loc[0, "source"] == "comet"
    assert quarantined.loc[0, "reason"]
    assert store.alerts().empty and triggers(store) == {}


def test_retraction_marks_the_burst_in_cache_and_trigger(store):
    store.store(make_packet())
    store.store(
        make_packet(
            "ivo://org.svom/fsc#sb26021102_retraction",
            packet_type=219,
            date="2026-02-11T21:00:00",
            retracts=["ivo://org.svom/fsc#sb26021102_eclairs-wakeup"],
        )
    )
    frame = store.alerts()
    assert frame["retracted"].all() and frame["retraction"].sum() == 1
    assert triggers(store)["trigger_sb26021102.dat"]["retracted"] == "true"
    detail = store.alert("ivo://org.svom/fsc#sb26021102_eclairs-wakeup")
    assert detail["retracted"] and detail["retracted_by"] == [
        "ivo://org.svom/fsc#sb26021102_retraction"
    ]
    assert store.bursts().loc[0, "retracted"]


@pytest.mark.shared_data
def test_real_packets_every_version_kept_and_triggers(store, voevents):
    receipts, refused = store.store_files(sorted(voevents.rglob("*.xml")))
    assert refused == [] and len(receipts) == 40
    frame = store.alerts()
    assert len(frame) == 40
    assert list(frame["packet_date"].dropna()) == sorted(
        frame["packet_date"].dropna(), reverse=True
    )
    assert (frame["burst_id"] == "sb26022802").sum() == 3  # wakeup, MXT initial, MXT update
    files = triggers(store)
    assert len(files) == frame["burst_id"].nunique()
    assert files["trigger_sb26022802.dat"]["ivorn"].endswith("mxt-update_qf2")
    assert files["trigger_sb26022802.dat"]["error_deg"] == "0.034"
    retracted = {name for name, v in files.items() if v["retracted"] == "true"}
    assert retracted == {f"trigger_{b}.dat" for b in ("sb26020303", "sb26020402", "sb26030408")}
    assert not any("S190425z" in name for name in files)
    again, _ = store.store_files(sorted(voevents.rglob("*.xml")))
    assert all(r.duplicate for r in again) and store.alerts()["duplicates"].eq(1).all()


HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
sys.stdin.read()
"""


def test_busy_cache_spools_the_packet_and_writes_the_trigger(workspace):
    Stores(workspace).close()  # create and migrate the cache
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(workspace.cache_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        receipt = receive_packet(workspace, make_packet(), source="comet")
        message = receive_operations_message(workspace, "svom.fsc", b'{"burst_id": "sb26021102"}')
    finally:
        holder.communicate("")
    folders = AlertFolders.from_workspace(workspace)
    assert receipt.spooled is not None and receipt.spooled.parent == folders.spool
    assert (folders.triggers / "trigger_sb26021102.dat").exists()
    assert message.burst_id == "sb26021102"
    second = receive_packet(
        workspace, make_packet("ivo://org.svom/fsc#sb26021102_slewing"), source="comet"
    )
    assert second.stored  # ... and drained the spool
    assert list(folders.spool.iterdir()) == [] and list(folders.operations_spool.iterdir()) == []
    stores = Stores(workspace)
    try:
        assert len(stores.alerts.alerts()) == 2
        assert stores.alerts.operations_messages().loc[0, "burst_id"] == "sb26021102"
    finally:
        stores.close()


def test_operations_messages_are_recorded_malformed_ones_too(store):
    store.record_operations_message(
        "svom.fsc.burst", b'{"type": "burst", "burst_id": "sb26030303"}'
    )
    store.record_operations_message("svom.fsc.burst", b"{oops")
    feed = store.operations_messages()
    assert len(feed) == 2
    assert feed.loc[0, "error"].startswith("not valid JSON")
    assert (
        feed.loc[1, "burst_id"] == "sb26030303"
        and json.loads(feed.loc[1, "payload"])["type"] == "burst"
    )


def test_triggers_folder_may_lie_outside_the_workspace(tmp_path):
    from data_access.workspace import Workspace

    root = tmp_path / "ws"
    root.mkdir()
    (root / "gic.toml").write_text(f'[alerts]\ntriggers_dir = "{tmp_path / "telescope"}"\n')
    workspace = Workspace.open(root)
    receipt = receive_packet(
        workspace,
        make_packet(),
        source="stdin",
        received_at=datetime(2026, 2, 11, 19, 26, tzinfo=UTC),
    )
    assert receipt.trigger_file == tmp_path / "telescope" / "trigger_sb26021102.dat"


# -- JSON notices, conflicting ivorns, positions ---------------------------------------------
EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "gcn_notices"
GRM_POSITION = (
    b'<Position2D unit="deg"><Value2><C1>86.9</C1><C2>-0.4</C2></Value2>'
    b"<Error2Radius>-1</Error2Radius></Position2D>"
)


def json_notice(name: str, **changes) -> bytes:
    document = json.loads((EXAMPLES / f"{name}.example.json").read_text(encoding="utf-8"))
    return json.dumps(document | changes).encode()


@pytest.mark.shared_data
def test_one_burst_as_voevent_and_as_json_is_one_burst(store, voevents):
    voevent = (voevents / "svom" / "eclairs" / "eclairs_296.xml").read_bytes()
    grm = json_notice(
        "svom_grm_trigger",
        id=["sb26021102"],
        alert_tense="current",
        ra_dec_error=-1,
        alert_datetime="2026-02-11T19:25:00",
    )
    store.store(voevent)
    receipt = store.store(grm, source="kafka")
    assert receipt.stored and receipt.trigger_file.name == "trigger_sb26021102.dat"
    bursts = store.bursts()
    assert bursts["burst_id"].tolist() == ["sb26021102"] and bursts.loc[0, "packets"] == 2
    assert bursts.loc[0, "best_error_deg"] == pytest.approx(0.1057)  # never the GRM's -1
    notices = store.alerts(burst_id="sb26021102")
    assert set(notices["instrument"]) == {"ECLAIRs", "GRM"}
    values = triggers(store)["trigger_sb26021102.dat"]
    assert values["error_deg"] == "0.1057" and values["position_instrument"] == "ECLAIRs"
    detail = store.alert(receipt.record.ivorn)
    assert detail["notice_format"] == "json" and pd.isna(detail["error_deg"])


def test_json_retraction_retracts_the_burst(store):
    store.store(json_notice("svom_eclairs_trigger.wakeup"))
    store.store(json_notice("svom_eclairs_trigger.wakeup", alert_type="retraction"))
    assert store.bursts().loc[0, "retracted"]
    assert triggers(store)["trigger_sb24022203.dat"]["retracted"] == "true"


def test_grm_error_of_minus_one_is_never_the_best_error(store):
    grm = make_packet(ivorn="ivo://org.svom/fsc#sb26021102_grm-trigger", position=None)
    grm = grm.replace(b"</Time>", b"</Time>" + GRM_POSITION, 1)
    store.store(grm)
    assert store.alerts()["error_deg"].isna().all()
    assert triggers(store)["trigger_sb26021102.dat"]["error_deg"] == "none"
    store.store(make_packet(date="2026-02-11T19:20:00+00:00"))  # older, but a real position
    assert triggers(store)["trigger_sb26021102.dat"]["error_deg"] == "0.1057"


def test_known_ivorn_with_other_content_is_quarantined_with_the_difference(store):
    store.store(make_packet())
    store.store(make_packet().replace(b"<Who>", b"\n  <Who>"))  # same content, other bytes
    with pytest.raises(QuarantinedPacketError, match=r"with other content: ra: 86\.9755 -> 87\.5"):
        store.store(make_packet(position=(87.5, -0.4379, 0.1057)))
    assert store.alerts().loc[0, "ra"] == 86.9755 and store.alerts().loc[0, "duplicates"] == 1
    reasons = store.quarantined()
    assert len(reasons) == 1 and "was received before" in reasons.loc[0, "reason"]
    assert reasons.loc[0, "file"].endswith(".xml")
