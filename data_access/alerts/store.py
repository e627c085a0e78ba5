"""The alert store: packets into the cache, the spool drained, the operations messages recorded.

The path one packet takes from a source to here (trigger file first, the spool while the
cache cannot be reached) is :mod:`data_access.alerts.receive`; the reading is
:class:`~data_access.alerts.queries.AlertQueries`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from analysis.gcn_notice import parse_notice
from analysis.operations import OperationsMessage, read_operations_message
from analysis.voevent import AlertRecord, VOEventError, record_differences
from data_access.alerts.queries import AlertQueries
from data_access.alerts.trigger_files import (
    _STAMP,
    AlertFolders,
    QuarantinedPacketError,
    _naive_utc,
    _utcnow,
    parse_or_quarantine,
    quarantine_packet,
    update_trigger_file,
)
from data_access.cache import Cache, next_id
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


class AlertStore(AlertQueries):
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
