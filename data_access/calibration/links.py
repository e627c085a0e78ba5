"""The CDB's calibration links in the cache: read from its sources, kept per frame.

The links documents (their contract: :mod:`analysis.calibration.links`) come through the
sources of :mod:`data_access.cdb`, as the status documents and calibration reports do:

- the drop folder ``[calibration.nightly] links_drop_dir`` (every ``*.json`` file);
- the CDB's PostgreSQL table ``[calibration.nightly] links_table`` (when
  ``cdb.postgres.dsn`` is set): one document per row, in the JSONB column and with the id
  and date columns of the status table;
- the CDB's endpoint ``[calibration.nightly] links_url``: ``GET url?since=YYYYMMDD``
  answers a links document; a list of entries moves the cursor to its newest night, and
  the endpoint answers the links of the nights at or after ``since``.

What the CDB sends is kept as received under ``raw/calibration-links/<source>/``; every
frame of an accepted document becomes a row of ``calibration_link``, keyed by its night
and file name. A link read again adds nothing; a link whose location, size or checksum
changed replaces the earlier one and counts as received anew (late or corrected links
make the night due again, see :func:`analysis.calibration.schedule.due_nights`). A bad
document is rejected whole, with its reason, and the others go in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from analysis.calibration.links import FrameLink, LinksError, parse_links
from analysis.limits import load_json
from data_access.cache import Cache
from data_access.calibration.reports import utc_now
from data_access.cdb.builders import cdb_source_builders
from data_access.cdb.sync import SourceCursors, ingest_each, sync_sources
from data_access.telemetry.sources import FILES, DirectorySource
from data_access.telemetry.store import IngestSummary, Progress, StatusDocument

if TYPE_CHECKING:
    from data_access.workspace import Workspace

#: Workspace folder of the links documents fetched, one subfolder per source.
RAW_LINKS_DIR = "raw/calibration-links"

#: Put before the source name of every cursor of calibration links.
CURSOR_PREFIX = "calibration-links:"

_COLUMNS = (
    "night, name, location, instrume, filter, caltype, exptime, size_bytes, checksum, "
    "source, document, received_at"
)


class CalibrationLinks:
    """The frames the CDB's links documents name, in the cache's ``calibration_link``."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def ingest(
        self, documents: Sequence[StatusDocument], *, progress: Progress | None = None
    ) -> IngestSummary:
        """Every links document of ``documents`` into the cache, as a sync expects.

        Returns
        -------
        IngestSummary
            Documents ``ingested`` (a link was new), ``replaced`` (a link changed),
            ``unchanged`` or ``rejected`` with the reason; ``readings``: links added or
            replaced.
        """
        return ingest_each(documents, self._ingest_document, progress)

    def _ingest_document(self, document: StatusDocument, summary: IngestSummary) -> None:
        where = f"links document {document.path}"
        try:
            parsed = load_json(document.path.read_bytes())
        except OSError as exc:
            summary.rejected.append((document.key, f"{where}: cannot read: {exc.strerror}"))
            return
        except ValueError as exc:
            summary.rejected.append((document.key, f"{where}: not JSON: {exc}"))
            return
        try:
            links = parse_links(parsed, where)
        except LinksError as exc:
            summary.rejected.append((document.key, str(exc)))
            return
        added, replaced = self.add(links, source=document.source, document=document.key)
        summary.readings += added + replaced
        if added:
            summary.ingested.append(document.key)
        elif replaced:
            summary.replaced.append(document.key)
        else:
            summary.unchanged.append(document.key)

    def add(self, links: Sequence[FrameLink], *, source: str, document: str) -> tuple[int, int]:
        """Keep ``links``, in one transaction; returns how many were new and replaced."""
        added = replaced = 0
        now = utc_now()
        with self.cache.transaction() as con:
            for link in links:
                known = con.execute(
                    "SELECT location, size_bytes, checksum FROM calibration_link "
                    "WHERE night = ? AND name = ?",
                    [link.night, link.name],
                ).fetchall()
                if known and known[0] == (link.location, link.size_bytes, link.checksum):
                    continue
                con.execute(
                    "DELETE FROM calibration_link WHERE night = ? AND name = ?",
                    [link.night, link.name],
                )
                con.execute(
                    f"INSERT INTO calibration_link ({_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        link.night,
                        link.name,
                        link.location,
                        link.instrument,
                        link.filter,
                        link.caltype,
                        link.exptime_s,
                        link.size_bytes,
                        link.checksum,
                        source,
                        document,
                        now,
                    ],
                )
                replaced, added = (replaced + 1, added) if known else (replaced, added + 1)
        return added, replaced

    def of_night(self, night: date) -> list[FrameLink]:
        """The links of ``night``, by file name."""
        rows = self.cache.execute(
            "SELECT location, name, night, instrume, filter, caltype, exptime, size_bytes, "
            "checksum FROM calibration_link WHERE night = ? ORDER BY name",
            [night],
        )
        return [FrameLink(*row) for row in rows]

    def received(self) -> dict[date, datetime]:
        """Night to the time (naive UTC) its newest link was received."""
        rows = self.cache.execute(
            "SELECT night, max(received_at) FROM calibration_link GROUP BY night"
        )
        return dict(rows)


def links_builders(workspace: Workspace, *, environ: Mapping[str, str] | None = None) -> list:
    """The configured sources of links documents, each as ``(name, build)``."""
    nightly = workspace.config.calibration.nightly
    drop = workspace.path(nightly.links_drop_dir)
    drop.mkdir(parents=True, exist_ok=True)
    postgres = (
        {
            "table": nightly.links_table,
            "table_setting": "calibration.nightly.links_table",
            "single_as_list": False,
        }
        if nightly.links_table
        else None
    )
    http = {
        "url": nightly.links_url,
        "url_setting": "calibration.nightly.links_url",
        "date_key": "night",
    }
    cdb = cdb_source_builders(
        workspace, workspace.path(RAW_LINKS_DIR), postgres=postgres, http=http, environ=environ
    )
    return [(FILES, lambda: DirectorySource(drop)), *cdb]


def sync_links(
    workspace: Workspace,
    cache: Cache,
    *,
    environ: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> dict[str, IngestSummary | str]:
    """Pull the links documents the drop folder and the CDB have that are new into the cache.

    Returns
    -------
    dict
        Source name (``files``, ``cdb-postgres``, ``cdb-http``) to its
        :class:`IngestSummary`, or to the text of the error that stopped it.
    """
    return sync_sources(
        links_builders(workspace, environ=environ),
        CalibrationLinks(cache),
        SourceCursors(cache, prefix=CURSOR_PREFIX),
        progress=progress,
    )
