"""Where a workspace's lake lies and how DuckDB attaches it: the catalog (a SQLite file in
the lake's folder, or PostgreSQL), the Parquet files, the DuckDB extensions loaded from
their wheels (offline), a lake read as it was at a snapshot. :class:`~data_access.cache.Cache`
is the lake in use."""

from __future__ import annotations

import atexit
import importlib.util
import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb

CATALOG_NAME = "catalog.sqlite"
DATA_NAME = "data"
BUSY_TIMEOUT_MS = 10_000
# the extension wheels ship <file>.duckdb_extension; DuckDB loads each under its own name
_EXTENSIONS = {
    "ducklake": ("duckdb_extension_ducklake", "ducklake"),
    "sqlite_scanner": ("duckdb_extension_sqlite", "sqlite"),
    "postgres_scanner": ("duckdb_extension_postgres", "postgres"),
}


class CacheError(RuntimeError):
    """The cache cannot be opened or used; the message names the lake and the problem."""


class CacheConflictError(CacheError):
    """Another writer committed a conflicting change first; the message says what it was."""


@dataclass(frozen=True)
class LakeLocation:
    """Where a lake keeps its catalog and its data files.

    Parameters
    ----------
    folder : Path
        The lake's own folder: the SQLite catalog (when no PostgreSQL one is given), the
        data files (unless ``data_path`` says otherwise) and the writers' lock file.
    postgres : str, optional
        A PostgreSQL catalog instead of the SQLite file, as a libpq ``key=value`` string.
    data_path : Path or None, optional
        The folder of the Parquet files (shared storage, for several machines).
    """

    folder: Path
    postgres: str = ""
    data_path: Path | None = None

    @property
    def catalog(self) -> str:
        """The DuckLake catalog, as ``ATTACH 'ducklake:...'`` takes it."""
        if self.postgres:
            return f"postgres:{self.postgres}"
        return f"sqlite:{self.folder / CATALOG_NAME}"

    @property
    def data(self) -> Path:
        return self.data_path or self.folder / DATA_NAME

    def __str__(self) -> str:
        return str(self.folder) if not self.postgres else f"{self.data} (PostgreSQL catalog)"


def _attach(
    location: LakeLocation, *, read_only: bool, at: int | None = None
) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A connection of the process's DuckDB with the lake attached under a name of its own
    (as it was at snapshot ``at``, when given) and used by default; returns it and the name."""
    base = _database()
    if location.postgres:
        _load(base, "postgres_scanner")
    alias = f"lake_{next(_ALIASES)}"
    options = [f"DATA_PATH '{_quoted(str(location.data) + os.sep)}'"]
    if location.data_path is None:
        # the data files lie in the lake's own folder, wherever the workspace was moved or
        # copied to (the catalog names them relative to that folder)
        options.append("OVERRIDE_DATA_PATH true")
    if not location.postgres:
        options += ["META_JOURNAL_MODE 'WAL'", f"META_BUSY_TIMEOUT {BUSY_TIMEOUT_MS}"]
    if read_only:
        options.append("READ_ONLY")
    if at is not None:
        options.append(f"SNAPSHOT_VERSION {int(at)}")
    con = base.cursor()
    try:
        con.execute(
            f"ATTACH 'ducklake:{_quoted(location.catalog)}' AS {alias} ({', '.join(options)})"
        )
    except duckdb.Error as exc:
        con.close()
        if at is not None and "No snapshot found" in str(exc):
            raise CacheError(f"{location}: {_snapshots_kept(location, at)}") from exc
        raise CacheError(f"{location}: cannot open the cache: {exc}") from exc
    con.execute(f"USE {alias}")
    con.execute("SET TimeZone = 'UTC'")
    return con, alias


_ALIASES = itertools.count(1)


def _snapshots_kept(location: LakeLocation, at: int) -> str:
    """Why the lake cannot be read at snapshot ``at``: the snapshots it keeps."""
    con, alias = _attach(location, read_only=True)
    try:
        oldest, newest = con.execute(
            f"SELECT min(snapshot_id), max(snapshot_id) FROM ducklake_snapshots('{alias}')"
        ).fetchone()
    finally:
        con.execute("USE memory")
        con.execute(f"DETACH {alias}")
        con.close()
    if at > newest:
        return f"snapshot {at} was never made (the newest is {newest})"
    return (
        f"snapshot {at} is no longer kept (expired by the lake's maintenance, "
        "[cache] keep_snapshots_days); the oldest one kept is "
        f"{oldest} (the newest {newest})"
    )


@cache
def _database() -> duckdb.DuckDBPyConnection:
    """The process's in-memory DuckDB, the lake extensions loaded (once: it takes a while);
    each :class:`Cache` attaches its lake there through a connection of its own."""
    base = duckdb.connect(config={"autoinstall_known_extensions": False})
    for name in ("ducklake", "sqlite_scanner"):
        _load(base, name)
    # the catalog's tables are small: one thread reads them sooner than two that contend
    base.execute("SET sqlite_disable_multithreaded_scans = true")
    return base


def _load(base: duckdb.DuckDBPyConnection, name: str) -> None:
    base.execute(f"LOAD '{_extension_folder() / name}.duckdb_extension'")


def _quoted(text: str) -> str:
    return text.replace("'", "''")


@cache
def _extension_folder() -> Path:
    """A folder of links to the extension wheels' files, under the names DuckDB loads them
    by (``sqlite_scanner``, not ``sqlite``), removed when the process ends. Nothing is
    fetched from the internet."""
    folder = Path(tempfile.mkdtemp(prefix="gic-duckdb-extensions-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for name, (module, file) in _EXTENSIONS.items():
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise CacheError(f"the Python package {module} is missing; reinstall the workbench")
        source = (
            Path(spec.origin).parent
            / "extensions"
            / f"v{duckdb.__version__}"
            / f"{file}.duckdb_extension"
        )
        if not source.exists():
            raise CacheError(f"{source} is missing: {module} does not match DuckDB")
        (folder / f"{name}.duckdb_extension").symlink_to(source)
    return folder
