"""Faults: a full disk (an injected ENOSPC) during status sync, trigger file write, master
promotion and product build; a process killed during product build and push; the CDB
(PostgreSQL, HTTP) going away mid-sync. Clear errors, nothing recorded as done that was
not, no temporary file left, and the next run completes the work without duplicates."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from data_access import safe_files
from data_access.alerts.trigger_files import QuarantinedPacketError  # noqa: F401 - the alerts' errors
from data_access.cdb.sync import SourceCursors, StatusSourceError, sync_source
from data_access.stores import Stores
from sandbox.sdb import SandboxServer
from tests.analysis.test_voevent import make_packet
from tests.data_access.calibration.test_store import add_night
from tests.data_access.products.test_push import BURST, client_for

REPO = Path(__file__).resolve().parents[2]


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def leftovers(root: Path) -> list[Path]:
    """Temporary files a failed atomic write would have left."""
    return [p for p in root.rglob("*") if p.name.endswith((".part", ".tmp"))]


# -- a full disk ---------------------------------------------------------------------------
def test_disk_full_while_writing_a_trigger_file_stores_nothing(stores, monkeypatch):
    monkeypatch.setattr(safe_files.os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        stores.alerts.store(make_packet(), source="comet")
    assert stores.cache.execute("SELECT count(*) FROM alert")[0][0] == 0
    assert not list(stores.alerts.triggers_dir.glob("trigger_*")) and not leftovers(
        stores.alerts.triggers_dir
    )
    monkeypatch.undo()
    receipt = stores.alerts.store(make_packet(), source="comet")  # space again: it goes in
    assert receipt.stored and receipt.trigger_file.is_file()


def test_disk_full_while_building_products_records_none(stores, monkeypatch):
    from analysis.products.synthetic import synthetic_photometry

    calls = {"n": 0}
    real = safe_files.os.replace

    def full_at_the_fourth(*args):
        calls["n"] += 1
        if calls["n"] == 4:
            disk_full()
        return real(*args)

    monkeypatch.setattr(safe_files.os, "replace", full_at_the_fourth)
    photometry = synthetic_photometry(BURST, n_images=2)
    with pytest.raises(OSError, match="No space left"):
        stores.products.build(BURST, photometry, user="ana")
    assert stores.products.queue(BURST.burst_id).empty  # nothing recorded as built
    assert not leftovers(stores.products.products_dir)
    monkeypatch.undo()
    built = stores.products.build(BURST, photometry, user="ana")
    assert built["created"].all() and set(built["version"]) == {1}
    files = sorted(p.name for p in stores.products.burst_dir(BURST.burst_id).glob("*.fits"))
    assert files == sorted(built["file_name"])


def test_disk_full_while_promoting_a_master_keeps_the_one_in_force(tmp_path, monkeypatch):
    from data_access.cache import Cache
    from data_access.calibration.store import CalibrationStore

    with Cache(tmp_path / "cache.duckdb") as cache:
        store = CalibrationStore(cache, tmp_path / "masters")
        first, _ = add_night(store, 1000, "2025-03-04")
        second, _ = add_night(store, 1000.2, "2025-03-05", seed=1)
        in_force = (store.folder("bias", "DDRAGO1", "NONE") / "MASTER.fits").resolve()
        third, _ = add_night(store, 1000.1, "2025-03-06", seed=2)  # noqa: F841
        before = (store.folder("bias", "DDRAGO1", "NONE") / "MASTER.fits").resolve()
        import data_access.calibration.masters as masters

        monkeypatch.setattr(masters.os, "symlink", disk_full)
        with pytest.raises(OSError, match="No space left"):
            store.promote(second if before != in_force else first)
        monkeypatch.undo()
        assert (store.folder("bias", "DDRAGO1", "NONE") / "MASTER.fits").resolve() == before
        statuses = dict(cache.execute("SELECT master_id, status FROM calibration_master"))
        assert list(statuses.values()).count("master") == 1
        assert not leftovers(tmp_path / "masters")


def test_disk_full_while_keeping_a_cdb_page_moves_no_cursor(
    http_server, stores, monkeypatch, status_record
):
    from data_access.cdb.http import CdbHttpSource
    from data_access.config import CdbHttpConfig

    http_server.respond = lambda query: __import__("tests.conftest", fromlist=["Reply"]).Reply(
        200, json.dumps([status_record(date="2024-03-01T00:00:00Z")]).encode()
    )
    source = CdbHttpSource(
        CdbHttpConfig(url=http_server.url, retries=1), stores.workspace.raw_status_dir / "cdb-http"
    )
    monkeypatch.setattr(safe_files.os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        sync_source(source, stores.status, SourceCursors(stores.cache))
    assert SourceCursors(stores.cache).get("cdb-http") is None
    assert stores.cache.execute("SELECT count(*) FROM status_document")[0][0] == 0
    assert not leftovers(stores.workspace.raw_status_dir)
    monkeypatch.undo()
    assert sync_source(source, stores.status, SourceCursors(stores.cache)).readings == 1


# -- killed --------------------------------------------------------------------------------
def run_killed(root: Path, point: str, script: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIC_KILL_AT": point, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


BUILD = """
    import sys
    from tests.data_access.products.test_push import BURST
    from analysis.products.synthetic import synthetic_photometry
    from data_access.stores import Stores
    stores = Stores.open(sys.argv[1] if len(sys.argv) > 1 else {root!r})
    stores.products.build(BURST, synthetic_photometry(BURST, n_images=2), user="ana")
"""


def test_a_build_killed_after_writing_its_files_is_completed_by_the_next_without_duplicates(
    workspace,
):
    run = run_killed(workspace.root, "product-written", BUILD.format(root=str(workspace.root)))
    assert run.returncode == -9, run.stderr
    stores = Stores.open(workspace.root)
    try:
        assert stores.products.queue(BURST.burst_id).empty  # nothing recorded as built
        from analysis.products.synthetic import synthetic_photometry

        built = stores.products.build(BURST, synthetic_photometry(BURST, n_images=2), user="ana")
        assert len(built) == 7 and set(built["version"]) == {1}
        files = sorted(p.name for p in stores.products.burst_dir(BURST.burst_id).glob("*.fits"))
        assert files == sorted(built["file_name"])  # no orphan of the killed build
        all_versions = stores.products.queue(BURST.burst_id, all_versions=True)
        assert len(all_versions) == 7
    finally:
        stores.close()


@pytest.mark.service
def test_a_push_killed_after_the_server_answered_ok_is_finished_by_the_next_run_once(
    workspace, tmp_path
):
    from analysis.products.synthetic import synthetic_photometry

    stores = Stores.open(workspace.root)
    stores.products.build(BURST, synthetic_photometry(BURST, n_images=2), user="ana")
    dt = int(
        stores.products.queue(BURST.burst_id).set_index("card").loc["DT_GFT_FGFT", "product_id"]
    )
    stores.products.review.approve(dt, user="ana", comment="ok")
    stores.close()
    try:
        sandbox = SandboxServer(tmp_path / "sdb").start()
    except OSError as exc:
        from tests.conftest import service_unavailable

        service_unavailable(f"the SDB sandbox cannot start: {exc}")
    try:
        script = f"""
            from data_access.stores import Stores
            from tests.data_access.products.test_push import client_for
            stores = Stores.open({str(workspace.root)!r})
            stores.products.pushes.push({dt}, client_for({sandbox.url!r}), user="ana")
        """
        run = run_killed(workspace.root, "product-pushed", script)
        assert run.returncode == -9, run.stderr
        on_server = list((tmp_path / "sdb" / "products").rglob("*.fits"))
        assert len(on_server) == 1  # the server has it; the workspace does not know yet
        stores = Stores.open(workspace.root)
        try:
            assert stores.products.record(dt)["state"] == "pushing"  # not marked pushed
            # the dead process's claim is stale at once (instead of after push_claim_s)
            stores.products.pushes.claim_s = 0
            outcomes = stores.products.pushes.push_approved(client_for(sandbox.url), user="ana")
            assert [o.pushed for o in outcomes] == [True]
            assert outcomes[0].answer["OK"] == "Product updated."  # the same bytes, again
            assert stores.products.record(dt)["state"] == "pushed"
            assert list((tmp_path / "sdb" / "products").rglob("*.fits")) == on_server
            actions = stores.products.audit(product_id=dt)["action"].tolist()
            assert actions.count("push") == 1
            assert stores.products.pushes.push_approved(client_for(sandbox.url), user="ana") == []
        finally:
            stores.close()
    finally:
        sandbox.close()


# -- the CDB going away mid-sync -----------------------------------------------------------
@pytest.mark.service
def test_postgres_going_away_mid_sync_keeps_the_pages_before_and_the_next_sync_finishes(
    pg_database, stores, status_record
):
    import psycopg

    from data_access.cdb.postgres import CdbPostgresSource
    from data_access.config import CdbPostgresConfig
    from tests.data_access.telemetry.test_sources import T0, create_table, insert_rows

    create_table(pg_database)
    dates = [T0 + timedelta(minutes=5 * n) for n in range(6)]
    insert_rows(
        pg_database,
        [
            (n, when, [status_record(f"s{n}", date=when.strftime("%Y-%m-%dT%H:%M:%S"))])
            for n, when in enumerate(dates, start=1)
        ],
    )
    source = CdbPostgresSource(
        CdbPostgresConfig(dsn=pg_database),
        None,
        stores.workspace.raw_status_dir / "pg",
        page_rows=2,
    )

    class DiesAfterOnePage:
        name = source.name

        def collect(self, cursor):
            pages = source.collect(cursor)
            yield next(pages)
            with psycopg.connect(pg_database, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                    "datname = current_database() AND pid <> pg_backend_pid()"
                )
            yield from pages

    with pytest.raises(StatusSourceError) as failed:
        sync_source(DiesAfterOnePage(), stores.status, SourceCursors(stores.cache))
    assert "password" not in str(failed.value).lower()
    kept = stores.cache.execute("SELECT count(*) FROM status_reading")[0][0]
    assert kept == 2  # the first page went in, and its cursor moved
    summary = sync_source(source, stores.status, SourceCursors(stores.cache))
    assert stores.cache.execute("SELECT count(*) FROM status_reading")[0][0] == 6
    assert len(summary.ingested) == 4  # no duplicate of the first page


@pytest.mark.service
def test_http_cdb_closing_the_connection_mid_answer_is_a_clear_error_and_records_nothing(stores):
    """The endpoint announces 4000 bytes, sends 40 and closes (a server stopping)."""
    from data_access.cdb.http import CdbHttpSource
    from data_access.config import CdbHttpConfig

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve():
        for _ in range(3):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 4000\r\n\r\n" + b'[{"name": "a", "value": "1"' + b" " * 13
            )
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/status"
    source = CdbHttpSource(
        CdbHttpConfig(url=url, retries=2, backoff_s=0.0, timeout_s=2.0),
        stores.workspace.raw_status_dir / "cdb-http",
        sleep=lambda s: None,
    )
    with pytest.raises(StatusSourceError, match="CDB endpoint"):
        sync_source(source, stores.status, SourceCursors(stores.cache))
    listener.close()
    assert stores.cache.execute("SELECT count(*) FROM status_document")[0][0] == 0
    assert SourceCursors(stores.cache).get("cdb-http") is None
