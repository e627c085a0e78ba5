"""A catalog that cannot be reached: the handler spools the packet (the trigger file is
written all the same), and the first handler that reaches the catalog again drains the spool."""

from __future__ import annotations

import json

from data_access.alerts.receive import receive_packet
from data_access.alerts.trigger_files import AlertFolders
from data_access.stores import Stores
from data_access.workspace import Workspace
from tests.analysis.test_voevent import make_packet
from tests.conftest import free_port

SECOND = "ivo://org.svom/fsc#sb26021102_slewing"


def _stored_ivorns(workspace: Workspace) -> list[str]:
    stores = Stores(workspace)
    try:
        return sorted(stores.alerts.alerts()["ivorn"])
    finally:
        stores.close()


def test_a_damaged_catalog_spools_and_the_spool_drains_when_it_is_back(workspace):
    Stores(workspace).close()  # the lake made
    catalog = workspace.root / "lake" / "catalog.sqlite"
    kept = catalog.with_name("catalog.kept")
    catalog.rename(kept)
    catalog.write_text("not a catalog")  # a damaged (or half-restored) catalog
    config = workspace.config_path
    config.write_text(config.read_text().replace("cache_wait_s = 1.0", "cache_wait_s = 0.2"))
    workspace = Workspace.open(workspace.root)
    receipt = receive_packet(workspace, make_packet(), source="comet")
    folders = AlertFolders.from_workspace(workspace)
    assert receipt.spooled is not None and receipt.spooled.parent == folders.spool
    assert (folders.triggers / "trigger_sb26021102.dat").exists()
    kept.replace(catalog)  # the catalog is back
    second = receive_packet(workspace, make_packet(SECOND), source="comet")
    assert second.stored and second.spooled is None
    assert list(folders.spool.iterdir()) == []
    assert _stored_ivorns(workspace) == sorted(
        [SECOND, "ivo://org.svom/fsc#sb26021102_eclairs-wakeup"]
    )


def test_a_postgres_catalog_on_a_closed_port_spools(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    dsn = f"host=127.0.0.1 port={free_port()} dbname=gic user=gic connect_timeout=2"
    (root / "gic.toml").write_text(
        f"[cache]\npostgres = {json.dumps(dsn)}\n\n[alerts]\ncache_wait_s = 0.2\n"
    )
    workspace = Workspace.open(root)
    receipt = receive_packet(workspace, make_packet(), source="comet")
    folders = AlertFolders.from_workspace(workspace)
    assert receipt.spooled is not None and receipt.spooled.parent == folders.spool
    assert receipt.spooled.read_bytes() == make_packet()
