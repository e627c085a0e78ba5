"""The real chain: comet-sendvo -> Comet (twistd, loopback) -> gic-alert-handler -> trigger
files and the cache. Comet remembers every ivorn in its --eventdb (here inside the test's
workspace) and drops one it has seen, so each test starts a broker of its own."""

import time

import pytest

from analysis.trigger_file import read_trigger_file
from analysis.voevent import parse_voevent
from data_access.alerts.receive import open_cache_waiting
from data_access.alerts.trigger_files import AlertFolders
from data_access.stores import Stores

pytestmark = [pytest.mark.service, pytest.mark.slow, pytest.mark.shared_data]


def kept_ivorns(broker) -> set[str]:
    """Ivorns in the cache or waiting in the spool (a packet is kept in one or the other)."""
    folders = AlertFolders.from_workspace(broker.workspace)
    spooled = {parse_voevent(p.read_bytes()).ivorn for p in folders.spool.glob("[0-9]*.xml")}
    cache = open_cache_waiting(broker.workspace, 2.0)
    if cache is None:
        return spooled
    with cache:
        return spooled | {row[0] for row in cache.execute("SELECT ivorn FROM alert")}


def wait_until_kept(broker, ivorns: set[str], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ivorns <= kept_ivorns(broker):
            return
        time.sleep(0.5)
    missing = ivorns - kept_ivorns(broker)
    pytest.fail(f"never kept: {sorted(missing)}\nComet log:\n{broker.log.read_text()[-3000:]}")


def test_real_packets_through_comet(comet_broker, shared_data):
    voevents = shared_data / "voevents"
    svom = sorted((voevents / "svom").rglob("*.xml"))
    gravitational = voevents / "lvk" / "S190425z-1-Initial.xml"
    packets = [*svom, gravitational]
    for packet in packets:
        comet_broker.send(packet)
    expected = {parse_voevent(p.read_bytes()).ivorn for p in packets}
    wait_until_kept(comet_broker, expected)

    stores = Stores(comet_broker.workspace)
    try:
        stores.alerts.ingest_spool()  # whatever a cache out of reach made a handler spool
        frame = stores.alerts.alerts()
        triggers = {
            p.name: read_trigger_file(p.read_text())
            for p in stores.alerts.triggers_dir.glob("trigger_*.dat")
        }
    finally:
        stores.close()
    assert set(frame["ivorn"]) == expected and set(frame["source"]) == {"comet"}
    bursts = {parse_voevent(p.read_bytes()).burst_id for p in svom}
    assert set(triggers) == {f"trigger_{b}.dat" for b in bursts}  # none for the GW alert
    assert triggers["trigger_sb26030408.dat"]["retracted"] == "true"
    assert triggers["trigger_sb26022802.dat"]["ivorn"].endswith("mxt-update_qf2")
    root = comet_broker.workspace.root
    assert len(list((root / "comet" / "events").iterdir())) == len(packets)  # --save-event
    assert any((root / "comet" / "eventdb").iterdir())  # Comet's ivorn database


def test_malformed_packet_through_comet_is_quarantined(comet_broker, tmp_path, shared_data):
    good = (shared_data / "voevents" / "svom" / "mxt" / "mxt_47.xml").read_bytes()
    # well-formed XML and a valid VOEvent for Comet, but a Burst_Id that is no burst ID
    bad = tmp_path / "bad.xml"
    bad.write_bytes(
        good.replace(b'value="sb26033003"', b'value="../../etc"').replace(
            b"sb26033003_mxt-initial_qf1", b"bad_burst_id"
        )
    )
    comet_broker.send(bad)
    comet_broker.send(shared_data / "voevents" / "svom" / "mxt" / "mxt_47.xml")
    wait_until_kept(comet_broker, {parse_voevent(good).ivorn})
    quarantine = AlertFolders.from_workspace(comet_broker.workspace).quarantine
    reasons = [p.read_text() for p in quarantine.glob("*.reason")]
    assert len(reasons) == 1 and "Burst_Id" in reasons[0]
