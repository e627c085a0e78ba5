"""Settings of the cache's lake (``[cache]``): its catalog, its data files, its upkeep."""

from __future__ import annotations

from dataclasses import dataclass

from data_access.config.setting import _setting


@dataclass(frozen=True)
class CacheConfig:
    postgres: str = _setting(
        "",
        "PostgreSQL catalog of the cache's lake, as libpq key=value (e.g. 'host=db dbname=gic "
        "user=gic'; the password from PGPASSWORD or ~/.pgpass); empty = the SQLite catalog in "
        "the workspace's lake/ folder",
    )
    data_path: str = _setting(
        "",
        "Folder of the lake's data files (absolute, or relative to the workspace; shared storage "
        "when several machines use one PostgreSQL catalog); empty = lake/data in the workspace",
    )
    maintain_every_h: float = _setting(
        24.0,
        "Hours between two maintenances of the lake by the background work (small files "
        "merged, old snapshots expired, unused files deleted); 0 = never",
    )
    keep_snapshots_days: float = _setting(
        30.0,
        "Days the lake keeps its snapshots (`gic --at`); those that a product version, a "
        "promotion, a certification or an approval records are kept for good",
    )
