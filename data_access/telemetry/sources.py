"""Where status documents come from: the drop folder, the CDB's PostgreSQL table, the CDB's
HTTP endpoint, behind one interface, and the sync that ingests what each has that is new.

A source yields pages of :class:`~data_access.telemetry.store.StatusDocument` together with
the position (the cursor) each document brings the source to. :func:`sync_source` ingests
a page and only then moves the source's cursor, kept in the cache's ``source_cursor``
table, to the newest position among the documents that went in: a rejected document never
moves it, and a process killed between the fetch and the ingest fetches the page again.

The CDB sources and the sync are not tied to status documents: a source reads the table
or URL it is given, and :func:`sync_source` hands the pages to any :class:`DocumentIngest`
(calibration reports use them so, see :mod:`data_access.calibration.sources`).

Documents fetched from the CDB are kept as received under ``raw/status/<source>/`` of the
workspace (written atomically), so that every reading in the cache can be traced back to
the bytes it came from.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import psycopg
import requests
from psycopg import sql

from analysis.limits import load_json
from data_access.cache import Cache
from data_access.config import CdbHttpConfig, CdbPostgresConfig
from data_access.redact import MASK, redact_secrets, redact_url
from data_access.safe_files import safe_file_stem, write_atomic
from data_access.telemetry.store import (
    MAX_FILE_BYTES,
    IngestSummary,
    Progress,
    StatusDocument,
    documents_in,
)

if TYPE_CHECKING:
    from data_access.stores import Stores
    from data_access.workspace import Workspace

#: Largest answer of an HTTP source read, in bytes (the largest status document ingested).
MAX_ANSWER_BYTES = MAX_FILE_BYTES

#: Source names, as stored in the cache's ``status_document.source``.
FILES, CDB_POSTGRES, CDB_HTTP = "files", "cdb-postgres", "cdb-http"


class StatusSourceError(RuntimeError):
    """A source that cannot be read; the message names it and what failed, never a secret."""


@dataclass(frozen=True)
class FetchedPage:
    """Documents fetched together, and the cursor each one brings its source to.

    ``positions`` maps a document's key to an ISO 8601 time; a document without one
    (a drop-folder file) does not move the cursor.
    """

    documents: list[StatusDocument]
    positions: dict[str, str] = field(default_factory=dict)


class StatusSource(Protocol):
    """A provider of status documents.

    ``name`` is the source written beside every document in the cache; ``collect``
    yields what is new since ``cursor`` (the last position stored for ``name``, or None
    on the first sync), one page at a time, and raises :class:`StatusSourceError`.
    """

    name: str

    def collect(self, cursor: str | None) -> Iterator[FetchedPage]: ...


class DocumentIngest(Protocol):
    """What takes fetched documents in: :class:`StatusStore`, or an adapter of another store.

    ``ingest`` returns an :class:`IngestSummary` whose ``ingested``, ``replaced`` and
    ``unchanged`` name the keys of the documents that went in (they move the cursor).
    """

    def ingest(
        self, documents: Sequence[StatusDocument], *, progress: Progress | None = None
    ) -> IngestSummary: ...


# -- cursors ----------------------------------------------------------------------------
class SourceCursors:
    """The position each source has been read up to, in the cache's ``source_cursor``.

    Parameters
    ----------
    cache : Cache
    prefix : str, optional
        Put before every source name, so that one source read for two kinds of
        documents (``calibration:cdb-postgres``) keeps one cursor per kind.
    """

    def __init__(self, cache: Cache, *, prefix: str = "") -> None:
        self.cache = cache
        self.prefix = prefix

    def get(self, source: str) -> str | None:
        """The stored cursor of ``source``, or None if it was never synced."""
        rows = self.cache.execute(
            "SELECT cursor FROM source_cursor WHERE source = ?", [self.prefix + source]
        )
        return rows[0][0] if rows else None

    def set(self, source: str, cursor: str) -> None:
        """Store ``cursor`` as the position of ``source``."""
        with self.cache.transaction() as con:
            con.execute("DELETE FROM source_cursor WHERE source = ?", [self.prefix + source])
            con.execute("INSERT INTO source_cursor VALUES (?, ?)", [self.prefix + source, cursor])


def _instant(text: str) -> datetime | None:
    """An ISO 8601 time as an aware datetime (naive ones are UTC), or None if it is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def newest_position(positions: list[str]) -> str | None:
    """The latest of ISO 8601 times, as written; times that do not parse are ignored."""
    dated = [(moment, text) for text in positions if (moment := _instant(text)) is not None]
    return max(dated)[1] if dated else None


def sync_source(
    source: StatusSource,
    store: DocumentIngest,
    cursors: SourceCursors,
    *,
    progress: Progress | None = None,
) -> IngestSummary:
    """Ingest what ``source`` has that is new, page by page, moving its cursor after each page.

    Parameters
    ----------
    source : StatusSource
    store : DocumentIngest
        Where the documents go (:class:`StatusStore` for status documents).
    cursors : SourceCursors
        Where the source's position is kept.
    progress : callable(done, total), optional
        Passed to ``store.ingest`` for every page.

    Returns
    -------
    IngestSummary
        The pages' summaries merged.

    Raises
    ------
    StatusSourceError
        If the source cannot be read; pages ingested before the failure stay in, with
        the cursor after them.
    """
    summary = IngestSummary()
    cursor = cursors.get(source.name)
    for page in source.collect(cursor):
        done = store.ingest(page.documents, progress=progress)
        summary.merge(done)
        went_in = set(done.ingested) | set(done.replaced) | set(done.unchanged)
        newest = newest_position(
            [page.positions[key] for key in went_in if key in page.positions]
            + ([cursor] if cursor else [])
        )
        if newest is not None and newest != cursor:
            cursors.set(source.name, newest)
            cursor = newest
    return summary


# -- the drop folder --------------------------------------------------------------------
class DirectorySource:
    """Every ``*.json`` file under a drop folder (hidden files aside).

    The ingest itself skips files not changed since they were last read, so collecting
    every file each time costs one ``stat`` per file.
    """

    name = FILES

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def collect(self, cursor: str | None = None) -> Iterator[FetchedPage]:
        """One page with every visible ``*.json`` file of the folder and its subfolders.

        Raises
        ------
        StatusSourceError
            If the folder does not exist.
        """
        try:
            documents = documents_in([self.folder], source=self.name)
        except FileNotFoundError as exc:
            raise StatusSourceError(f"drop folder {self.folder} does not exist") from exc
        visible = [d for d in documents if not d.path.name.startswith(".")]
        if visible:
            yield FetchedPage(visible)


# -- the CDB's PostgreSQL table ---------------------------------------------------------
def table_identifier(name: str, *, setting: str = "cdb.postgres.status_table") -> sql.Identifier:
    """``table`` or ``schema.table`` as a safely quoted SQL identifier.

    ``setting`` is the configuration key named in the error.

    Raises
    ------
    ValueError
        If the name is empty or has an empty part or more than two parts.
    """
    parts = name.split(".")
    if not 1 <= len(parts) <= 2 or not all(p.strip() for p in parts):
        raise ValueError(f"{setting} {name!r} must be 'table' or 'schema.table'")
    return sql.Identifier(*(p.strip() for p in parts))


def _position(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


class CdbPostgresSource:
    """Status documents from the CDB's PostgreSQL table, one JSONB document per row.

    Rows are read in the order of the date column, then the id, from the stored cursor
    on (rows dated exactly at the cursor are read again, and found unchanged). A row's
    document may be a list of records or a single record. Each row is kept as received
    under ``raw_dir`` and ingested under the key ``<table>/<id>``; rows whose date is
    NULL are not read.

    Parameters
    ----------
    config : CdbPostgresConfig
        ``dsn``, ``status_table`` (``schema.table`` allowed), ``id_column``,
        ``json_column``, ``date_column``.
    password : str or None
        The password, read by the caller from the variable ``config.password_env``;
        None lets libpq find one (``.pgpass``) or go without.
    raw_dir : Path
        Folder for the rows as received (``WORKSPACE/raw/status/cdb-postgres``).
    page_rows : int, optional
        Rows fetched and ingested together.
    connect_timeout_s : int, optional
        Seconds allowed to connect.
    table : str, optional
        The table read instead of ``config.status_table`` (same columns).
    table_setting : str, optional
        The configuration key of ``table``, named in errors.
    single_as_list : bool, optional
        Whether a row holding a single JSON object is kept as a one-element list (status
        documents are lists of records); False keeps every row exactly as stored.
    """

    name = CDB_POSTGRES

    def __init__(
        self,
        config: CdbPostgresConfig,
        password: str | None,
        raw_dir: Path,
        *,
        page_rows: int = 500,
        connect_timeout_s: int = 10,
        table: str | None = None,
        table_setting: str = "cdb.postgres.status_table",
        single_as_list: bool = True,
    ) -> None:
        if not config.dsn:
            raise ValueError("cdb.postgres.dsn is empty: the PostgreSQL source is off")
        self.config = config
        self._password = password
        self.raw_dir = Path(raw_dir)
        self.page_rows = page_rows
        self.connect_timeout_s = connect_timeout_s
        self.table = config.status_table if table is None else table
        self.table_setting = table_setting
        self.single_as_list = single_as_list

    def __repr__(self) -> str:
        return f"CdbPostgresSource({self.where()!r}, table={self.table!r})"

    def where(self) -> str:
        """The server and database, for messages (never the password)."""
        try:
            info = psycopg.conninfo.conninfo_to_dict(self.config.dsn)
        except psycopg.ProgrammingError:
            return "CDB PostgreSQL (unreadable cdb.postgres.dsn)"
        host = info.get("host") or "local socket"
        port = f":{info['port']}" if info.get("port") else ""
        return f"CDB PostgreSQL {host}{port}/{info.get('dbname') or info.get('user') or ''}"

    def _query(self, first: bool) -> sql.Composed:
        c = self.config
        date_col, id_col = sql.Identifier(c.date_column), sql.Identifier(c.id_column)
        where = (
            sql.SQL("{d} >= %(since)s").format(d=date_col)
            if first
            else sql.SQL("({d}, {i}) > (%(last_date)s, %(last_id)s)").format(d=date_col, i=id_col)
        )
        return sql.SQL(
            "SELECT {i}, {d}, {j}::text FROM {t} WHERE {d} IS NOT NULL AND {where} "
            "ORDER BY {d}, {i} LIMIT %(rows)s"
        ).format(
            i=id_col,
            d=date_col,
            j=sql.Identifier(c.json_column),
            t=table_identifier(self.table, setting=self.table_setting),
            where=where,
        )

    def _error(self, exc: psycopg.Error) -> StatusSourceError:
        text = redact_secrets(" ".join(str(exc).split()))
        if self._password:
            text = text.replace(self._password, MASK)
        return StatusSourceError(f"{self.where()}, table {self.table}: {text}")

    def collect(self, cursor: str | None) -> Iterator[FetchedPage]:
        """Pages of the rows dated at or after ``cursor`` (every row when None).

        Raises
        ------
        StatusSourceError
            If the server cannot be reached, the table or a column does not exist, or a
            query fails; the message names the server, database and table.
        ValueError
            If the table is not ``table`` or ``schema.table``.
        """
        queries = (self._query(first=True), self._query(first=False))
        params: dict[str, Any] = {"since": cursor or "-infinity", "rows": self.page_rows}
        try:
            with psycopg.connect(
                self.config.dsn,
                password=self._password,
                connect_timeout=self.connect_timeout_s,
                autocommit=True,
            ) as con:
                first = True
                while True:
                    rows = con.execute(queries[0 if first else 1], params).fetchall()
                    if not rows:
                        return
                    yield self._page(rows)
                    if len(rows) < self.page_rows:
                        return
                    params.update(last_id=rows[-1][0], last_date=rows[-1][1])
                    first = False
        except psycopg.Error as exc:
            raise self._error(exc) from None

    def _page(self, rows: list[tuple[Any, Any, str | None]]) -> FetchedPage:
        documents, positions = [], {}
        table = self.table
        for row_id, when, text in rows:
            key = f"{table}/{row_id}"
            document = (text or "null").strip()
            if self.single_as_list and document.startswith("{"):
                document = f"[{document}]"  # a single record
            name = f"{safe_file_stem(table)}--{safe_file_stem(str(row_id))}.json"
            path = write_atomic(self.raw_dir, name, document.encode("utf-8"))
            documents.append(StatusDocument(self.name, key, path))
            positions[key] = _position(when)
        return FetchedPage(documents, positions)


# -- the CDB's HTTP endpoint ------------------------------------------------------------
_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def _failure(exc: requests.RequestException, timeout_s: float) -> str:
    """What went wrong with a request, without the URL (whose query may hold a secret)."""
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout_s:g} s"
    found = _ERRNO_TEXT.search(str(exc))
    return found.group(1).strip().lower() if found else f"cannot connect ({type(exc).__name__})"


def _bounded_content(answer: requests.Response, where: str) -> bytes:
    """The body of a streamed answer, refused once it exceeds :data:`MAX_ANSWER_BYTES`.

    Raises
    ------
    StatusSourceError
        Naming ``where`` and the limit.
    """
    content = bytearray()
    for chunk in answer.iter_content(chunk_size=1 << 20):
        content += chunk
        if len(content) > MAX_ANSWER_BYTES:
            raise StatusSourceError(
                f"{where}: the answer is larger than the {MAX_ANSWER_BYTES} bytes allowed"
            )
    return bytes(content)


class CdbHttpSource:
    """Status documents from the CDB's HTTP endpoint.

    The contract: ``GET url?since=CURSOR`` answers a JSON list of the status records
    newer than ``since`` (every record when ``since`` is absent). A non-empty answer is
    kept as received under ``raw_dir`` and ingested under the key of its SHA-256, so a
    repeated answer adds nothing; the cursor becomes the newest record date of an answer
    that went in. A malformed answer is kept and handed to the ingest, which rejects it
    with the reason (and the cursor stays).

    Parameters
    ----------
    config : CdbHttpConfig
        ``url``, ``timeout_s``, ``retries``, ``backoff_s``.
    raw_dir : Path
        Folder for the answers as received (``WORKSPACE/raw/status/cdb-http``).
    session : requests.Session, optional
        Used for every request (authentication, proxies); by default each fetch opens
        and closes its own.
    sleep : callable(seconds), optional
        Waits between attempts (tests pass a recorder).
    url : str, optional
        The endpoint read instead of ``config.url`` (same contract, same settings).
    url_setting : str, optional
        The configuration key of ``url``, named in errors.
    date_key : str, optional
        The key of a record's date in the answer (``DATE`` for calibration reports).
    """

    name = CDB_HTTP

    def __init__(
        self,
        config: CdbHttpConfig,
        raw_dir: Path,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        url: str | None = None,
        url_setting: str = "cdb.http.url",
        date_key: str = "date",
    ) -> None:
        self.url = config.url if url is None else url
        if not self.url:
            raise ValueError(f"{url_setting} is empty: the HTTP source is off")
        self.config = config
        self.raw_dir = Path(raw_dir)
        self.session = session
        self._sleep = sleep
        self.date_key = date_key

    def __repr__(self) -> str:
        return f"CdbHttpSource({redact_url(self.url)!r})"

    def request_params(self, cursor: str | None) -> dict[str, str]:
        """The query parameters of a fetch from ``cursor``."""
        return {"since": cursor} if cursor else {}

    def fetch(self, cursor: str | None) -> bytes:
        """The endpoint's answer to a fetch from ``cursor``, retrying where it makes sense.

        Connection errors, timeouts and 5xx answers are retried ``config.retries`` times,
        waiting ``backoff_s``, then twice as long after each further failure; a 4xx answer
        is not retried.

        Raises
        ------
        StatusSourceError
            Naming the URL (its secrets masked) and the HTTP status or the failure; also
            when the answer is larger than :data:`MAX_ANSWER_BYTES`.
        ValueError
            If ``retries`` is negative, ``timeout_s`` not positive or ``backoff_s`` negative.
        """
        c = self.config
        if c.retries < 0 or c.timeout_s <= 0 or c.backoff_s < 0:
            raise ValueError(
                "cdb.http needs retries >= 0, timeout_s > 0 and backoff_s >= 0, got "
                f"{c.retries}, {c.timeout_s}, {c.backoff_s}"
            )
        with contextlib.ExitStack() as stack:
            session = self.session or stack.enter_context(requests.Session())
            return self._fetch(session, cursor)

    def _fetch(self, session: requests.Session, cursor: str | None) -> bytes:
        c, where = self.config, redact_url(self.url)
        attempts = c.retries + 1
        for attempt in range(attempts):
            if attempt:
                self._sleep(c.backoff_s * 2 ** (attempt - 1))
            try:
                with session.get(
                    self.url, params=self.request_params(cursor), timeout=c.timeout_s, stream=True
                ) as answer:
                    if 200 <= answer.status_code < 300:
                        return _bounded_content(answer, f"CDB endpoint {where}")
            except requests.RequestException as exc:
                failure = _failure(exc, c.timeout_s)
                continue
            failure = f"HTTP {answer.status_code} {answer.reason or ''}".strip()
            if answer.status_code < 500:
                raise StatusSourceError(f"CDB endpoint {where}: {failure} (not retried)")
        tries = f"{attempts} attempts" if attempts > 1 else "1 attempt"
        raise StatusSourceError(f"CDB endpoint {where}: {failure} after {tries}")

    def collect(self, cursor: str | None) -> Iterator[FetchedPage]:
        """One page with the endpoint's answer since ``cursor``, or nothing if it is ``[]``."""
        content = self.fetch(cursor)
        try:
            records = load_json(content)
        except ValueError:  # not JSON, or nested too deeply: kept, and the ingest says why
            records = None
        if records == []:
            return
        sha = hashlib.sha256(content).hexdigest()
        path = write_atomic(self.raw_dir, f"{sha}.json", content)
        dates = (
            [r.get(self.date_key) for r in records if isinstance(r, dict)]
            if isinstance(records, list)
            else []
        )
        newest = newest_position([d for d in dates if isinstance(d, str)])
        yield FetchedPage([StatusDocument(self.name, sha, path)], {sha: newest} if newest else {})


# -- every configured source ------------------------------------------------------------
SourceBuilder = tuple[str, Callable[[], StatusSource]]


def cdb_source_builders(
    workspace: Workspace,
    raw_dir: Path,
    *,
    postgres: Mapping[str, Any] | None = None,
    http: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[SourceBuilder]:
    """The CDB's sources of one kind of document, each as ``(name, build)``.

    Parameters
    ----------
    workspace : Workspace
        Its ``[cdb.postgres]`` and ``[cdb.http]`` settings.
    raw_dir : Path
        Documents fetched go to ``raw_dir/<source name>``.
    postgres, http : mapping or None, optional
        Options of :class:`CdbPostgresSource` / :class:`CdbHttpSource` (``table``,
        ``url``...); None leaves that source out. The PostgreSQL source is built when
        ``cdb.postgres.dsn`` is set, the HTTP one when its URL is set.
    environ : mapping, optional
        Where the CDB password is looked up (``os.environ`` by default).
    """
    environ = os.environ if environ is None else environ
    cdb = workspace.config.cdb
    builders: list[SourceBuilder] = []
    if postgres is not None and cdb.postgres.dsn:
        password = environ.get(cdb.postgres.password_env) if cdb.postgres.password_env else None
        builders.append(
            (
                CDB_POSTGRES,
                lambda: CdbPostgresSource(
                    cdb.postgres, password, raw_dir / CDB_POSTGRES, **postgres
                ),
            )
        )
    if http is not None and http.get("url", cdb.http.url):
        builders.append((CDB_HTTP, lambda: CdbHttpSource(cdb.http, raw_dir / CDB_HTTP, **http)))
    return builders


def _source_builders(
    workspace: Workspace, environ: Mapping[str, str] | None
) -> list[SourceBuilder]:
    return [(FILES, lambda: DirectorySource(workspace.status_drop_dir))] + cdb_source_builders(
        workspace, workspace.raw_status_dir, postgres={}, http={}, environ=environ
    )


_EXHAUSTED = {RecursionError: "recursion limit", MemoryError: "memory"}


def sync_sources(
    builders: Sequence[SourceBuilder],
    store: DocumentIngest,
    cursors: SourceCursors,
    *,
    progress: Progress | None = None,
) -> dict[str, IngestSummary | str]:
    """:func:`sync_source` for each source; one that fails does not stop the others.

    Returns
    -------
    dict
        Source name to its :class:`IngestSummary`, or to the text of the error that
        stopped it (a source that cannot be built or read, a misconfigured setting).
    """
    results: dict[str, IngestSummary | str] = {}
    for name, build in builders:
        try:
            results[name] = sync_source(build(), store, cursors, progress=progress)
        except (StatusSourceError, OSError, ValueError) as exc:
            results[name] = redact_secrets(str(exc))
        except (RecursionError, MemoryError) as exc:  # a document no parser should have let by
            results[name] = f"{name}: a document exhausted the {_EXHAUSTED[type(exc)]}"
    return results


def configured_sources(
    workspace: Workspace, *, environ: Mapping[str, str] | None = None
) -> list[StatusSource]:
    """The drop folder, then the CDB sources whose ``dsn`` / ``url`` is set.

    Parameters
    ----------
    workspace : Workspace
    environ : mapping, optional
        Where the CDB password is looked up (``os.environ`` by default).
    """
    return [build() for _, build in _source_builders(workspace, environ)]


def sync_status(
    stores: Stores,
    *,
    environ: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> dict[str, IngestSummary | str]:
    """Sync every configured status source into the cache.

    The drop folder always, the CDB's PostgreSQL table when ``cdb.postgres.dsn`` is set
    and its HTTP endpoint when ``cdb.http.url`` is set. A source that fails does not stop
    the others.

    Parameters
    ----------
    stores : Stores
        The workspace and its stores (``stores.status`` receives the documents).
    environ : mapping, optional
        Where the CDB password is looked up (``os.environ`` by default).
    progress : callable(done, total), optional
        Passed to every ingest.

    Returns
    -------
    dict
        Source name (``files``, ``cdb-postgres``, ``cdb-http``) to its
        :class:`IngestSummary`, or to the text of the error that stopped it.
    """
    return sync_sources(
        _source_builders(stores.workspace, environ),
        stores.status,
        SourceCursors(stores.cache),
        progress=progress,
    )
