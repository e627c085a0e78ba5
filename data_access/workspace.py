"""A workspace: the one folder that holds everything of a deployment.

::

    WORKSPACE/
        gic.toml            every setting, written with its defaults on first use (mode 600)
        lake/               the cache, a DuckLake (see :mod:`data_access.cache`):
            catalog.sqlite  its catalog (WAL journal), unless [cache] names a PostgreSQL one
            data/           its Parquet files, unless [cache] data_path says where
            write.lock      the writers' turn
            committed       rewritten after every commit (readers tell a change from none)
        cache.duckdb        the DuckDB cache of earlier versions, imported into lake/ once
        incoming/status/    the drop folder of status files (configurable)
        raw/status/         documents fetched from the CDB, kept as received
        secrets/            random secrets made on first use (mode 600)

Everything a workspace holds is its owner's only: opening one makes the process create
files 600 and folders 700 from then on (:func:`~data_access.safe_files.keep_private`).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from data_access.cache import Cache
from data_access.config import Config, default_config_text, load_config
from data_access.lake import CATALOG_NAME, CacheError, LakeLocation
from data_access.safe_files import keep_private

CONFIG_NAME = "gic.toml"
CACHE_NAME = "cache.duckdb"  # of earlier versions
LAKE_NAME = "lake"


@dataclass(frozen=True)
class Workspace:
    """The folder of a deployment and its settings.

    Use :meth:`open`; it creates the folder and its ``gic.toml`` when missing. ``at``, when
    set (``gic --at``), is the lake snapshot its cache is read at.
    """

    root: Path
    config: Config
    at: int | None = None

    @classmethod
    def open(cls, root: Path | str) -> Workspace:
        """Open (creating if needed) the workspace at ``root``; from then on, the process
        creates files and folders readable by their owner only."""
        keep_private()
        root = Path(root).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        config_path = root / CONFIG_NAME
        if not config_path.exists():
            fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(default_config_text())
        return cls(root=root, config=load_config(config_path))

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def cache_path(self) -> Path:
        """The DuckDB cache file of earlier versions (imported into the lake on open)."""
        return self.root / CACHE_NAME

    @property
    def lake(self) -> LakeLocation:
        """Where the cache's lake keeps its catalog and data files (``[cache]``)."""
        settings = self.config.cache
        data = Path(settings.data_path).expanduser() if settings.data_path else None
        return LakeLocation(
            self.root / LAKE_NAME,
            postgres=settings.postgres,
            data_path=self.root / data if data is not None else None,
        )

    def path(self, relative: str) -> Path:
        """A folder of the workspace named in the settings, created if missing."""
        folder = (self.root / relative).resolve()
        if not folder.is_relative_to(self.root):
            raise ValueError(f"{self.config_path}: folder '{relative}' lies outside the workspace")
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def status_drop_dir(self) -> Path:
        return self.path(self.config.telemetry.drop_dir)

    @property
    def raw_status_dir(self) -> Path:
        return self.path("raw/status")

    def secret(self, name: str) -> str:
        """A random secret kept in ``secrets/<name>`` (mode 600), made on first use."""
        folder = self.path("secrets")
        path = folder / name
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
        return path.read_text().strip()

    def cache(self, *, read_only: bool = False, at: int | None = None) -> Cache:
        """Open the workspace's cache (see :class:`~data_access.cache.Cache`), importing the
        DuckDB cache of an earlier version once; with ``at`` (else the workspace's
        :attr:`at`), read only, as it was at that lake snapshot.

        Raises
        ------
        CacheError
            If the cache is asked for writing at a snapshot (the past is not written).
        """
        at = self.at if at is None else at
        if at is not None and not read_only:
            raise CacheError(
                f"{self.lake}: the cache is read as it was at snapshot {at} (--at {at}), and "
                "this writes to it; run it without --at"
            )
        if at is not None:
            return Cache(self.lake, at=at)
        lake = self.lake
        if read_only and not lake.postgres and not (lake.folder / CATALOG_NAME).exists():
            Cache(lake, legacy=self.cache_path).close()  # a new workspace: its empty lake
        return Cache(self.lake, read_only=read_only, legacy=self.cache_path)


def resolve_workspace_root(cli_value: str | None) -> Path:
    """``--workspace``, else ``GIC_WORKSPACE``, else ``./workspace``."""
    return Path(cli_value or os.environ.get("GIC_WORKSPACE") or "workspace")
