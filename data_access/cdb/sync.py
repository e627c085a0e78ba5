"""Sources of documents behind one interface, their cursors, and the sync.

A source yields pages of :class:`~data_access.telemetry.store.StatusDocument` together with
the position (the cursor) each document brings the source to. :func:`sync_source` ingests
a page and only then moves the source's cursor, kept in the cache's ``source_cursor``
table, to the newest position among the documents that went in: a rejected document never
moves it, and a process killed between the fetch and the ingest fetches the page again.

The sources and the sync are not tied to one kind of document: a source reads the table or
URL it is given, and :func:`sync_source` hands the pages to any :class:`DocumentIngest`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from data_access.cache import Cache
from data_access.redact import redact_secrets
from data_access.telemetry.store import IngestSummary, Progress, StatusDocument


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


def ingest_each(
    documents: Sequence[StatusDocument],
    ingest_one: Callable[[StatusDocument, IngestSummary], None],
    progress: Progress | None = None,
) -> IngestSummary:
    """``ingest_one(document, summary)`` for each document in turn, ``progress(done, total)``
    after each: the loop of a :class:`DocumentIngest` that takes documents one by one."""
    summary = IngestSummary()
    for done, document in enumerate(documents, start=1):
        ingest_one(document, summary)
        if progress is not None:
            progress(done, len(documents))
    return summary


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


SourceBuilder = tuple[str, Callable[[], StatusSource]]


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
