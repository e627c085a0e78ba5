"""The DuckDB cache of a workspace: one file, a versioned schema, one writer.

DuckDB lets a single process open a database file for writing. While the
workbench server runs it holds the cache and runs the scheduled syncs itself;
a command-line write at that time fails at once with :class:`CacheBusyError`,
whose message says what to do instead. Every write runs in a transaction, so a
process killed half-way leaves the cache as it was before that transaction.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from data_access.safe_files import keep_private, make_private
from data_access.schema import MIGRATIONS

SCHEMA_VERSION = len(MIGRATIONS)


class CacheError(RuntimeError):
    """The cache cannot be opened or used; the message names the file."""


class CacheBusyError(CacheError):
    """Another process (normally the workbench server) holds the cache for writing."""


class Cache:
    """A DuckDB database file with the workbench schema, migrated on open.

    The file and its write-ahead log are their owner's only (mode 600; see
    :func:`~data_access.safe_files.keep_private`).

    Parameters
    ----------
    path : Path
        The DuckDB file; created with the current schema when missing.
    read_only : bool, optional
        Open without taking the write lock (fails if the schema needs migrating).

    Raises
    ------
    CacheBusyError
        If another process holds the file; the message names it and its process id.
    CacheError
        If the file was written by a newer version of the workbench, or is not a DuckDB file.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.RLock()
        keep_private()  # the write-ahead log DuckDB makes at the first write included
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            raise _explain_open_error(self.path, exc) from exc
        if not read_only:  # a cache made before the umask was kept private, too
            for path in (self.path, self.path.with_name(f"{self.path.name}.wal")):
                make_private(path)
        self._con.execute("SET TimeZone = 'UTC'")
        self._migrate()

    # -- schema -------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The schema version recorded in the file (0 for a new file)."""
        exists = self._con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchone()[0]
        if not exists:
            return 0
        row = self._con.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _migrate(self) -> None:
        found = self.schema_version()
        if found > SCHEMA_VERSION:
            self._con.close()
            raise CacheError(
                f"{self.path}: written by a newer GIC Workbench (schema {found}, this one knows "
                f"up to {SCHEMA_VERSION}); upgrade the workbench, or point --workspace elsewhere"
            )
        if found == SCHEMA_VERSION:
            return
        if self.read_only:
            raise CacheError(
                f"{self.path}: schema {found} needs migrating to {SCHEMA_VERSION}; "
                "open it once for writing (any gic command that writes does it)"
            )
        for version in range(found + 1, SCHEMA_VERSION + 1):
            with self.transaction() as con:
                con.execute(MIGRATIONS[version - 1])
                con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
                con.execute("INSERT INTO schema_version VALUES (?)", [version])

    # -- access -------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Hold the writer lock and use the connection outside a transaction (for staging
        temporary tables before :meth:`transaction`, which may be entered inside)."""
        with self._lock:
            yield self._con

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run the block in one transaction, under the cache's writer lock.

        Everything the block wrote is committed when it ends normally, and nothing
        when it raises (or when the process dies before the end).
        """
        with self._lock:
            self._con.execute("BEGIN TRANSACTION")
            try:
                yield self._con
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> list[tuple]:
        """Run one parameterised statement and return its rows."""
        with self._lock:
            return self._con.execute(sql, params or []).fetchall()

    def query_df(self, sql: str, params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
        """Run one parameterised query and return a DataFrame."""
        with self._lock:
            return self._con.execute(sql, params or []).df()

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _explain_open_error(path: Path, exc: duckdb.IOException) -> CacheError:
    text = str(exc)
    if "lock" in text.lower():
        pid = re.search(r"PID (\d+)", text)
        holder = f"process {pid.group(1)}" if pid else "another process"
        return CacheBusyError(
            f"{path} is held by {holder} (normally the workbench server). Stop it first, or let "
            "it do the work: it ingests what lands in the workspace's drop folders at every "
            "scheduled sync, and its pages show what this command would"
        )
    return CacheError(f"{path}: cannot open the cache: {text}")
