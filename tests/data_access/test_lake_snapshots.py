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
