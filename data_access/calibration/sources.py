"""Calibration reports from the CDB: ``gic sync calibration``.

TCS writes a validation report (the notes' "Data transfert to GIC" JSON) for every master
it builds; the CDB serves them as it serves status documents. The sources, cursors and
sync of :mod:`data_access.cdb` read them, given the calibration table or URL:

- ``[cdb.postgres] calibration_table``: one report per row (or a list of reports), in the
  JSONB column and with the id and date columns of the status table;
- ``[cdb.http] calibration_url``: ``GET url?since=ISO`` answers a JSON list of the
  reports whose DATE is newer than ``since``.

What is fetched is kept as received under ``raw/calibration-reports/<source>/`` and goes
into the cache through :meth:`CalibrationStore.ingest_report_bytes`, idempotently: a report
read again adds nothing, a bad one is rejected with its reason while the others go in. The
cursors are kept apart from the status ones (``calibration:cdb-postgres``...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from analysis.limits import load_json
from data_access.calibration.store import CalibrationStore, ReportIngestSummary
from data_access.cdb.builders import cdb_source_builders
from data_access.cdb.sync import SourceCursors, ingest_each, sync_sources
from data_access.telemetry.store import IngestSummary, Progress, StatusDocument

if TYPE_CHECKING:
    from data_access.stores import Stores

#: Workspace folder of the documents fetched, one subfolder per source.
RAW_REPORTS_DIR = "raw/calibration-reports"

#: Put before the source name of every cursor of calibration reports.
CURSOR_PREFIX = "calibration:"


class CalibrationReportIngest:
    """Fetched documents into a :class:`CalibrationStore`, as a sync expects them.

    A document holds one report (a table row) or a list of reports (an HTTP answer).
    A report of a list is kept under its IM_NAME, so a corrected report sent again
    replaces the earlier one; a report that has none is kept as ``<document>[i]``.

    The summary names documents under ``ingested``/``replaced``/``unchanged`` (a
    document went in when at least one of its reports did: that moves the cursor),
    every rejected report under ``rejected`` with its reason, and counts the reports
    added or replaced under ``readings``.
    """

    def __init__(self, store: CalibrationStore) -> None:
        self.store = store

    def ingest(
        self, documents: Sequence[StatusDocument], *, progress: Progress | None = None
    ) -> IngestSummary:
        """Ingest every report of ``documents``; see the class docstring for the summary."""
        return ingest_each(documents, self._ingest_document, progress)

    def _ingest_document(self, document: StatusDocument, summary: IngestSummary) -> None:
        try:
            raw = document.path.read_bytes()
        except OSError as exc:
            summary.rejected.append((document.key, f"{document.path}: cannot read: {exc.strerror}"))
            return
        reports = ReportIngestSummary()
        for key, data, where in _reports_of(document, raw):
            self.store.ingest_report_bytes(
                data, source=document.source, key=key, where=where, summary=reports
            )
        summary.rejected += reports.rejected
        summary.readings += len(reports.ingested) + len(reports.replaced)
        if reports.ingested:
            summary.ingested.append(document.key)
        elif reports.replaced:
            summary.replaced.append(document.key)
        elif reports.unchanged:
            summary.unchanged.append(document.key)


def _reports_of(document: StatusDocument, raw: bytes) -> list[tuple[str, bytes, str]]:
    """``(key, JSON bytes, where)`` of each report a document holds (itself if not a list)."""
    try:
        parsed = load_json(raw)
    except ValueError:
        parsed = None  # handed on whole: the store says what is wrong with it
    if not isinstance(parsed, list):
        return [(document.key, raw, str(document.path))]
    return [
        (
            _report_key(item, f"{document.key}[{index}]"),
            json.dumps(item).encode(),
            f"{document.path}, report {index}",
        )
        for index, item in enumerate(parsed)
    ]


def _report_key(item: Any, fallback: str) -> str:
    name = item.get("IM_NAME") if isinstance(item, dict) else None
    return name.strip() if isinstance(name, str) and name.strip() else fallback


def sync_calibration(
    stores: Stores,
    *,
    environ: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> dict[str, IngestSummary | str]:
    """Pull the calibration reports the CDB has that are new into the cache.

    The PostgreSQL table ``cdb.postgres.calibration_table`` when ``cdb.postgres.dsn`` is
    set (and the table name is not empty), the endpoint ``cdb.http.calibration_url`` when
    set. A source that fails does not stop the other.

    Parameters
    ----------
    stores : Stores
        The workspace and its stores (``stores.calibration`` receives the reports).
    environ : mapping, optional
        Where the CDB password is looked up (``os.environ`` by default).
    progress : callable(done, total), optional
        Called after each document of a page.

    Returns
    -------
    dict
        Source name (``cdb-postgres``, ``cdb-http``) to its :class:`IngestSummary`
        (``readings``: reports added or replaced), or to the text of the error that
        stopped it; empty when no source is configured.
    """
    workspace = stores.workspace
    cdb = workspace.config.cdb
    postgres = (
        {
            "table": cdb.postgres.calibration_table,
            "table_setting": "cdb.postgres.calibration_table",
            "single_as_list": False,
        }
        if cdb.postgres.calibration_table
        else None
    )
    http = {
        "url": cdb.http.calibration_url,
        "url_setting": "cdb.http.calibration_url",
        "date_key": "DATE",
    }
    builders = cdb_source_builders(
        workspace, workspace.path(RAW_REPORTS_DIR), postgres=postgres, http=http, environ=environ
    )
    return sync_sources(
        builders,
        CalibrationReportIngest(stores.calibration),
        SourceCursors(stores.cache, prefix=CURSOR_PREFIX),
        progress=progress,
    )
