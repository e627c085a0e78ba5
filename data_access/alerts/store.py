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
drained by :meth:`AlertStore.ingest_spool`, which the server's scheduled sync, ``gic sync
alerts`` and every handler that does get the cache run. NATS operations messages use the
same scheme (``WORKSPACE/incoming/operations/``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from analysis.gcn_notice import packet_kind, parse_notice
from analysis.operations import OperationsMessage, read_operations_message
from analysis.trigger_file import trigger_file_name
from analysis.voevent import AlertRecord, VOEventError, record_differences
from data_access.alerts.trigger_files import (  # noqa: F401 - re-exported: the chain's file steps
    _STAMP,
    AlertFolders,
    QuarantinedPacketError,
    _naive_utc,
    _utcnow,
    _write_atomically,
    parse_or_quarantine,
    quarantine_packet,
    spool_packet,
    update_trigger_file,
)
from data_access.cache import Cache, CacheError, next_id
from data_access.gp2.burst_frames import request_sync
from data_access.notifications import Notifier
from data_access.workspace import Workspace

log = logging.getLogger(__name__)

#: How many differences a conflicting packet's reason names.
MAX_DIFFERENCES_NAMED = 8


class ConflictingPacketError(QuarantinedPacketError):
    """A packet whose ivorn was stored before with other content; it was quarantined."""


@dataclass(frozen=True)
class Receipt:
    """What receiving one packet did."""

    record: AlertRecord
    trigger_file: Path | None = None
    stored: bool = False
    duplicate: bool = False
    spooled: Path | None = None

    def describe(self) -> str:
        where = (
            f"spooled to {self.spooled} (cache unreachable)"
            if self.spooled
            else "duplicate, counted"
            if self.duplicate
            else "stored"
        )
        trigger = f", trigger {self.trigger_file.name}" if self.trigger_file else ", no burst ID"
        return f"{self.record.ivorn}: {where}{trigger}"


@dataclass
class SpoolSummary:
    """What draining a spool folder did."""

    stored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    messages: int = 0

    def describe(self) -> str:
        return (
            f"{len(self.stored)} stored, {len(self.duplicates)} duplicates, "
            f"{len(self.quarantined)} quarantined; {self.messages} operations messages"
        )


def _spool_meta(path: Path) -> tuple[datetime, str]:
    stamp, source, _ = path.stem.split("_", 2)
    return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC), source


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


# -- the handler path -------------------------------------------------------------------
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


# -- the store ----------------------------------------------------------------------------
_ALERT_COLUMNS = (
    "ivorn",
    "role",
    "version",
    "author",
    "packet_date",
    "packet_type",
    "mission",
    "instrument",
    "burst_id",
    "event_id",
    "t0",
    "t0_mjd",
    "ra",
    "dec",
    "error_deg",
    "retraction",
    "params",
    "units",
    "description",
    "raw_xml",
    "sha256",
    "source",
    "received_at",
    "duplicates",
    "last_duplicate_at",
)
_RETRACTED = """coalesce(
    a.ivorn IN (SELECT cited_ivorn FROM alert_citation WHERE cite = 'retraction')
    OR a.burst_id IN (SELECT burst_id FROM alert WHERE retraction AND burst_id IS NOT NULL),
    FALSE
)"""


class AlertStore:
    """Alert packets in the cache, their trigger files, quarantine and the operations feed.

    Parameters
    ----------
    cache : Cache
    triggers_dir : Path
        Folder of ``trigger_<burstid>.dat`` files.
    quarantine_dir : Path
        Folder keeping refused packets and their reasons.
    spool_dir, operations_spool_dir : Path, optional
        Folders of packets and messages received while the cache could not be reached.
    max_packet_bytes : int, optional
        Largest packet accepted.
    site : SiteConfig, optional
        The telescope's site, for the observability in the trigger files (``[site]``).
    notifier : Notifier, optional
        Told of each new burst and retraction stored (``[notifications]``).
    frames_dir : Path, optional
        Folder of frame folders (``[gp2] input_dir``): each new notice naming a burst asks
        there for the sync of its frames (:func:`~data_access.gp2.burst_frames.request_sync`).
    """

    def __init__(
        self,
        cache: Cache,
        triggers_dir: Path,
        quarantine_dir: Path,
        *,
        spool_dir: Path | None = None,
        operations_spool_dir: Path | None = None,
        max_packet_bytes: int = 1_000_000,
        site=None,
        notifier: Notifier | None = None,
        frames_dir: Path | None = None,
    ) -> None:
        self.cache = cache
        self.notifier = notifier
        self.frames_dir = frames_dir
        self.triggers_dir = Path(triggers_dir)
        self.quarantine_dir = Path(quarantine_dir)
        self.spool_dir = spool_dir
        self.operations_spool_dir = operations_spool_dir
        self.max_packet_bytes = max_packet_bytes
        self.site = site
        for folder in (self.triggers_dir, self.quarantine_dir):
            folder.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_workspace(cls, workspace: Workspace, cache: Cache) -> AlertStore:
        """The store of a workspace, with the folders of its ``[alerts]`` settings."""
        folders = AlertFolders.from_workspace(workspace)
        return cls(
            cache,
            folders.triggers,
            folders.quarantine,
            spool_dir=folders.spool,
            operations_spool_dir=folders.operations_spool,
            max_packet_bytes=workspace.config.alerts.max_packet_kb * 1000,
            site=workspace.config.site,
            notifier=Notifier.from_workspace(workspace),
            frames_dir=workspace.path(workspace.config.gp2.input_dir),
        )

    # -- writing -------------------------------------------------------------------------
    def store(
        self, packet: bytes, *, source: str = "files", received_at: datetime | None = None
    ) -> Receipt:
        """Parse (or quarantine), update the trigger file and store one packet.

        Raises
        ------
        QuarantinedPacketError
            If the packet is malformed or hostile; it was quarantined and nothing else written.
        """
        received_at = received_at or _utcnow()
        record = parse_or_quarantine(
            packet,
            self.quarantine_dir,
            source=source,
            received_at=received_at,
            max_bytes=self.max_packet_bytes,
        )
        trigger = update_trigger_file(self.triggers_dir, record, received_at, site=self.site)
        new = self.insert(record, packet, source=source, received_at=received_at)
        return Receipt(record, trigger, stored=new, duplicate=not new)

    def store_files(
        self, paths: list[Path], *, source: str = "files"
    ) -> tuple[list[Receipt], list[str]]:
        """Store packets read from files (the demo's real packets, a replay).

        Returns
        -------
        receipts, refused : list of Receipt, list of str
            One receipt per packet stored or counted duplicate; one line per refused file.
        """
        receipts, refused = [], []
        for path in paths:
            try:
                receipts.append(self.store(Path(path).read_bytes(), source=source))
            except QuarantinedPacketError as exc:
                refused.append(f"{path}: {exc}")
        return receipts, refused

    def insert(
        self, record: AlertRecord, packet: bytes, *, source: str, received_at: datetime
    ) -> bool:
        """Put a parsed packet in the cache; True if new, False if its ivorn was there (counted).

        Raises
        ------
        ConflictingPacketError
            If the ivorn was stored before with content that says something else (the
            packet is quarantined, the reason names each difference; the first one stays).
        """
        received = _naive_utc(received_at)
        with self.cache.transaction() as con:
            seen = con.execute(
                "SELECT received_at, sha256, raw_xml FROM alert WHERE ivorn = ?", [record.ivorn]
            ).fetchone()
            differences = [] if seen is None else self._differences(seen, record, packet)
            if seen is not None and not differences:
                if seen[0] != received:  # the same spooled packet again is not a duplicate
                    con.execute(
                        "UPDATE alert SET duplicates = duplicates + 1, last_duplicate_at = ? "
                        "WHERE ivorn = ?",
                        [received, record.ivorn],
                    )
                return False
            if seen is None:
                self._insert_new(con, record, packet, source, received)
                first = con.execute(
                    "SELECT count(*) = 1 FROM alert WHERE burst_id = ?", [record.burst_id]
                ).fetchone()[0]
        if seen is None:
            if self.notifier is not None:
                self.notifier.packet_stored(record, new_burst=bool(first))
            if self.frames_dir is not None and record.burst_id and not record.retraction:
                request_sync(self.frames_dir, record.burst_id, reason=f"notice {record.ivorn}")
            return True
        named = "; ".join(differences[:MAX_DIFFERENCES_NAMED])
        more = len(differences) - MAX_DIFFERENCES_NAMED
        reason = (
            f"{record.ivorn} was received before ({seen[0]:%Y-%m-%dT%H:%M:%S}Z) with other "
            f"content: {named}{f'; and {more} more' if more > 0 else ''}"
        )
        path = quarantine_packet(
            self.quarantine_dir, packet, reason, source=source, received_at=received_at
        )
        raise ConflictingPacketError(f"{reason} (kept as {path})", path)

    def _differences(self, seen: tuple, record: AlertRecord, packet: bytes) -> list[str]:
        """What a packet says differently from the stored one of its ivorn (empty: the same)."""
        if seen[1] == hashlib.sha256(packet).hexdigest():
            return []
        try:
            stored = parse_notice(bytes(seen[2]), max_bytes=len(seen[2]) + 1)
        except VOEventError as exc:  # the stored copy no longer parses: say so
            return [f"the stored copy cannot be read again ({exc})"]
        return record_differences(stored, record)

    def _insert_new(
        self, con, record: AlertRecord, packet: bytes, source: str, received: datetime
    ) -> None:
        row = self._row(record, packet, source, received)
        placeholders = ", ".join("?" for _ in _ALERT_COLUMNS)
        con.execute(f"INSERT INTO alert ({', '.join(_ALERT_COLUMNS)}) VALUES ({placeholders})", row)
        if record.citations:
            con.executemany(
                "INSERT INTO alert_citation VALUES (?, ?, ?)",
                [[record.ivorn, c.ivorn, c.cite] for c in record.citations],
            )

    @staticmethod
    def _row(record: AlertRecord, packet: bytes, source: str, received: datetime) -> list:
        return [
            record.ivorn,
            record.role,
            record.version,
            record.author,
            _naive_utc(record.date),
            record.packet_type,
            record.mission,
            record.instrument,
            record.burst_id,
            record.event_id,
            _naive_utc(record.t0),
            record.t0_mjd,
            record.ra_deg,
            record.dec_deg,
            record.error_deg,
            record.retraction,
            json.dumps(record.params),
            json.dumps(record.units),
            record.description,
            bytes(packet),
            hashlib.sha256(packet).hexdigest(),
            source,
            received,
            0,
            None,
        ]

    def ingest_spool(self) -> SpoolSummary:
        """Store the packets and messages spooled while the cache could not be reached, then delete them."""
        summary = SpoolSummary()
        if self.spool_dir is not None and Path(self.spool_dir).is_dir():
            spooled = [*Path(self.spool_dir).glob("[0-9]*.xml")]
            spooled += Path(self.spool_dir).glob("[0-9]*.json")
            for path in sorted(spooled):
                self._ingest_spooled_packet(path, summary)
        if self.operations_spool_dir is not None and Path(self.operations_spool_dir).is_dir():
            for path in sorted(Path(self.operations_spool_dir).glob("[0-9]*.json")):
                body = json.loads(path.read_text(encoding="utf-8"))
                self.record_operations_message(
                    body["subject"],
                    base64.b64decode(body["data_b64"]),
                    received_at=datetime.fromisoformat(body["received_at"]),
                )
                path.unlink()
                summary.messages += 1
        return summary

    def _ingest_spooled_packet(self, path: Path, summary: SpoolSummary) -> None:
        received_at, source = _spool_meta(path)
        packet = path.read_bytes()
        try:
            record = parse_or_quarantine(
                packet,
                self.quarantine_dir,
                source=source,
                received_at=received_at,
                max_bytes=self.max_packet_bytes,
            )
        except QuarantinedPacketError:
            summary.quarantined.append(path.name)
            path.unlink()
            return
        try:
            new = self.insert(record, packet, source=source, received_at=received_at)
        except ConflictingPacketError:
            summary.quarantined.append(path.name)
        else:
            (summary.stored if new else summary.duplicates).append(record.ivorn)
        path.unlink()

    def record_operations_message(
        self, subject: str, data: bytes, *, received_at: datetime | None = None
    ) -> OperationsMessage:
        """Record one NATS operations message (a malformed one too, with its error)."""
        message = read_operations_message(subject, data)
        if message.error:
            log.warning("malformed operations message on %s: %s", subject, message.error)
        with self.cache.transaction() as con:
            con.execute(
                "INSERT INTO operations_message VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    next_id(con, "operations_message", "message_id"),
                    subject,
                    _naive_utc(received_at or _utcnow()),
                    message.kind,
                    message.burst_id,
                    message.text,
                    None if message.payload is None else json.dumps(message.payload),
                    message.error,
                ],
            )
        return message

    # -- reading -------------------------------------------------------------------------
    def alerts(
        self, *, limit: int | None = None, burst_id: str | None = None, include_tests: bool = True
    ) -> pd.DataFrame:
        """Alerts newest first (by packet date, then arrival), one row per packet.

        Columns: ivorn, role, burst_id, event_id, t0 (UTC), t0_mjd, ra, dec, error_deg (deg),
        mission, instrument, packet_type, author, packet_date, received_at, source,
        duplicates, retraction (this packet retracts others), retracted (the packet or its
        burst has been retracted), test (role is 'test').
        """
        where, params = ["TRUE"], []
        if burst_id is not None:
            where.append("a.burst_id = ?")
            params.append(burst_id)
        if not include_tests:
            where.append("a.role <> 'test'")
        sql = f"""
            SELECT a.ivorn, a.role, a.burst_id, a.event_id, a.t0, a.t0_mjd, a.ra, a.dec,
                   a.error_deg, a.mission, a.instrument, a.packet_type, a.author, a.packet_date,
                   a.received_at, a.source, a.duplicates, a.retraction,
                   {_RETRACTED} AS retracted, a.role = 'test' AS test
            FROM alert a WHERE {" AND ".join(where)}
            ORDER BY coalesce(a.packet_date, a.received_at) DESC, a.received_at DESC, a.ivorn
        """
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return self.cache.query_df(sql, params)

    def last_change(self) -> tuple[int, int, int]:
        """A cheap fingerprint of the alerts and the feed, for a page that polls:
        (alerts stored, duplicates counted, operations messages); it changes when any does."""
        alerts, duplicates = self.cache.execute(
            "SELECT count(*), coalesce(sum(duplicates), 0) FROM alert"
        )[0]
        (messages,) = self.cache.execute("SELECT count(*) FROM operations_message")[0]
        return int(alerts), int(duplicates), int(messages)

    def alert(self, ivorn: str) -> dict | None:
        """One alert in full: every column, ``params``/``units`` as dicts, the document as
        received (``raw_xml``: the VOEvent XML or the JSON notice, as text; ``notice_format``
        says which), its citations, and the ivorns of the packets that retract it; None if
        unknown."""
        frame = self.cache.query_df(
            f"SELECT a.*, {_RETRACTED} AS retracted FROM alert a WHERE a.ivorn = ?", [ivorn]
        )
        if frame.empty:
            return None
        detail = frame.iloc[0].to_dict()
        detail["params"] = json.loads(detail["params"])
        detail["units"] = json.loads(detail["units"])
        detail["notice_format"] = (
            "json" if packet_kind(bytes(detail["raw_xml"])) == "json" else "voevent"
        )
        detail["raw_xml"] = bytes(detail["raw_xml"]).decode("utf-8", errors="replace")
        detail["citations"] = self.cache.query_df(
            "SELECT cited_ivorn AS ivorn, cite FROM alert_citation WHERE ivorn = ?", [ivorn]
        ).to_dict("records")
        detail["retracted_by"] = [
            row[0]
            for row in self.cache.execute(
                "SELECT c.ivorn FROM alert_citation c WHERE c.cite = 'retraction' AND "
                "c.cited_ivorn = ? UNION SELECT r.ivorn FROM alert r WHERE r.retraction AND "
                "r.burst_id IS NOT NULL AND r.burst_id = ? ORDER BY 1",
                [ivorn, detail["burst_id"]],
            )
        ]
        return detail

    def bursts(self) -> pd.DataFrame:
        """One row per SVOM burst, newest first: burst_id, packets, first and last packet dates,
        the smallest real error radius (deg; a zero or negative one means no position) and
        whether it was retracted."""
        return self.cache.query_df(
            """
            SELECT burst_id, count(*) AS packets, min(packet_date) AS first_packet,
                   max(packet_date) AS last_packet,
                   min(error_deg) FILTER (WHERE error_deg > 0) AS best_error_deg,
                   bool_or(retraction) AS retracted
            FROM alert WHERE burst_id IS NOT NULL
            GROUP BY burst_id ORDER BY last_packet DESC NULLS LAST, burst_id DESC
            """
        )

    def trigger_file(self, burst_id: str) -> Path | None:
        """The burst's trigger file, if one was written."""
        path = self.triggers_dir / trigger_file_name(burst_id)
        return path if path.exists() else None

    def quarantined(self) -> pd.DataFrame:
        """Packets in quarantine, newest first: file, reason, source, received, size (bytes)."""
        rows = []
        for note in sorted(self.quarantine_dir.glob("*.reason"), reverse=True):
            values = dict(
                line.split(" = ", 1)
                for line in note.read_text(encoding="utf-8").splitlines()
                if " = " in line
            )
            kept = [p for p in note.parent.glob(f"{note.stem}.*") if p.suffix != ".reason"]
            rows.append({"file": str(kept[0] if kept else note.with_suffix(".xml")), **values})
        return pd.DataFrame(
            rows, columns=["file", "reason", "source", "received", "size", "sha256"]
        )

    def operations_messages(self, *, limit: int = 200) -> pd.DataFrame:
        """The NATS operations feed, newest first: message_id, subject, received_at, kind,
        burst_id, text, payload (JSON text), error."""
        return self.cache.query_df(
            "SELECT * FROM operations_message ORDER BY received_at DESC, message_id DESC LIMIT ?",
            [int(limit)],
        )
