"""The cache of a workspace: a DuckLake (a catalog database and Parquet files).

Any number of processes open one workspace's cache at once, to read and to write:
the server, the notebooks, the commands and the alert handler. By default the
catalog is a SQLite file inside the workspace (WAL journal, a busy timeout) and the
data files lie beside it; a deployment on several machines puts the catalog in
PostgreSQL and the data files on shared storage (``[cache]`` in ``gic.toml``).

DuckLake has no PRIMARY KEY, UNIQUE constraint, index or sequence: the stores keep
their rows unique by checking for the key in the transaction that inserts, and
identifiers are the table's largest one plus one. Writers of one workspace take turns
through a lock file beside the catalog, so that such a check and its insert are never
interleaved with another writer's; a commit that still conflicts (a writer on another
machine) raises :class:`CacheConflictError`, and :meth:`Cache.write` runs its work again
a bounded number of times. Every write runs in a transaction, so a process killed
half-way leaves the cache as it was before that transaction.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

from data_access.faults import fault_point
from data_access.lake import (
    CATALOG_NAME,
    CacheConflictError,
    CacheError,
    LakeLocation,
    _attach,
)
from data_access.legacy_cache import has_legacy_cache, import_legacy_cache
from data_access.read_cache import (
    MISS,
    ReadCache,
    commit_marker,
    duckdb_changes,
    read_key,
    reads_only,
)
from data_access.safe_files import keep_private, make_private
from data_access.schema import MIGRATIONS

SCHEMA_VERSION = len(MIGRATIONS)
LOCK_NAME = "write.lock"
#: Rewritten after every commit, so that readers tell a commit from none without a query.
COMMITTED_NAME = "committed"
WRITE_ATTEMPTS = 5
T = TypeVar("T")


class Cache:
    """The workspace's lake with the workbench schema, migrated on open.

    Parameters
    ----------
    location : LakeLocation or Path
        The lake (a folder means the embedded SQLite catalog in it); created with the
        current schema when missing.
    read_only : bool, optional
        Attach the lake for reading only (fails if the schema needs migrating).
    legacy : Path or None, optional
        A DuckDB cache file of an earlier version, imported once into the lake (the file
        is left where it is; see :mod:`data_access.legacy_cache`).
    at : int or None, optional
        Read the lake as it was at this snapshot (:meth:`snapshot`; read only, nothing
        migrated nor imported).

    Raises
    ------
    CacheError
        If the lake was written by a newer version of the workbench, cannot be attached,
        or no longer keeps the snapshot ``at`` (the message names the oldest one kept).
    """

    def __init__(
        self,
        location: LakeLocation | Path,
        *,
        read_only: bool = False,
        legacy: Path | None = None,
        at: int | None = None,
    ) -> None:
        if not isinstance(location, LakeLocation):
            location = LakeLocation(Path(location))
        self.location = location
        self.at = None if at is None else int(at)
        self.read_only = read_only or self.at is not None
        self._lock = threading.RLock()
        self._writing = 0
        self._in_transaction = False
        self._reads: ReadCache | None = None
        self._mark, self._marked = (lambda: None), None
        if not location.postgres:  # the SQLite catalog's writers are all on this machine
            self._mark, self._marked = commit_marker(location.folder / COMMITTED_NAME)
        keep_private()
        location.folder.mkdir(parents=True, exist_ok=True)
        location.data.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(location.folder / LOCK_NAME, "a+b")  # noqa: SIM115 - kept open
        try:
            self._con, self._alias = _attach(location, read_only=self.read_only, at=self.at)
        except CacheError:
            self._lock_file.close()
            raise
        if not read_only and not location.postgres:  # a lake made before the umask was kept
            for suffix in ("", "-wal", "-shm"):
                make_private(location.folder / f"{CATALOG_NAME}{suffix}")
        try:
            self._migrate(legacy)
        except BaseException:
            self.close()
            raise
        self.keep_reads(True)

    def keep_reads(self, keep: bool) -> None:
        """Keep the results of plain reads (the default, :mod:`data_access.read_cache`) or
        ask the lake every time (a benchmark of the queries themselves)."""
        with self._lock:
            if not keep or self.at is not None:
                self._reads = None
            elif self._reads is None:
                self._reads = self._read_cache()

    def _read_cache(self) -> ReadCache:
        metadata = f"__ducklake_metadata_{self._alias}"

        def tables() -> dict[str, int]:
            rows = self._con.execute(
                f"SELECT table_name, table_id FROM {metadata}.ducklake_table "
                "WHERE end_snapshot IS NULL"
            ).fetchall()
            return {name.lower(): int(table_id) for name, table_id in rows}

        return ReadCache(duckdb_changes(self._con, metadata, self._lock), tables, self._marked)

    # -- schema -------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The schema version recorded in the lake (0 for a new lake)."""
        with self._lock:
            return _schema_version(self._con)

    def _migrate(self, legacy: Path | None) -> None:
        found = self.schema_version()
        if found > SCHEMA_VERSION:
            raise CacheError(
                f"{self.location}: written by a newer GIC Workbench (schema {found}, this one "
                f"knows up to {SCHEMA_VERSION}); upgrade the workbench, or point --workspace "
                "elsewhere"
            )
        wants_import = legacy is not None and has_legacy_cache(legacy)
        if (found == SCHEMA_VERSION and not wants_import) or self.at is not None:
            return  # a snapshot is read with the schema it had
        if self.read_only:
            if found == SCHEMA_VERSION:
                return
            raise CacheError(
                f"{self.location}: schema {found} needs migrating to {SCHEMA_VERSION}; "
                "open it once for writing (any gic command that writes does it)"
            )
        with self._writer():  # one process migrates; the others find the work done
            pending = range(self.schema_version() + 1, SCHEMA_VERSION + 1)
            if pending:
                with self.transaction() as con:
                    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
                    for version in pending:
                        con.execute(MIGRATIONS[version - 1])
                        con.execute("INSERT INTO schema_version VALUES (?)", [version])
            if wants_import:
                import_legacy_cache(self, legacy)

    # -- snapshots ----------------------------------------------------------------------
    def snapshot(self) -> int:
        """The lake's current snapshot: the last commit (inside a :meth:`transaction`, the
        one it started from, i.e. what was read before the write); ``Cache(location,
        at=N)`` reads the lake as it was then."""
        return int(self.execute(f"SELECT id FROM {self._alias}.current_snapshot()")[0][0])

    @contextlib.contextmanager
    def _writer(self) -> Iterator[None]:
        """This process's turn to write: the thread lock, and the lake's lock file."""
        with self._lock:
            if self._writing == 0:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            self._writing += 1
            try:
                yield
            finally:
                self._writing -= 1
                if self._writing == 0:
                    fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def locked(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Take the writer's turn and use the connection outside a transaction (for staging
        temporary tables before :meth:`transaction`, which may be entered inside)."""
        with self._writer():
            yield self._con

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run the block in one transaction, in the writer's turn.

        Everything the block wrote is committed when it ends normally, and nothing
        when it raises (or when the process dies before the end). A transaction entered
        inside another one (in the same thread) joins it: its writes are committed, or
        dropped, with the outer one's.

        Raises
        ------
        CacheConflictError
            If another writer committed a conflicting change first (nothing was written).
        """
        with self._writer():
            if self._in_transaction:
                yield self._con
                return
            self._con.execute("BEGIN TRANSACTION")
            self._in_transaction = True
            try:
                yield self._con
            except BaseException:
                self._in_transaction = False
                self._con.execute("ROLLBACK")
                raise
            self._in_transaction = False
            try:
                self._con.execute("COMMIT")
            except duckdb.TransactionException as exc:
                raise CacheConflictError(
                    f"{self.location}: the commit conflicted with another writer: {exc}"
                ) from exc
            self._mark()

    def write(
        self,
        what: str,
        work: Callable[[duckdb.DuckDBPyConnection], T],
        *,
        attempts: int = WRITE_ATTEMPTS,
    ) -> T:
        """Run ``work(con)`` in one transaction, again (after a short wait) when its commit
        conflicts with another writer's, at most ``attempts`` times.

        Parameters
        ----------
        what : str
            What the work does, for the error message ("ingest of 3 status files").

        Raises
        ------
        CacheConflictError
            If every attempt conflicted; the message names ``what`` and the last conflict.
        """
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction() as con:
                    return work(con)
            except CacheConflictError as exc:
                if attempt == attempts:
                    raise CacheConflictError(
                        f"{what}: gave up after {attempts} conflicting commits; last: {exc}"
                    ) from exc
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def maintain(self, *, keep_days: float = 7.0) -> dict[str, int]:
        """Tidy the lake after many small commits: rewrite the data files most of whose rows
        were deleted, merge adjacent ones, expire the snapshots older than ``keep_days``
        (the lake can no longer be read as it was then) except those a record names (its
        ``lake_snapshot``: :meth:`recorded_snapshots`), and delete the files no snapshot
        needs any more (those released over an hour ago, so that a read under way keeps
        its files).

        Returns
        -------
        dict
            The number of data files and of snapshots before and after.
        """
        before = self._files_and_snapshots()
        with self._writer():
            lake = self._alias
            self._con.execute(f"CALL ducklake_rewrite_data_files('{lake}')")  # many deletes
            self._con.execute(f"CALL ducklake_merge_adjacent_files('{lake}')")
            fault_point("lake-maintain-merged")  # the kill test's crash, half-way
            expired = self._expirable(keep_days)
            if expired:
                self._con.execute(
                    f"CALL ducklake_expire_snapshots('{lake}', versions => ?)", [expired]
                )
            self._con.execute(
                f"CALL ducklake_cleanup_old_files('{lake}', older_than => now() - INTERVAL 1 HOUR)"
            )
        after = self._files_and_snapshots()
        return {
            "files_before": before[0],
            "files_after": after[0],
            "snapshots_before": before[1],
            "snapshots_after": after[1],
        }

    def recorded_snapshots(self) -> set[int]:
        """The snapshots a record names: every ``lake_snapshot`` column of the schema (a
        product version, an action on it, a promotion, a certification, a GP2 run)."""
        tables = self.execute(
            "SELECT table_name FROM duckdb_columns() WHERE database_name = ? "
            "AND column_name = 'lake_snapshot'",
            [self._alias],
        )
        if not tables:
            return set()
        union = " UNION ".join(f'SELECT lake_snapshot FROM "{name}"' for (name,) in tables)
        rows = self.execute(f"SELECT * FROM ({union}) WHERE lake_snapshot IS NOT NULL")
        return {int(snapshot) for (snapshot,) in rows}

    def _expirable(self, keep_days: float) -> list[int]:
        """The snapshots older than ``keep_days`` that no record names (never the newest)."""
        old = self.execute(
            f"SELECT snapshot_id FROM ducklake_snapshots('{self._alias}') "
            "WHERE snapshot_time < now() - to_microseconds(CAST(? * 86400e6 AS BIGINT)) "
            f"AND snapshot_id < (SELECT id FROM {self._alias}.current_snapshot())",
            [keep_days],
        )
        recorded = self.recorded_snapshots()
        return sorted(int(s) for (s,) in old if int(s) not in recorded)

    def _files_and_snapshots(self) -> tuple[int, int]:
        files = self.execute(  # the catalog's own table of the data files in use
            f"SELECT count(*) FROM __ducklake_metadata_{self._alias}.ducklake_data_file "
            "WHERE end_snapshot IS NULL"
        )[0][0]
        snapshots = self.execute(f"SELECT count(*) FROM ducklake_snapshots('{self._alias}')")
        return int(files), int(snapshots[0][0])

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> list[tuple]:
        """Run one parameterised statement and return its rows.

        Raises
        ------
        CacheError
            At a snapshot (``at``) whose schema lacks a table or column the statement reads.
        """
        with self._lock, self._schema_of_the_snapshot():
            return self._read("rows", sql, params, lambda c: c.fetchall(), list)

    def query_df(self, sql: str, params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
        """Run one parameterised query and return a DataFrame (raises as :meth:`execute`)."""
        with self._lock, self._schema_of_the_snapshot():
            return self._read("table", sql, params, lambda c: c.df(), pd.DataFrame.copy)

    def _read(self, kind: str, sql: str, params, fetch: Callable, copy: Callable):
        """Run a read, or give the result kept for it (:mod:`data_access.read_cache`)."""
        reads = self._reads
        if reads is None or self._writing or not reads.keeps(sql):
            result = fetch(self._con.execute(sql, params or []))
            if not self.read_only and not self._writing and not reads_only(sql):
                self._mark()  # a statement that may have written, committed on its own
            return result
        seen = reads.look()
        key = read_key(kind, sql, params)
        kept = reads.get(key)
        if kept is MISS:
            kept = fetch(self._con.execute(sql, params or []))
            reads.put(key, sql, kept, seen)
        return copy(kept)

    @contextlib.contextmanager
    def _schema_of_the_snapshot(self) -> Iterator[None]:
        """DuckDB's "not found" of a query at an old snapshot, said as one line: the
        snapshot's schema is older than what the query needs."""
        try:
            yield
        except (duckdb.BinderException, duckdb.CatalogException) as exc:
            if self.at is None:
                raise
            found = _schema_version(self._con)
            if found == SCHEMA_VERSION:
                raise
            first = str(exc).splitlines()[0]
            raise CacheError(
                f"{self.location}: snapshot {self.at} has schema {found}, older than this "
                f"workbench's {SCHEMA_VERSION}: what this asks for was added later ({first})"
            ) from exc

    def close(self) -> None:
        """Detach the lake (its files stay as they are)."""
        with self._lock:
            if self._lock_file.closed:
                return
            if self._reads is not None:
                self._reads.close()
            self._con.execute("USE memory")
            self._con.execute(f"DETACH {self._alias}")
            self._con.close()
            self._lock_file.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def next_id(con: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    """The next identifier of ``table`` (its largest ``column`` plus one), in the writer's
    turn (DuckLake has no sequences)."""
    return con.execute(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}").fetchone()[0]


def _schema_version(con: duckdb.DuckDBPyConnection) -> int:
    try:
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    except duckdb.CatalogException:  # a new lake
        return 0
    return int(row[0] or 0)
