"""The lake's reads kept while their tables are unchanged: given again without asking the lake,
forgotten as soon as a commit (of this process or another) touches a table they name, never
kept when they cannot be (transactions, the past, what changes by itself)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from data_access import read_cache
from data_access.cache import Cache
from data_access.read_cache import ReadCache


def _cursor(cache: Cache, name: str, value: str) -> None:
    with cache.transaction() as con:
        con.execute("DELETE FROM source_cursor WHERE source = ?", [name])
        con.execute("INSERT INTO source_cursor VALUES (?, ?)", [name, value])


@pytest.fixture
def lake(tmp_path):
    with Cache(tmp_path / "lake") as cache:
        _cursor(cache, "files", "1")
        yield cache


def test_a_read_is_given_again_until_a_commit_touches_its_table(lake):
    reads = lake._reads
    question = "SELECT cursor FROM source_cursor ORDER BY source"
    assert lake.execute(question) == [("1",)]
    hits = reads.hits
    assert lake.execute(question) == [("1",)] and reads.hits == hits + 1
    with lake.transaction() as con:  # another table: still kept
        con.execute("INSERT INTO schema_version VALUES (999)")
    assert lake.execute(question) == [("1",)] and reads.hits == hits + 2
    _cursor(lake, "files", "2")
    assert lake.execute(question) == [("2",)]  # asked again
    frame = lake.query_df(question)
    frame.loc[0, "cursor"] = "changed by the caller"
    assert lake.query_df(question)["cursor"].tolist() == ["2"]  # a copy each time


def test_another_process_commit_is_seen_at_the_next_read(lake, tmp_path):
    question = "SELECT cursor FROM source_cursor"
    assert lake.execute(question) == [("1",)]
    asked = lake._reads.asked
    for _ in range(5):  # nothing committed: the catalog's files say so, no query
        assert lake.execute(question) == [("1",)]
    assert lake._reads.asked == asked
    script = (
        "import sys; from data_access.cache import Cache\n"
        "with Cache(sys.argv[1]) as c, c.transaction() as con:\n"
        "    con.execute(\"UPDATE source_cursor SET cursor = '7'\")\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "lake")], check=True)
    assert lake.execute(question) == [("7",)]
    assert lake._reads.asked == asked + 1


def test_a_commit_left_unmarked_is_seen_within_a_second(lake, monkeypatch):
    question = "SELECT cursor FROM source_cursor"
    assert lake.execute(question) == [("1",)]
    monkeypatch.setattr(lake, "_mark", lambda: None)  # a writer that died before marking
    _cursor(lake, "files", "5")
    assert lake.execute(question) == [("1",)]  # the marker says nothing changed
    monkeypatch.setattr(read_cache, "ASK_AT_LEAST_EVERY_S", 0.0)
    assert lake.execute(question) == [("5",)]


def test_what_cannot_be_kept_goes_to_the_lake(lake, tmp_path):
    assert not ReadCache.keeps("SELECT now()")
    assert not ReadCache.keeps("SELECT * FROM _batch")
    assert not ReadCache.keeps("INSERT INTO source_cursor VALUES ('a', 'b')")
    assert not ReadCache.keeps("SELECT * FROM ducklake_snapshots('lake_1')")
    assert ReadCache.keeps("WITH x AS (SELECT * FROM sensor) SELECT sensor_id FROM x")
    misses = lake._reads.misses
    lake.execute("SELECT 42")  # names no lake table: run, not kept
    lake.execute("SELECT 42")
    assert lake._reads.misses == misses + 2
    with lake.transaction() as con:  # inside a transaction the lake answers
        con.execute("UPDATE source_cursor SET cursor = '3'")
        assert lake.execute("SELECT cursor FROM source_cursor") == [("3",)]
    snapshot = lake.snapshot()
    _cursor(lake, "files", "4")
    with Cache(tmp_path / "lake", at=snapshot) as then:
        assert then._reads is None and then.execute("SELECT cursor FROM source_cursor") == [("3",)]


def test_a_new_table_forgets_everything(lake):
    question = "SELECT count(*) FROM source_cursor"
    lake.execute(question)
    with lake.transaction() as con:
        con.execute("CREATE TABLE scratch (x INTEGER)")
    before = lake._reads.misses
    lake.execute(question)
    assert lake._reads.misses == before + 1
