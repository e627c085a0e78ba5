"""A workspace of an earlier version, its cache one DuckDB file, is imported into the lake
once, on open, with a message; the file stays where it was."""

from __future__ import annotations

import logging
from datetime import timedelta

import duckdb
import pytest

from data_access.cache import CacheError
from data_access.legacy_cache import legacy_export
from data_access.schema import MIGRATIONS
from data_access.stores import Stores
from data_access.telemetry.store import documents_in
from data_access.workspace import Workspace

LEGACY_SCHEMA = 4  # the last schema of the DuckDB cache file


def write_legacy_cache(path) -> None:
    """A ``cache.duckdb`` as the earlier version left it: its schema (sequences included),
    two sensors with readings, a document and a rejection."""
    con = duckdb.connect(str(path))
    try:
        con.execute(
            "CREATE SEQUENCE sensor_id_seq START 1; CREATE SEQUENCE document_id_seq START 1"
        )
        for version, migration in enumerate(MIGRATIONS[:LEGACY_SCHEMA], start=1):
            con.execute(migration)
            con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
            con.execute("INSERT INTO schema_version VALUES (?)", [version])
        con.execute(
            "INSERT INTO sensor (sensor_id, name, unit) VALUES "
            "(nextval('sensor_id_seq'), 'dome-temperature', 'C'), "
            "(nextval('sensor_id_seq'), 'dome-humidity', '%')"
        )
        con.execute(
            "INSERT INTO status_document VALUES (nextval('document_id_seq'), 'files', "
            "'/data/a.json', 10, 1, 'abc', 2, TIMESTAMP '2024-03-01 00:00:00')"
        )
        con.execute(
            "INSERT INTO status_reading VALUES "
            "(1, TIMESTAMP '2024-03-01 00:00:00', 12.5, NULL, NULL, 0, 1), "
            "(2, TIMESTAMP '2024-03-01 00:00:00', 40.0, NULL, NULL, 0, 1)"
        )
        con.execute(
            "INSERT INTO rejected_document VALUES "
            "('files', '/data/b.json', 'def', 'b.json: record 1: broken', now()::TIMESTAMP)"
        )
    finally:
        con.close()


def test_an_earlier_cache_is_imported_once_and_left_in_place(
    tmp_path, caplog, status_record, write_status_file
):
    workspace = Workspace.open(tmp_path / "ws")
    write_legacy_cache(workspace.cache_path)
    with caplog.at_level(logging.WARNING, logger="data_access.legacy_cache"):
        stores = Stores(workspace)
    try:
        [message] = [r.getMessage() for r in caplog.records]
        assert str(workspace.cache_path) in message and "imported 6 rows" in message
        assert stores.cache.execute("SELECT name FROM sensor ORDER BY sensor_id") == [
            ("dome-temperature",),
            ("dome-humidity",),
        ]
        latest = stores.status.latest(stale_after=timedelta(minutes=5)).set_index("name")
        assert latest["value"].to_dict() == {"dome-temperature": "12.5", "dome-humidity": "40.0"}
        assert stores.cache.execute("SELECT path, schema, n_rows FROM legacy_import") == [
            (str(workspace.cache_path), LEGACY_SCHEMA, 6)
        ]
        # the lake goes on from the imported identifiers
        path = write_status_file(tmp_path / "new.json", [status_record("dome-wind", "+3.0")])
        stores.status.ingest(documents_in([path]))
        assert stores.cache.execute("SELECT sensor_id FROM sensor WHERE name = 'dome-wind'") == [
            (3,)
        ]
    finally:
        stores.close()
    assert workspace.cache_path.exists()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="data_access.legacy_cache"):
        stores = Stores(workspace)  # opened again: nothing imported twice
    try:
        assert not caplog.records
        assert stores.cache.execute("SELECT count(*) FROM status_reading") == [(3,)]
    finally:
        stores.close()


def test_the_export_of_a_cache_this_duckdb_cannot_read_is_imported(tmp_path):
    workspace = Workspace.open(tmp_path / "ws")
    write_legacy_cache(workspace.cache_path)
    con = duckdb.connect(str(workspace.cache_path), read_only=True)
    con.execute(f"EXPORT DATABASE '{legacy_export(workspace.cache_path)}' (FORMAT parquet)")
    con.close()
    workspace.cache_path.write_bytes(b"written by a DuckDB of another storage version")
    stores = Stores(workspace)
    try:
        latest = stores.status.latest(stale_after=timedelta(minutes=5)).set_index("name")
        assert latest["value"].to_dict() == {"dome-temperature": "12.5", "dome-humidity": "40.0"}
        assert stores.cache.execute("SELECT path, schema, n_rows FROM legacy_import") == [
            (str(workspace.cache_path), LEGACY_SCHEMA, 6)
        ]
        assert stores.cache.execute("SELECT count(*) FROM status_reading") == [(2,)]
    finally:
        stores.close()


def test_an_unreadable_cache_stops_the_open_and_names_the_file(tmp_path):
    workspace = Workspace.open(tmp_path / "ws")
    workspace.cache_path.write_bytes(b"not a database")
    with pytest.raises(CacheError, match=r"cache\.duckdb: cannot read the cache of the earlier"):
        Stores(workspace)
