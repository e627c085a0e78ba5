"""Telemetry in the cache, as one store: status documents in, the pages' queries out.

:class:`~data_access.telemetry.ingest.StatusIngest` takes the documents in (the document →
readings path), :class:`~data_access.telemetry.queries.StatusQueries` answers the queries
(sensors, latest, series, errors, nearest); :class:`StatusStore` is both, over one cache,
for the callers that need one object.
"""

from __future__ import annotations

from data_access.telemetry.ingest import (
    MAX_FILE_BYTES,
    MAX_VALUE_CHARS,
    IngestSummary,
    Progress,
    StatusDocument,
    StatusIngest,
    documents_in,
)
from data_access.telemetry.queries import StatusQueries

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_VALUE_CHARS",
    "IngestSummary",
    "Progress",
    "StatusDocument",
    "StatusStore",
    "documents_in",
]


class StatusStore(StatusIngest, StatusQueries):
    """Telemetry in the cache: status documents in, sensors, latest values and series out.

    Built as :class:`StatusIngest` is: ``StatusStore(cache, batch_files=2000)``.
    """
