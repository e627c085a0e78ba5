"""Status documents into the cache: the document → readings path.

Ingest is idempotent and transactional: a document already ingested with the same
content adds nothing, a changed one replaces its own readings, and the documents of
one batch go in together or not at all, so a process killed mid-ingest leaves no
part of any document behind. A document that breaks a rule is rejected whole, with
a reason naming the file and the record, and every other document still goes in.

JSON parsing, type checks and casting all run inside DuckDB (``read_json`` and
``TRY_CAST``), which is what makes ingest about as fast as a bare bulk read.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from analysis.limits import size_problem
from analysis.telemetry import NUMERIC_TYPES, STATUS_FIELDS, VALUE_TYPES
from data_access.cache import Cache, next_id
from data_access.faults import fault_point
from data_access.schema import SENSOR_LAST_READINGS

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class StatusDocument:
    """One status document to ingest: where it came from and the file holding it."""

    source: str
    key: str
    path: Path


@dataclass
class IngestSummary:
    """What one ingest did, per document."""

    ingested: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    readings: int = 0

    def merge(self, other: IngestSummary) -> None:
        self.ingested += other.ingested
        self.replaced += other.replaced
        self.unchanged += other.unchanged
        self.rejected += other.rejected
        self.readings += other.readings

    def describe(self) -> str:
        return (
            f"{len(self.ingested)} new, {len(self.replaced)} replaced, "
            f"{len(self.unchanged)} unchanged, {len(self.rejected)} rejected; "
            f"{self.readings} readings added"
        )


def documents_in(paths: Iterable[Path | str], source: str = "files") -> list[StatusDocument]:
    """Status documents named by paths: files as they are, folders searched for ``*.json``.

    Raises
    ------
    FileNotFoundError
        If a path does not exist.
    """
    documents = []
    for given in paths:
        path = Path(given).expanduser().resolve()
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.json") if p.is_file())
        elif path.exists():
            files = [path]
        else:
            raise FileNotFoundError(f"{given}: no such file or folder")
        documents += [StatusDocument(source, str(p), p) for p in files]
    return documents


_READ_COLUMNS = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name in STATUS_FIELDS) + "}"
_TYPE_LIST = ", ".join(f"'{t}'" for t in VALUE_TYPES)
_NUMERIC_LIST = ", ".join(f"'{t}'" for t in NUMERIC_TYPES)
#: A reading's columns from a status record ``b`` of the batch, as they are stored.
_READING = {
    "ts": "CAST(CAST(b.date AS TIMESTAMPTZ) AS TIMESTAMP)",
    "value": f"CASE WHEN b.type IN ({_NUMERIC_LIST}) THEN CAST(b.value AS DOUBLE) END",
    "text": f"CASE WHEN b.type NOT IN ({_NUMERIC_LIST}) THEN b.value END",
    "error_code": "CAST(b.error_code AS INTEGER)",
}
_MISSING_CHECKS = "\n".join(
    f'WHEN "{name}" IS NULL THEN \'field "{name}" is missing or null\'' for name in STATUS_FIELDS
)
#: Largest status document ingested, in bytes (a night of one sensor is a few MB).
MAX_FILE_BYTES = 256 * 1024 * 1024
#: Longest text of a record that a reason quotes; a longer one is cut, with an ellipsis.
_QUOTED_CHARS = 60
#: Longest value (and raw_value) of a status record, in characters.
MAX_VALUE_CHARS = 4096


def _shown(column: str) -> str:
    """SQL for a field's text as a reason quotes it: cut after ``_QUOTED_CHARS``."""
    return (
        f'CASE WHEN length("{column}") > {_QUOTED_CHARS} '
        f"""THEN left("{column}", {_QUOTED_CHARS}) || '…' ELSE "{column}" END"""
    )


_TOO_LONG_CHECKS = "\n".join(
    f"""WHEN length("{name}") > {MAX_VALUE_CHARS} THEN '{name} of ' || length("{name}") """
    f"|| ' characters, more than the {MAX_VALUE_CHARS} allowed'"
    for name in ("value", "raw_value")
)
_TYPES_TEXT = ", ".join(VALUE_TYPES)
# The first rule a record breaks, or NULL: the rules of a status record, in one place.
_PROBLEM = f"""CASE
    {_MISSING_CHECKS}
    {_TOO_LONG_CHECKS}
    WHEN type NOT IN ({_TYPE_LIST})
        THEN 'type ''' || {_shown("type")} || ''' is not one of {_TYPES_TEXT}'
    WHEN TRY_CAST(date AS TIMESTAMPTZ) IS NULL
        THEN 'date ''' || {_shown("date")} || ''' is not an ISO 8601 time'
    WHEN type = 'float' AND TRY_CAST(value AS DOUBLE) IS NULL
        THEN 'value ''' || {_shown("value")} || ''' is not a float'
    WHEN type = 'integer' AND (TRY_CAST(value AS BIGINT) IS NULL
                               OR TRY_CAST(value AS DOUBLE) <> TRY_CAST(value AS BIGINT))
        THEN 'value ''' || {_shown("value")} || ''' is not an integer'
    WHEN TRY_CAST(error_code AS INTEGER) IS NULL
        THEN 'error_code ''' || {_shown("error_code")} || ''' is not an integer'
    END"""
# The first broken record of each file (normally there are none), with its place in the
# file: the number of the file's records before it.
_FIRST_BROKEN = f"""WITH broken AS (
        SELECT filename, arg_min(
            {{'r': r, 'name': shown_name, 'date': shown_date, 'problem': problem}}, r) AS f
        FROM (SELECT rowid AS r, filename, {_shown("name")} AS shown_name,
                     {_shown("date")} AS shown_date, {_PROBLEM} AS problem FROM _batch)
        WHERE problem IS NOT NULL GROUP BY filename)
    SELECT b.filename, count(x.rowid), b.f.name, b.f.date, b.f.problem
    FROM broken b LEFT JOIN _batch x ON x.filename = b.filename AND x.rowid < b.f.r
    GROUP BY ALL"""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class StatusIngest:
    """Status documents into the cache (readings, sensors, rejections).

    Parameters
    ----------
    cache : Cache
        The workspace's cache.
    batch_files : int, optional
        Documents read per ingest transaction.
    """

    def __init__(self, cache: Cache, *, batch_files: int = 2000) -> None:
        self.cache = cache
        self.batch_files = batch_files
        #: (source, key) → (size, mtime_ns, sha256) of the documents this process hashed and
        #: did not record under their key (rejected, or the same content under another name)
        self._hashed: dict[tuple[str, str], tuple[int, int, str]] = {}

    # -- ingest -------------------------------------------------------------------------
    def ingest(
        self, documents: Sequence[StatusDocument], *, progress: Progress | None = None
    ) -> IngestSummary:
        """Ingest status documents: new and changed ones in, broken ones rejected.

        Parameters
        ----------
        documents : sequence of StatusDocument
        progress : callable(done, total), optional
            Called after each batch with the number of documents handled so far.

        Returns
        -------
        IngestSummary
            Each document's key under ingested, replaced, unchanged or rejected (with
            the reason, which names the file and the record).
        """
        summary = IngestSummary()
        known = self._known_documents()
        rejected = self._rejected_hashes()
        todo: list[tuple[StatusDocument, str, os.stat_result]] = []
        for doc in documents:
            try:
                stat = doc.path.stat()
            except OSError as exc:
                summary.rejected.append((doc.key, f"{doc.path}: cannot read: {exc.strerror}"))
                continue
            if stat.st_size == 0:
                summary.rejected.append((doc.key, f"{doc.path}: the file is empty"))
                continue
            if too_large := size_problem(stat.st_size, MAX_FILE_BYTES):
                summary.rejected.append((doc.key, f"{doc.path}: {too_large}"))
                continue
            old = known.get((doc.source, doc.key))
            if old and old[0] == stat.st_size and old[1] == stat.st_mtime_ns:
                summary.unchanged.append(doc.key)
                continue
            sha = self._hash(doc, stat)
            if old and old[2] == sha:
                self._touch(doc, stat)
                summary.unchanged.append(doc.key)
            elif (doc.source, doc.key, sha) in rejected:
                self._hashed[doc.source, doc.key] = (stat.st_size, stat.st_mtime_ns, sha)
                summary.rejected.append((doc.key, rejected[(doc.source, doc.key, sha)]))
            elif sha in known.hashes and not old:
                self._hashed[doc.source, doc.key] = (stat.st_size, stat.st_mtime_ns, sha)
                summary.unchanged.append(doc.key)  # the same content under another name
            else:
                todo.append((doc, sha, stat))
                known.hashes.add(sha)
        if progress:
            progress(len(documents) - len(todo), len(documents))
        for start in range(0, len(todo), self.batch_files):
            batch = todo[start : start + self.batch_files]
            summary.merge(self._ingest_batch(batch, replacing=known))
            if progress:
                progress(len(documents) - len(todo) + start + len(batch), len(documents))
        return summary

    def _hash(self, doc: StatusDocument, stat: os.stat_result) -> str:
        """The document's SHA-256, read again only if its size or time changed since this
        process hashed it without recording it: a folder of documents already in under other
        names (a workspace moved elsewhere) or rejected would be read at every sync."""
        seen = self._hashed.get((doc.source, doc.key))
        if seen is not None and seen[:2] == (stat.st_size, stat.st_mtime_ns):
            return seen[2]
        return _sha256(doc.path)

    def _known_documents(self) -> _KnownDocuments:
        rows = self.cache.execute(
            "SELECT source, key, size, mtime_ns, sha256, document_id FROM status_document"
        )
        known = _KnownDocuments({(row[0], row[1]): row[2:] for row in rows})
        known.hashes = {row[4] for row in rows}
        return known

    def _rejected_hashes(self) -> dict[tuple[str, str, str], str]:
        rows = self.cache.execute("SELECT source, key, sha256, reason FROM rejected_document")
        return {(s, k, sha): reason for s, k, sha, reason in rows}

    def _touch(self, doc: StatusDocument, stat: os.stat_result) -> None:
        with self.cache.transaction() as con:
            con.execute(
                "UPDATE status_document SET size = ?, mtime_ns = ? WHERE source = ? AND key = ?",
                [stat.st_size, stat.st_mtime_ns, doc.source, doc.key],
            )

    @contextlib.contextmanager
    def _staged(self, con: duckdb.DuckDBPyConnection, paths: list[str]) -> Iterator[dict[str, str]]:
        """Stage the documents in the temp table ``_batch`` (dropped afterwards) and give the
        reasons of the unreadable ones, by path."""
        try:
            yield self._read_batch(con, paths)
        finally:
            con.execute("DROP TABLE IF EXISTS _batch")

    def _read_batch(self, con: duckdb.DuckDBPyConnection, paths: list[str]) -> dict[str, str]:
        """Load the documents into ``_batch``; return the unreadable ones' reasons."""
        unreadable: dict[str, str] = {}
        readable = list(paths)
        while readable:
            try:
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE _batch AS SELECT * FROM read_json(?, {_READ_OPTIONS})",
                    [readable],
                )
                return unreadable
            except (duckdb.Error, UnicodeDecodeError):
                # Find the broken ones one by one; the others are read again together. (DuckDB
                # quotes the bytes it choked on, and a message holding bytes that are not UTF-8
                # reaches Python as a UnicodeDecodeError instead of a duckdb.Error.)
                newly = {p: reason for p in readable if (reason := _read_error(con, p))}
                if not newly:
                    raise
                unreadable.update(newly)
                readable = [p for p in readable if p not in newly]
        columns = ", ".join(f'"{name}" VARCHAR' for name in STATUS_FIELDS)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _batch ({columns}, filename VARCHAR)")
        return unreadable

    def _ingest_batch(
        self, batch: list[tuple[StatusDocument, str, os.stat_result]], replacing: _KnownDocuments
    ) -> IngestSummary:
        summary = IngestSummary()
        by_path = {str(doc.path): (doc, sha, stat) for doc, sha, stat in batch}
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.cache.locked() as con, self._staged(con, list(by_path)) as bad:
            for filename, index, name, date, problem in con.execute(_FIRST_BROKEN).fetchall():
                bad[filename] = (
                    f"{filename}: record {index} (name '{name}', date {date}): {problem}"
                )
            con.execute("DELETE FROM _batch WHERE list_contains(?, filename)", [list(bad)])
            good = [path for path in by_path if path not in bad]

            def store(con: duckdb.DuckDBPyConnection) -> int:
                self._record_rejections(
                    con, [(by_path[p], reason) for p, reason in bad.items()], now
                )
                readings = (
                    self._insert_documents(con, [by_path[p] for p in good], now) if good else 0
                )
                fault_point("status-ingest-before-commit")
                return readings

            # run again from the staged batch when another writer's commit conflicts
            summary.readings = self.cache.write(f"ingest of {len(by_path)} status files", store)
        for path, reason in bad.items():
            summary.rejected.append((by_path[path][0].key, reason))
        for path in good:
            doc = by_path[path][0]
            replaced = (doc.source, doc.key) in replacing
            (summary.replaced if replaced else summary.ingested).append(doc.key)
        return summary

    def _record_rejections(
        self,
        con: duckdb.DuckDBPyConnection,
        rejections: list[tuple[tuple[StatusDocument, str, os.stat_result], str]],
        now: datetime,
    ) -> None:
        for (doc, sha, _), reason in rejections:
            con.execute(
                "DELETE FROM rejected_document WHERE source = ? AND key = ?", [doc.source, doc.key]
            )
            con.execute(
                "INSERT INTO rejected_document VALUES (?, ?, ?, ?, ?)",
                [doc.source, doc.key, sha, reason, now],
            )

    def _insert_documents(
        self,
        con: duckdb.DuckDBPyConnection,
        entries: list[tuple[StatusDocument, str, os.stat_result]],
        now: datetime,
    ) -> int:
        incoming = pd.DataFrame(
            {
                "filename": [str(doc.path) for doc, _, _ in entries],
                "source": [doc.source for doc, _, _ in entries],
                "key": [doc.key for doc, _, _ in entries],
                "size": [stat.st_size for _, _, stat in entries],
                "mtime_ns": [stat.st_mtime_ns for _, _, stat in entries],
                "sha256": [sha for _, sha, _ in entries],
            }
        )
        keys = list(zip(incoming["source"], incoming["key"], strict=True))
        con.execute(
            "DELETE FROM rejected_document WHERE list_contains(?, (source, key))",
            [[{"source": s, "key": k} for s, k in keys]],
        )
        first_id = next_id(con, "status_document", "document_id")
        con.register("_incoming", incoming)
        try:  # what another process stored meanwhile is not stored twice
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _new AS SELECT i.* FROM _incoming i "
                "ANTI JOIN status_document d "
                "ON d.source = i.source AND d.key = i.key AND d.sha256 = i.sha256"
            )
        finally:
            con.unregister("_incoming")
        con.execute(  # the earlier content of a document read again
            "CREATE OR REPLACE TEMP TABLE _old AS SELECT d.document_id FROM status_document d "
            "JOIN _new n ON d.source = n.source AND d.key = n.key"
        )
        has_old = con.execute("SELECT count(*) FROM _old").fetchone()[0] > 0
        if has_old:  # the sensors whose latest reading may go with the earlier content
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _touched AS SELECT DISTINCT sensor_id "
                "FROM status_reading WHERE document_id IN (SELECT * FROM _old)"
            )
        con.execute("DELETE FROM status_reading WHERE document_id IN (SELECT * FROM _old)")
        con.execute("DELETE FROM status_document WHERE document_id IN (SELECT * FROM _old)")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _docs AS "
            "SELECT ? + row_number() OVER (ORDER BY i.filename) - 1 AS document_id, i.*, "
            "coalesce(c.n, 0) AS n_readings FROM _new i LEFT JOIN "
            "(SELECT filename, count(*) AS n FROM _batch GROUP BY filename) c USING (filename)",
            [first_id],
        )
        con.execute("DELETE FROM _batch WHERE filename NOT IN (SELECT filename FROM _docs)")
        con.execute(
            "INSERT INTO status_document SELECT document_id, source, key, size, mtime_ns, "
            "sha256, n_readings, ? FROM _docs",
            [now],
        )
        meta = [f for f in STATUS_FIELDS if f in _SENSOR_COLUMNS]
        latest = ", ".join(f'arg_max("{f}", date) AS "{f}"' for f in meta)
        fields = ", ".join(f"'{c}': {_READING[c]}" for c in ("value", "text", "error_code"))
        last = "{" + fields + "}"  # one struct: every field from the reading of greatest ts
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _sensors AS
            SELECT name, {latest}, max({_READING["ts"]}) AS last_ts,
                   arg_max({last}, {_READING["ts"]}) AS last
            FROM _batch b GROUP BY name"""
        )
        quoted = [f'"{c}"' for c in ("name", *meta)]
        con.execute(
            f"INSERT INTO sensor (sensor_id, {', '.join(quoted)}) "
            "SELECT ? + row_number() OVER (ORDER BY n.name) - 1, "
            f"{', '.join(f'n.{c}' for c in quoted)} "
            "FROM _sensors n WHERE n.name NOT IN (SELECT name FROM sensor)",
            [next_id(con, "sensor", "sensor_id")],
        )
        # a batch older than what a sensor already holds leaves its latest reading alone
        newer = "sensor.last_ts IS NULL OR n.last_ts >= sensor.last_ts"
        assignments = [f'"{f}" = n."{f}"' for f in meta] + [
            f"last_{field} = CASE WHEN {newer} THEN {value} ELSE sensor.last_{field} END"
            for field, value in (
                ("ts", "n.last_ts"),
                ("value", "n.last.value"),
                ("text", "n.last.text"),
                ("error_code", "n.last.error_code"),
            )
        ]
        con.execute(
            f"UPDATE sensor SET {', '.join(assignments)} FROM _sensors n WHERE sensor.name = n.name"
        )
        con.execute(
            f"""INSERT INTO status_reading
            SELECT s.sensor_id, {_READING["ts"]} AS ts, {_READING["value"]}, {_READING["text"]},
                CASE WHEN b.raw_value IS DISTINCT FROM b.value THEN b.raw_value END,
                {_READING["error_code"]}, d.document_id
            FROM _batch b JOIN _docs d USING (filename) JOIN sensor s ON s.name = b.name
            ORDER BY s.sensor_id, ts"""
        )
        if has_old:
            touched = "sensor_id IN (SELECT sensor_id FROM _touched)"
            con.execute(
                "UPDATE sensor SET last_ts = NULL, last_value = NULL, last_text = NULL, "
                f"last_error_code = NULL WHERE {touched}"
            )
            con.execute(SENSOR_LAST_READINGS.format(where=touched))
        return int(con.execute("SELECT count(*) FROM _batch").fetchone()[0])


class _KnownDocuments(dict):
    """(source, key) -> (size, mtime_ns, sha256, document_id), plus every known hash."""

    hashes: set[str]


_SENSOR_COLUMNS = (
    "pretty_name",
    "subsystem",
    "component",
    "group",
    "model",
    "identifier",
    "firmware",
    "type",
    "unit",
    "correction_model",
)

_READ_OPTIONS = (
    f"format = 'array', records = true, columns = {_READ_COLUMNS}, filename = true, "
    "maximum_object_size = 67108864"
)


def _read_error(con: duckdb.DuckDBPyConnection, path: str) -> str | None:
    """Why DuckDB cannot read this one document as a JSON list of records, or None."""
    try:
        con.execute(f"SELECT * FROM read_json(?, {_READ_OPTIONS})", [[path]]).fetchall()
    except UnicodeDecodeError:  # DuckDB's message quotes the file's bytes, which are not UTF-8
        return f"{path}: not a JSON list of status records (the file is not UTF-8 text)"
    except duckdb.Error as exc:
        text = str(exc).split("\n")[0].removeprefix("Invalid Input Error: ")
        if "top-level JSON array" in text:
            return f"{path}: not a JSON list of status records ({text})"
        return f"{path}: {text.replace(f'in file {chr(34)}{path}{chr(34)}, ', '').strip()}"
    return None
