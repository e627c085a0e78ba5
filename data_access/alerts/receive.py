"""Alerts into trigger files and the cache: the one path every source (Comet, Kafka, files) takes.

Receiving one packet (:func:`receive_packet`, what ``gic-alert-handler`` and
``gic alerts ingest`` run):

1. The packet is parsed safely (:func:`analysis.gcn_notice.parse_notice`: a VOEvent, or a
   GCN JSON notice checked against its schema). A malformed or hostile one, or one that is
   neither XML nor JSON, is copied into the quarantine folder beside a ``.reason`` file,
   and :class:`QuarantinedPacketError` is raised; nothing else is written.
2. A packet with an SVOM burst ID updates ``trigger_<burstid>.dat`` in the triggers
   folder, atomically (a temporary file renamed over it) and under a file lock, so two
   handlers running at once never interleave. The file itself carries the state needed
   to update it (the packet date shown, the retraction flag), so this step needs no
   cache: the telescope gets its trigger even while the cache cannot be reached.
3. The packet is stored in the cache (the document kept as received, XML or JSON; one row
   per ivorn, the same packet seen again only counts a duplicate). A packet whose ivorn
   was stored before with other content is quarantined with the differences named
   (:class:`ConflictingPacketError`) and the first one kept.

**When the cache cannot be reached.** Any number of processes store into the cache at
once (it is a DuckLake), so the handler stores its packet itself. When the cache cannot
be opened (a PostgreSQL catalog restarting, a damaged lake) it retries for
``[alerts] cache_wait_s`` and then writes the packet into the spool folder
(``WORKSPACE/incoming/alerts/``, atomically) and exits 0: no packet is lost. The spool is
drained by :meth:`~data_access.alerts.store.AlertStore.ingest_spool`, which the server's scheduled sync, ``gic sync
alerts`` and every handler that does get the cache run. NATS operations messages use the
same scheme (``WORKSPACE/incoming/operations/``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from analysis.operations import OperationsMessage, read_operations_message
from analysis.voevent import AlertRecord
from data_access.alerts.store import AlertStore, Receipt
from data_access.alerts.trigger_files import (
    _STAMP,
    AlertFolders,
    _utcnow,
    _write_atomically,
    parse_or_quarantine,
    spool_packet,
    update_trigger_file,
)
from data_access.cache import Cache, CacheError
from data_access.workspace import Workspace

log = logging.getLogger(__name__)


def open_cache_waiting(workspace: Workspace, wait_s: float) -> Cache | None:
    """The workspace's cache, retrying for ``wait_s`` seconds while it cannot be opened.

    Returns None (after logging why) if it still cannot after that.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return workspace.cache()
        except CacheError:
            if time.monotonic() >= deadline:
                log.exception("cannot open the cache of %s", workspace.root)
                return None
            time.sleep(0.05)


def receive_packet(
    workspace: Workspace, packet: bytes, *, source: str, received_at: datetime | None = None
) -> Receipt:
    """Receive one packet: quarantine or trigger file, then the cache, or the spool if it cannot be reached.

    Parameters
    ----------
    workspace : Workspace
    packet : bytes
        The packet as received.
    source : str
        Where it came from: ``comet``, ``kafka``, ``stdin``, ``files``.
    received_at : datetime, optional
        When it arrived (UTC); now by default.

    Raises
    ------
    QuarantinedPacketError
        If the packet is malformed or hostile (after it was quarantined).
    """
    received_at = received_at or _utcnow()
    folders = AlertFolders.from_workspace(workspace)
    record = parse_or_quarantine(
        packet,
        folders.quarantine,
        source=source,
        received_at=received_at,
        max_bytes=workspace.config.alerts.max_packet_kb * 1000,
    )
    trigger = update_trigger_file(folders.triggers, record, received_at, site=workspace.config.site)
    return keep_packet(
        workspace, record, packet, trigger=trigger, source=source, received_at=received_at
    )


def keep_packet(
    workspace: Workspace,
    record: AlertRecord,
    packet: bytes,
    *,
    trigger: Path | None,
    source: str,
    received_at: datetime,
) -> Receipt:
    """Store a parsed packet in the cache, or spool it when the cache cannot be reached
    (the last step of :func:`receive_packet`; the packet is never lost)."""
    folders = AlertFolders.from_workspace(workspace)
    cache = open_cache_waiting(workspace, workspace.config.alerts.cache_wait_s)
    if cache is None:
        spooled = spool_packet(folders.spool, packet, source=source, received_at=received_at)
        log.info("cache unreachable: %s spooled to %s", record.ivorn, spooled)
        return Receipt(record, trigger, spooled=spooled)
    with cache:
        store = AlertStore.from_workspace(workspace, cache)
        try:
            new = store.insert(record, packet, source=source, received_at=received_at)
        except duckdb.Error:  # never lose a packet: keep it for the next sync, with the cause
            log.exception("cannot store %s; spooling it", record.ivorn)
            spooled = spool_packet(folders.spool, packet, source=source, received_at=received_at)
            return Receipt(record, trigger, spooled=spooled)
        store.ingest_spool()
    return Receipt(record, trigger, stored=new, duplicate=not new)


def receive_operations_message(
    workspace: Workspace, subject: str, data: bytes, *, received_at: datetime | None = None
) -> OperationsMessage:
    """Record one NATS message in the cache, or spool it while the cache cannot be reached."""
    received_at = received_at or _utcnow()
    cache = open_cache_waiting(workspace, workspace.config.alerts.cache_wait_s)
    if cache is None:
        folder = AlertFolders.from_workspace(workspace).operations_spool
        body = {
            "subject": subject,
            "received_at": received_at.isoformat(),
            "data_b64": base64.b64encode(bytes(data)).decode("ascii"),
        }
        name = (
            f"{received_at.astimezone(UTC):{_STAMP}}_{hashlib.sha256(data).hexdigest()[:16]}.json"
        )
        _write_atomically(folder / name, json.dumps(body).encode("utf-8"))
        return read_operations_message(subject, data)
    with cache:
        return AlertStore.from_workspace(workspace, cache).record_operations_message(
            subject, data, received_at=received_at
        )
