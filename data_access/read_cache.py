"""The lake's reads kept while the tables they read are unchanged.

Every query on the lake reads its catalog first (the snapshot, the table's files and
statistics, its inlined rows): about 5 to 15 ms per table a query names, whatever its size,
so that a page of twenty queries took seconds to build where the rows themselves take
milliseconds. Pages ask the same questions over and over (each visitor, each periodic
refresh), and most of the lake does not change between two of them: a :class:`ReadCache`
keeps each read's result and gives it again as long as no commit since has touched a table
the query names.

What changed is DuckLake's own account: each snapshot's ``changes_made``
(``inlined_insert:13,deleted_from_table:20``...) in the catalog's
``ducklake_snapshot_changes``, read at a look (about 4 ms, against 5 to 200 ms for the
reads kept on the demo workspace). A page asks ten to twenty questions, and that query had
become a sixth of a served page's time: the workbench's writers also rewrite a marker file
after each commit (:func:`commit_marker`), and a look that finds it unchanged, less than a
second after the last query, costs microseconds. A change that names no table (a table created or altered)
forgets everything. A result is
labelled with the snapshot seen *before* the query ran, so that a commit landing during the
query makes it be asked again, never kept stale.

Only plain reads are kept: ``SELECT`` or ``WITH`` statements that name at least one table of
the lake and nothing whose answer changes by itself (``now()``, random numbers, files,
temporary tables, the catalog's own functions). Reads inside a transaction, and reads of a
snapshot in the past (``gic --at``), go straight to the lake.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import duckdb

#: Reads kept at most (the least recently used are forgotten first).
KEPT_READS = 256
#: A look asks the catalog at least this often, marker or not (seconds).
ASK_AT_LEAST_EVERY_S = 1.0
#: Results with more rows than this are not kept (a year of readings is read again).
KEPT_ROWS = 100_000

#: What makes a statement's answer change by itself, or names what is not in the lake.
_VOLATILE = re.compile(
    r"now\(|current_|random\(|uuid\(|nextval|ducklake|read_|glob\(|getenv|\b_\w+|memory\.",
    re.IGNORECASE,
)
_READ = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)

#: What the caller gets for a read not kept.
MISS = object()


class ReadCache:
    """The results of the reads of one lake, each kept until a commit touches a table it names.

    Parameters
    ----------
    changes_since : callable
        ``changes_since(snapshot) -> [(snapshot_id, changes_made), ...]``: the catalog's
        account of the snapshots after ``snapshot`` (all of them for ``-1``), oldest first.
    tables : callable
        ``tables() -> {name: table_id}``: the lake's tables now.
    signature : callable, optional
        ``signature() -> hashable``: a value that every commit changes (:func:`commit_marker`);
        while it is the same as at the last look, and the catalog was asked less than
        :data:`ASK_AT_LEAST_EVERY_S` ago, a look does not ask ``changes_since``. Without
        one, every look asks.
    """

    def __init__(
        self,
        changes_since: Callable[[int], list[tuple[int, str]]],
        tables: Callable[[], dict[str, int]],
        signature: Callable[[], Hashable | None] | None = None,
    ) -> None:
        self._changes_since = changes_since
        self._tables = tables
        self._signature = signature
        self._signed: Hashable | None = None
        self._asked_at = -math.inf
        self._names: re.Pattern | None = None
        self._ids: dict[str, int] = {}
        self._kept: OrderedDict[Hashable, tuple[frozenset[int], Any]] = OrderedDict()
        self._seen = -1
        self._lock = threading.Lock()
        self.hits = self.misses = self.asked = 0

    def close(self) -> None:
        """Forget everything."""
        with self._lock:
            self._kept.clear()

    @staticmethod
    def keeps(sql: str) -> bool:
        """Whether a statement is a plain read whose answer only the lake's rows decide."""
        return reads_only(sql) and not _VOLATILE.search(sql)

    def look(self) -> int:
        """Read the catalog's changes since the last look, forget the results they touch;
        returns the newest snapshot seen (the label of a result read now)."""
        with self._lock:
            signed = self._signature() if self._signature is not None else None
            now = time.monotonic()
            if (
                signed is not None
                and signed == self._signed
                and now - self._asked_at < ASK_AT_LEAST_EVERY_S
            ):
                return self._seen
            rows = self._changes_since(self._seen)
            self.asked += 1
            self._signed, self._asked_at = signed, now  # taken before the query, so that a
            # commit marked while it ran is asked again
            if not rows:
                return self._seen
            if self._seen < 0:  # the first look: nothing kept yet
                self._seen = max(snapshot for snapshot, _ in rows)
                return self._seen
            touched: set[int] = set()
            for snapshot, changes in rows:
                self._seen = max(self._seen, snapshot)
                for change in (changes or "").split(","):
                    _, _, value = change.partition(":")
                    if value.isdigit():
                        touched.add(int(value))
                    elif change:  # a table created, altered or dropped: start again
                        self._kept.clear()
                        self._names = None
                        return self._seen
            for key in [k for k, (ids, _) in self._kept.items() if ids & touched]:
                del self._kept[key]
            return self._seen

    def get(self, key: Hashable) -> Any:
        """The result kept for ``key`` (see :meth:`look` first), else :data:`MISS`."""
        with self._lock:
            found = self._kept.get(key, MISS)
            if found is MISS:
                self.misses += 1
                return MISS
            self._kept.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: Hashable, sql: str, result: Any, seen: int) -> None:
        """Keep ``result`` of ``sql``, read after the look that returned ``seen``; not kept
        when a later look has happened since, when it is large, or names no lake table."""
        if len(result) > KEPT_ROWS:
            return
        with self._lock:
            if seen != self._seen:
                return
            ids = self._read_tables(sql)
            if not ids:
                return
            self._kept[key] = (ids, result)
            self._kept.move_to_end(key)
            while len(self._kept) > KEPT_READS:
                self._kept.popitem(last=False)

    def _read_tables(self, sql: str) -> frozenset[int]:
        if self._names is None:
            self._ids = self._tables()
            names = sorted(self._ids, key=len, reverse=True)
            self._names = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b", re.I)
        return frozenset(self._ids[m.lower()] for m in self._names.findall(sql))


def duckdb_changes(
    con: duckdb.DuckDBPyConnection, metadata: str, lock: threading.RLock
) -> Callable[[int], list[tuple[int, str]]]:
    """``changes_since`` through DuckDB's own attachment of the catalog (``metadata``): never
    another SQLite library on the catalog file in this process (two copies of SQLite in one
    process do not see each other's locks, nor, here, each other's commits)."""

    def changes_since(snapshot: int) -> list[tuple[int, str]]:
        with lock:
            return con.execute(
                f"SELECT snapshot_id, changes_made FROM {metadata}.ducklake_snapshot_changes "
                "WHERE snapshot_id > ? ORDER BY snapshot_id",
                [snapshot],
            ).fetchall()

    return changes_since


def commit_marker(path: os.PathLike | str) -> tuple[Callable[[], None], Callable[[], Hashable]]:
    """A file that every commit of the workbench's processes rewrites with a new random
    token: ``(mark, signature)``, ``mark()`` after a commit, ``signature()`` before a look.

    DuckDB's SQLite catalog keeps no connection (nor a write-ahead log) open between two
    queries, so the catalog's own files cannot tell a commit from none; the marker can,
    in microseconds. A commit whose writer died before marking it, or made by a program
    other than the workbench, is seen at the next look after :data:`ASK_AT_LEAST_EVERY_S`.
    """
    name = os.fspath(path)

    def mark() -> None:
        descriptor = os.open(name, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.pwrite(descriptor, os.urandom(16), 0)
        finally:
            os.close(descriptor)

    def signature() -> Hashable:
        try:
            with open(name, "rb") as marker:
                return marker.read(16)
        except FileNotFoundError:
            return b""

    return mark, signature


def reads_only(sql: str) -> bool:
    """Whether a statement only reads (``SELECT`` or ``WITH``)."""
    return bool(_READ.match(sql))


def read_key(kind: str, sql: str, params: Any) -> Hashable:
    """What identifies a read: its kind (rows or table), its statement and its parameters."""
    return (kind, sql, _frozen(params))


def _frozen(value: Any) -> Hashable:
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        return (type(value).__name__, *(_frozen(v) for v in value))
    try:
        hash(value)
    except TypeError:
        return (type(value).__name__, repr(value))
    return (type(value).__name__, value)
