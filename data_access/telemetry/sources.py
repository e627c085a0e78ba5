"""Where status documents come from: the drop folder, the CDB's PostgreSQL table, the CDB's
HTTP endpoint, behind one interface, and the sync that ingests what each has that is new.

The CDB's sources, the cursors and the sync are those of :mod:`data_access.cdb` (shared with
the calibration reports and links); this module adds the drop folder and the status sync.
Documents fetched from the CDB are kept as received under ``raw/status/<source>/`` of the
workspace (written atomically), so that every reading in the cache can be traced back to
the bytes it came from.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from data_access.cdb.builders import cdb_source_builders
from data_access.cdb.sync import (
    FetchedPage,
    SourceBuilder,
    SourceCursors,
    StatusSource,
    StatusSourceError,
    sync_sources,
)
from data_access.telemetry.store import IngestSummary, Progress, documents_in

if TYPE_CHECKING:
    from data_access.stores import Stores
    from data_access.workspace import Workspace


#: The drop folder's name, as stored in the cache's ``status_document.source``.
FILES = "files"


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


def _source_builders(
    workspace: Workspace, environ: Mapping[str, str] | None
) -> list[SourceBuilder]:
    return [(FILES, lambda: DirectorySource(workspace.status_drop_dir))] + cdb_source_builders(
        workspace, workspace.raw_status_dir, postgres={}, http={}, environ=environ
    )


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
