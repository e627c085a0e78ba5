"""The file steps of the alert chain, light enough to run before anything heavy is imported.

``gic-alert-handler`` runs once per packet; it parses the packet, quarantines it or writes
the trigger file with only this module, :mod:`analysis.voevent` (VOEvents),
:mod:`analysis.gcn_notice` (GCN JSON notices) and the settings loaded,
so the telescope's trigger is on disk about a tenth of a second after the packet arrives.
Only then does it import the cache (DuckDB, pandas) to store the packet
(see :mod:`data_access.alerts.receive`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from analysis.gcn_notice import packet_kind, parse_notice
from analysis.trigger_file import next_trigger_text, trigger_file_name
from analysis.voevent import AlertRecord, VOEventError
from data_access.config import Config
from data_access.safe_files import write_atomic

log = logging.getLogger(__name__)

_STAMP = "%Y%m%dT%H%M%S%fZ"
#: The file suffix of a kept packet, by :func:`analysis.gcn_notice.packet_kind`.
PACKET_SUFFIXES: dict[str, str] = {"xml": ".xml", "json": ".json", "unknown": ".bin"}


class QuarantinedPacketError(VOEventError):
    """A packet that could not be used; it was kept in the quarantine folder (``path``)."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class AlertFolders:
    """The folders of the alert chain (see ``[alerts]`` in ``gic.toml``)."""

    triggers: Path
    quarantine: Path
    spool: Path
    operations_spool: Path

    @classmethod
    def from_workspace(cls, workspace) -> AlertFolders:
        """The folders named in a :class:`~data_access.workspace.Workspace`'s settings."""
        return cls.from_root(workspace.root, workspace.config)

    @classmethod
    def from_root(cls, root: Path, config: Config) -> AlertFolders:
        """The folders named in the ``[alerts]`` settings of the workspace at ``root``,
        created if missing. The triggers and quarantine folders may be absolute paths;
        the spool folders lie inside the workspace."""
        alerts = config.alerts
        return cls(
            triggers=_folder(root, alerts.triggers_dir, outside_ok=True),
            quarantine=_folder(root, alerts.quarantine_dir, outside_ok=True),
            spool=_folder(root, alerts.spool_dir),
            operations_spool=_folder(root, alerts.nats.spool_dir),
        )


def _folder(root: Path, value: str, *, outside_ok: bool = False) -> Path:
    given = Path(value).expanduser()
    folder = given if given.is_absolute() and outside_ok else (Path(root) / given).resolve()
    if not outside_ok and not folder.is_relative_to(Path(root).resolve()):
        raise ValueError(f"{root}/gic.toml: folder '{value}' lies outside the workspace")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# -- files: quarantine, triggers, spool -------------------------------------------------
def _utcnow() -> datetime:
    return datetime.now(UTC)


def _naive_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _write_atomically(path: Path, data: bytes) -> None:
    """All of ``data`` or nothing, and no temporary file left behind when the write fails
    (a full disk): :func:`data_access.safe_files.write_atomic`."""
    write_atomic(path.parent, path.name, data)


def quarantine_packet(
    quarantine_dir: Path, packet: bytes, reason: str, *, source: str, received_at: datetime
) -> Path:
    """Keep a refused packet aside: ``<time>_<sha>.xml`` (``.json`` for a JSON document,
    ``.bin`` for one that is neither) and ``<time>_<sha>.reason`` beside it.

    Returns
    -------
    Path
        The quarantined copy of the packet.
    """
    digest = hashlib.sha256(packet).hexdigest()
    stem = f"{received_at.astimezone(UTC):{_STAMP}}_{digest[:16]}"
    path = Path(quarantine_dir) / f"{stem}{PACKET_SUFFIXES[packet_kind(packet)]}"
    _write_atomically(path, bytes(packet))
    note = (
        f"reason = {reason}\nsource = {source}\nreceived = {received_at.isoformat()}\n"
        f"size = {len(packet)}\nsha256 = {digest}\n"
    )
    _write_atomically(path.with_suffix(".reason"), note.encode("utf-8"))
    log.info("quarantined packet from %s as %s: %s", source, path, reason)
    return path


def parse_or_quarantine(
    packet: bytes, quarantine_dir: Path, *, source: str, received_at: datetime, max_bytes: int
) -> AlertRecord:
    """Parse a packet (VOEvent or GCN JSON notice: :func:`analysis.gcn_notice.parse_notice`),
    or quarantine it and raise :class:`QuarantinedPacketError`."""
    try:
        return parse_notice(packet, max_bytes=max_bytes)
    except VOEventError as exc:
        path = quarantine_packet(
            quarantine_dir, packet, str(exc), source=source, received_at=received_at
        )
        raise QuarantinedPacketError(f"{exc} (kept as {path})", path) from exc


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with open(Path(folder) / ".trigger.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def update_trigger_file(
    triggers_dir: Path, record: AlertRecord, received_at: datetime, *, site=None
) -> Path | None:
    """Write or rewrite ``trigger_<burstid>.dat`` for a packet (see
    :func:`analysis.voevent.next_trigger_text` for which packet the file shows), then log the
    write and add the burst's observability from ``site`` (a ``SiteConfig``; None adds none:
    :func:`data_access.alerts.trigger_extras.after_trigger_write`).

    Returns
    -------
    Path or None
        The trigger file, or None for a packet without burst ID (no file is written).
    """
    if record.burst_id is None:
        return None
    path = Path(triggers_dir) / trigger_file_name(record.burst_id)
    with _locked(triggers_dir):
        existing = path.read_text(encoding="utf-8") if path.exists() else None
        text = next_trigger_text(existing, record, received=received_at)
        if text is not None:
            _write_atomically(path, text.encode("utf-8"))
            from data_access.alerts.trigger_extras import after_trigger_write  # heavy, after

            after_trigger_write(path, record.ivorn, received_at, site=site)
    return path


def spool_packet(spool_dir: Path, packet: bytes, *, source: str, received_at: datetime) -> Path:
    """Keep a parsed packet for a later ingest: ``<time>_<source>_<sha>.xml`` (``.json`` for
    a JSON notice), atomically."""
    digest = hashlib.sha256(packet).hexdigest()[:16]
    safe_source = "".join(c if c.isascii() and c.isalnum() else "-" for c in source)[:40]
    suffix = PACKET_SUFFIXES[packet_kind(packet)]
    path = (
        Path(spool_dir) / f"{received_at.astimezone(UTC):{_STAMP}}_{safe_source}_{digest}{suffix}"
    )
    _write_atomically(path, bytes(packet))
    return path
