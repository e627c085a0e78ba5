import subprocess
import sys

import duckdb
import pytest

from data_access.cache import SCHEMA_VERSION, Cache, CacheBusyError, CacheError


def test_new_cache_has_current_schema(tmp_path):
    with Cache(tmp_path / "c.duckdb") as cache:
        assert cache.schema_version() == SCHEMA_VERSION
    with Cache(tmp_path / "c.duckdb") as cache:  # reopening migrates nothing
        assert cache.schema_version() == SCHEMA_VERSION


def test_cache_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "c.duckdb"
    Cache(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (?)", [SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(CacheError, match="written by a newer GIC Workbench"):
        Cache(path)


def test_transaction_rolls_back_on_error(tmp_path):
    with Cache(tmp_path / "c.duckdb") as cache:
        with pytest.raises(RuntimeError), cache.transaction() as con:
            con.execute("INSERT INTO source_cursor VALUES ('x', 'y')")
            raise RuntimeError("boom")
        assert cache.execute("SELECT count(*) FROM source_cursor") == [(0,)]


def test_second_writer_gets_a_clear_message(tmp_path):
    path = tmp_path / "c.duckdb"
    Cache(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
            "sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(CacheBusyError, match=r"is held by process \d+.*Stop it first"):
            Cache(path)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def test_not_a_duckdb_file(tmp_path):
    path = tmp_path / "c.duckdb"
    path.write_text("hello")
    with pytest.raises(CacheError, match="c.duckdb"):
        Cache(path)
