"""The lake's snapshots: read as it was at one, the expired ones named, and the maintenance
keeping those a record names."""

from __future__ import annotations

import pytest

from data_access.cache import Cache, CacheError


def _commit(cache: Cache, batch: int) -> int:
    with cache.transaction() as con:
        con.execute("INSERT INTO source_cursor VALUES ('files', ?)", [str(batch)])
    return cache.snapshot()


def test_maintenance_keeps_the_recorded_snapshots_and_expires_the_others(tmp_path):
    lake = tmp_path / "lake"
    with Cache(lake) as cache:
        first, recorded = _commit(cache, 1), _commit(cache, 2)
        with cache.transaction() as con:  # a certification made from snapshot `recorded`
            con.execute(
                "INSERT INTO calibration_certification VALUES (1, true, 'ok', 'ana', now(), ?)",
                [recorded],
            )
        _commit(cache, 3)
        assert cache.recorded_snapshots() == {recorded}
        report = cache.maintain(keep_days=0)
        assert report["snapshots_after"] == 2  # the recorded one and the newest
        assert cache.execute("SELECT count(*) FROM source_cursor") == [(3,)]
    with Cache(lake, at=recorded) as then:
        assert then.read_only and then.execute("SELECT cursor FROM source_cursor") == [
            ("1",),
            ("2",),
        ]
    with pytest.raises(
        CacheError, match=f"snapshot {first} is no longer kept .* oldest one kept is {recorded}"
    ):
        Cache(lake, at=first)
    with pytest.raises(CacheError, match="snapshot 999 was never made"):
        Cache(lake, at=999)


def test_a_query_an_old_snapshots_schema_lacks_is_said_in_one_line(tmp_path, monkeypatch):
    import data_access.cache as cache_module

    lake, current = tmp_path / "lake", cache_module.SCHEMA_VERSION
    monkeypatch.setattr(cache_module, "SCHEMA_VERSION", current - 1)
    with Cache(lake) as cache:  # the lake of the version before the last migration
        before = _commit(cache, 1)
    monkeypatch.undo()
    with Cache(lake) as cache:
        assert cache.schema_version() == current
    question = "SELECT last_ts FROM sensor"  # a column of the last migration
    with Cache(lake, at=before) as then:
        assert then.execute("SELECT cursor FROM source_cursor") == [("1",)]
        with pytest.raises(
            CacheError, match=f"snapshot {before} has schema {current - 1}, older than .* {current}"
        ):
            then.execute(question)
    with Cache(lake) as now, pytest.raises(Exception, match="last_tss"):
        now.execute(question.replace("last_ts", "last_tss"))  # today's mistakes are raw


def test_the_commands_that_only_read_take_a_snapshot(tmp_path, capsys):
    from app.cli import main

    root = tmp_path / "ws"
    assert main(["--workspace", str(root), "alerts", "list"]) == 0
    with Cache(root / "lake") as cache:
        snapshot = cache.snapshot()
    for command in (["alerts", "list"], ["alerts", "quarantined"], ["alerts", "operations"]):
        assert main(["--workspace", str(root), "--at", str(snapshot), *command]) == 0, command
    assert main(["--workspace", str(root), "--at", str(snapshot), "sync", "alerts"]) == 2
    assert "snapshot" in capsys.readouterr().err
