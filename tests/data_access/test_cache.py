import subprocess
import sys

import duckdb
import pytest

from data_access.cache import (
    SCHEMA_VERSION,
    Cache,
    CacheConflictError,
    CacheError,
    LakeLocation,
)


@pytest.fixture(params=["sqlite", "postgres"])
def lake(request, tmp_path) -> LakeLocation:
    """A new lake: the embedded SQLite catalog, and a PostgreSQL one (pgserver)."""
    if request.param == "sqlite":
        return LakeLocation(tmp_path / "lake")
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    uri = request.getfixturevalue("pg_database")
    return LakeLocation(
        tmp_path / "lake", postgres=make_conninfo(**conninfo_to_dict(uri)), data_path=None
    )


def test_new_lake_has_current_schema(lake):
    with Cache(lake) as cache:
        assert cache.schema_version() == SCHEMA_VERSION
    with Cache(lake) as cache:  # reopening migrates nothing
        assert cache.schema_version() == SCHEMA_VERSION
        assert cache.execute("SELECT count(*) FROM schema_version") == [(SCHEMA_VERSION,)]


def test_embedded_lake_layout(tmp_path):
    Cache(tmp_path / "lake").close()
    names = {path.name for path in (tmp_path / "lake").iterdir()}
    assert {"catalog.sqlite", "data", "write.lock"} <= names
    import sqlite3

    con = sqlite3.connect(tmp_path / "lake" / "catalog.sqlite")
    try:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        con.close()


def test_lake_from_a_newer_version_is_refused(tmp_path):
    with Cache(tmp_path / "lake") as cache, cache.transaction() as con:
        con.execute("INSERT INTO schema_version VALUES (?)", [SCHEMA_VERSION + 1])
    with pytest.raises(CacheError, match="written by a newer GIC Workbench"):
        Cache(tmp_path / "lake")


def test_transaction_rolls_back_on_error(lake):
    with Cache(lake) as cache:
        with pytest.raises(RuntimeError), cache.transaction() as con:
            con.execute("INSERT INTO source_cursor VALUES ('x', 'y')")
            raise RuntimeError("boom")
        assert cache.execute("SELECT count(*) FROM source_cursor") == [(0,)]


def test_inner_transaction_joins_the_outer_one(tmp_path):
    with Cache(tmp_path / "lake") as cache:
        before = cache.snapshot()
        with cache.transaction() as con:
            with cache.transaction() as inner:
                inner.execute("INSERT INTO source_cursor VALUES ('a', '1')")
            con.execute("INSERT INTO source_cursor VALUES ('b', '2')")
        assert cache.snapshot() == before + 1  # one commit for both
        with pytest.raises(RuntimeError), cache.transaction() as con:
            with cache.transaction() as inner:
                inner.execute("INSERT INTO source_cursor VALUES ('c', '3')")
            raise RuntimeError("boom")  # drops the inner block's write too
        assert cache.execute("SELECT source FROM source_cursor ORDER BY 1") == [("a",), ("b",)]


HOLD = """
import sys
from data_access.cache import Cache
cache = Cache(sys.argv[1])
with cache.transaction() as con:
    con.execute("INSERT INTO source_cursor VALUES ('files', 'held')")
print("ready", flush=True)
sys.stdin.read()
"""


def test_readers_and_writers_open_the_lake_while_another_process_holds_it(tmp_path):
    folder = tmp_path / "lake"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with Cache(folder, read_only=True) as reader:
            assert reader.execute("SELECT cursor FROM source_cursor") == [("held",)]
        with Cache(folder) as writer, writer.transaction() as con:
            con.execute("INSERT INTO source_cursor VALUES ('files', 'second')")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert holder.returncode == 0
    with Cache(folder, read_only=True) as reader:
        assert reader.execute("SELECT count(*) FROM source_cursor") == [(2,)]


def test_read_only_lake_refuses_writes(tmp_path):
    Cache(tmp_path / "lake").close()
    with (
        Cache(tmp_path / "lake", read_only=True) as cache,
        pytest.raises(duckdb.Error, match="read-only"),
    ):
        cache.execute("INSERT INTO source_cursor VALUES ('x', 'y')")


def _outside_writer(folder) -> duckdb.DuckDBPyConnection:
    """A DuckDB of its own on the lake, as another machine would be (no lock file)."""
    from data_access.lake import _extension_folder

    con = duckdb.connect()
    for name in ("ducklake", "sqlite_scanner"):
        con.execute(f"LOAD '{_extension_folder() / name}.duckdb_extension'")
    con.execute(
        f"ATTACH 'ducklake:sqlite:{folder / 'catalog.sqlite'}' AS lake "
        f"(DATA_PATH '{folder / 'data'}/', META_JOURNAL_MODE 'WAL', META_BUSY_TIMEOUT 10000)"
    )
    con.execute("USE lake")
    return con


def test_a_conflicting_commit_is_run_again(tmp_path):
    folder = tmp_path / "lake"
    attempts = []
    with Cache(folder) as cache:
        outside = _outside_writer(folder)

        def work(con):
            attempts.append(1)
            n = con.execute("SELECT count(*) FROM source_cursor").fetchone()[0]
            if len(attempts) == 1:  # another machine commits while this one works
                outside.execute("INSERT INTO source_cursor VALUES ('cdb', 'outside')")
            con.execute("INSERT INTO source_cursor VALUES ('files', ?)", [f"after {n}"])

        cache.write("the test's cursor", work)
        outside.close()
        rows = cache.execute("SELECT cursor FROM source_cursor ORDER BY 1")
    assert len(attempts) == 2
    assert rows == [("after 1",), ("outside",)]  # the second attempt saw the other's row


def test_conflicts_are_retried_a_bounded_number_of_times(tmp_path):
    calls = []

    def work(con):
        calls.append(1)
        raise CacheConflictError("lake: the commit conflicted with another writer: boom")

    with (
        Cache(tmp_path / "lake") as cache,
        pytest.raises(CacheConflictError, match=r"ingest of a\.json: gave up after 3 .*boom"),
    ):
        cache.write("ingest of a.json", work, attempts=3)
    assert len(calls) == 3


def test_not_a_lake(tmp_path):
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "catalog.sqlite").write_text("hello")
    with pytest.raises(CacheError, match="lake: cannot open the cache"):
        Cache(tmp_path / "lake")


def test_maintenance_merges_small_files_and_expires_old_snapshots(tmp_path):
    with Cache(tmp_path / "lake") as cache:
        for batch in range(6):  # six commits, each larger than what the catalog inlines
            with cache.transaction() as con:
                con.execute(
                    "INSERT INTO source_cursor SELECT 'files', ? || '-' || range FROM range(50)",
                    [str(batch)],
                )
        report = cache.maintain(keep_days=0)
        assert cache.execute("SELECT count(*), count(DISTINCT cursor) FROM source_cursor") == [
            (300, 300)
        ]
    assert report["files_before"] == 6 and report["files_after"] == 1
    assert report["snapshots_after"] == 1 < report["snapshots_before"]
