"""The DuckDB cache file of earlier versions (``cache.duckdb``), imported into the lake.

A workspace written before the cache became a DuckLake holds its cache in one DuckDB
file. The first process that opens the workspace for writing copies every table of it
into the lake, in one transaction, records the import in ``legacy_import`` and says so
on the log; the file stays where it is until its owner removes it.

A file written by a newer DuckDB than the lake's (the earlier versions installed
whichever was newest) cannot be read here. Exported with the DuckDB that wrote it, into
the folder ``cache-export`` beside it, it is imported from there instead; the error
that stops the open says how::

    python -c "import duckdb; duckdb.connect('cache.duckdb', read_only=True).execute(
        \"EXPORT DATABASE 'cache-export' (FORMAT parquet)\")"
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from data_access.schema import SENSOR_LAST_READINGS

if TYPE_CHECKING:
    from data_access.cache import Cache

log = logging.getLogger(__name__)
EXPORT_NAME = "cache-export"
_NOT_COPIED = ("schema_version", "legacy_import")


def legacy_export(path: Path) -> Path:
    """The folder an earlier cache file ``path`` is exported into when it cannot be read."""
    return Path(path).with_name(EXPORT_NAME)


def has_legacy_cache(path: Path) -> bool:
    """Whether ``path`` (a DuckDB cache file) or its export folder exists."""
    return Path(path).exists() or legacy_export(path).is_dir()


def import_legacy_cache(cache: Cache, path: Path) -> int:
    """Copy the tables of the DuckDB cache file ``path`` (or of its export folder) into
    ``cache``, once.

    Run by :class:`~data_access.cache.Cache` in the writer's turn, after its migrations.

    Returns
    -------
    int
        The number of rows copied (0 when the file was imported before).

    Raises
    ------
    CacheError
        If the file cannot be read (another process holds it, a newer DuckDB wrote it:
        the message says how to export it, or it is not a DuckDB file).
    """
    path = Path(path).resolve()
    if cache.execute("SELECT count(*) FROM legacy_import WHERE path = ?", [str(path)])[0][0]:
        return 0
    export = legacy_export(path)
    with cache.locked() as con:
        if export.is_dir():
            sources = {p.stem: _parquet(p) for p in sorted(export.glob("*.parquet"))}
            schema, n_rows = _copy(cache, con, path, sources)
        else:
            legacy = con.execute("SELECT current_database() || '_legacy'").fetchone()[0]
            _attach(con, path, legacy, cache)
            try:
                sources = {
                    name: f'{legacy}."{name}"'
                    for (name,) in con.execute(
                        "SELECT table_name FROM duckdb_tables() WHERE database_name = ?",
                        [legacy],
                    ).fetchall()
                }
                schema, n_rows = _copy(cache, con, path, sources)
            finally:
                con.execute(f"DETACH {legacy}")
    log.warning(
        "%s: imported %d rows of the earlier DuckDB cache (schema %d) into the lake at %s; "
        "the file is no longer used and may be removed",
        path,
        n_rows,
        schema,
        cache.location,
    )
    return n_rows


def _parquet(path: Path) -> str:
    return "read_parquet('{}')".format(str(path).replace("'", "''"))


def _attach(con: duckdb.DuckDBPyConnection, path: Path, legacy: str, cache: Cache) -> None:
    from data_access.cache import CacheError

    quoted = str(path).replace("'", "''")
    try:
        con.execute(f"ATTACH '{quoted}' AS {legacy} (READ_ONLY)")
    except duckdb.Error as exc:
        if "newer version of DuckDB" in str(exc):
            export = legacy_export(path)
            raise CacheError(
                f"{path}: written by a newer DuckDB than this workbench's {duckdb.__version__}; "
                f"export it with the DuckDB that wrote it (the earlier workbench's Python): "
                f"python -c \"import duckdb; duckdb.connect('{path}', read_only=True).execute("
                f'\\"EXPORT DATABASE \'{export}\' (FORMAT parquet)\\")", then open the '
                "workspace again: the export is imported into the lake"
            ) from exc
        raise CacheError(
            f"{path}: cannot read the cache of the earlier version to import it into "
            f"{cache.location} (stop any old server still using it): {exc}"
        ) from exc


def _copy(
    cache: Cache, con: duckdb.DuckDBPyConnection, path: Path, sources: dict[str, str]
) -> tuple[int, int]:
    """Copy every table of ``sources`` (name -> what to select from) that the lake has, in
    one transaction that also records the import; returns (schema version, rows)."""
    lake_tables = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    }
    with cache.transaction():
        n_rows = 0
        for table, source in sources.items():
            if table in lake_tables and table not in _NOT_COPIED:
                con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM {source}')
                n_rows += con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
        con.execute(SENSOR_LAST_READINGS.format(where="true"))  # kept beside each sensor
        schema = 0
        if "schema_version" in sources:
            found = f"SELECT max(version) FROM {sources['schema_version']}"
            schema = int(con.execute(found).fetchone()[0] or 0)
        con.execute(
            "INSERT INTO legacy_import VALUES (?, ?, ?, now()::TIMESTAMP)",
            [str(path), schema, n_rows],
        )
    return schema, n_rows
