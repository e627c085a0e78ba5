"""A burst's frames folder as the export API fills it: its images, its masters, the ledger
of what was downloaded, the progress of the sync, its lock, and the requests to sync.

The folder is ``<[gp2] input_dir>/<burst>/``, the one the Reprocess page lists::

    raw/           the burst's images (the page reads a folder's raw/ when it has one)
    masters/       the masters in force the nights of the images
    ledger.json    name -> {"sha256", "size"} of every file written whole
    progress.json  the state of the last sync (read by the page)
    .sync.lock     held while a sync runs (one at a time per burst)

Every file is written through :func:`~data_access.safe_files.open_atomic`: a sync killed
mid-file leaves at most a hidden ``.*.part`` file, never counted and removed by the next
sync. The requests a NATS message or a notice leaves for the background process are
small files in ``<input_dir>/.sync-requests/``, one per burst.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from data_access.safe_files import open_atomic, safe_file_stem, write_atomic

REQUESTS = ".sync-requests"
#: The sub-folder of each kind of file a sync writes.
KIND_FOLDERS = {"images": "raw", "masters": "masters"}


class SyncBusy(RuntimeError):
    """Another process is syncing this burst; the message names the lock file."""


class BurstFrames:
    """One burst's frames folder.

    Parameters
    ----------
    input_dir : Path
        The folder of frame folders (``[gp2] input_dir``).
    burst_id : str
        The burst, as its alerts name it (made safe for a file name).
    """

    def __init__(self, input_dir: Path, burst_id: str) -> None:
        if not burst_id:
            raise ValueError("a burst ID is needed")
        self.burst_id = burst_id
        self.folder = Path(input_dir) / safe_file_stem(burst_id)

    def path(self, kind: str, name: str) -> Path:
        """Where a file of ``kind`` (images, masters) named ``name`` lies."""
        return self.folder / KIND_FOLDERS[kind] / safe_file_stem(name)

    # -- the ledger ---------------------------------------------------------------------
    @property
    def ledger_path(self) -> Path:
        return self.folder / "ledger.json"

    def ledger(self) -> dict[str, dict[str, Any]]:
        """``kind/name`` -> ``{"sha256", "size"}`` of each file written whole."""
        if not self.ledger_path.is_file():
            return {}
        try:
            return json.loads(self.ledger_path.read_text())
        except (ValueError, OSError) as exc:
            raise ValueError(f"{self.ledger_path}: not a readable ledger: {exc}") from exc

    def has(self, kind: str, name: str, sha256: str) -> bool:
        """Whether the file is here whole with that SHA-256 (its bytes checked again)."""
        entry = self.ledger().get(f"{kind}/{name}")
        path = self.path(kind, name)
        return bool(entry and entry["sha256"] == sha256 and path.is_file()) and (
            file_sha256(path) == sha256
        )

    def write(self, kind: str, name: str, content: bytes) -> Path:
        """Write one file atomically, then record it in the ledger."""
        path = self.path(kind, name)
        with open_atomic(path.parent, path.name) as out:
            out.write(content)
        ledger = self.ledger()
        ledger[f"{kind}/{name}"] = {
            "sha256": hashlib.sha256(content).hexdigest(),
            "size": len(content),
        }
        write_atomic(self.folder, self.ledger_path.name, json.dumps(ledger, indent=1).encode())
        return path

    def remove_partial(self) -> list[Path]:
        """Remove the ``.*.part`` files a killed sync left; returns them."""
        removed = []
        for folder in KIND_FOLDERS.values():
            for part in (self.folder / folder).glob(".*.part"):
                part.unlink(missing_ok=True)
                removed.append(part)
        return removed

    # -- progress -----------------------------------------------------------------------
    @property
    def progress_path(self) -> Path:
        return self.folder / "progress.json"

    def write_progress(self, **state: Any) -> None:
        """Record the sync's state (with the time) for the Reprocess page."""
        state = {"burst_id": self.burst_id, "updated": datetime.now(UTC).isoformat(), **state}
        write_atomic(self.folder, self.progress_path.name, json.dumps(state).encode())

    def progress(self) -> dict[str, Any] | None:
        """The last sync's state, or None when the burst was never synced."""
        return read_progress(self.folder)

    # -- the lock -----------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the burst's lock for the block.

        Raises
        ------
        SyncBusy
            If another process holds it.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = self.folder / ".sync.lock"
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise SyncBusy(f"{lock}: burst {self.burst_id} is being synced") from exc
            yield
        finally:
            os.close(fd)


def read_progress(folder: Path) -> dict[str, Any] | None:
    """The state of the last sync of a frames folder (its ``progress.json``), or None."""
    try:
        state = json.loads((Path(folder) / "progress.json").read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- requests --------------------------------------------------------------------------------
def request_sync(input_dir: Path, burst_id: str, *, reason: str) -> Path:
    """Ask the background process to sync a burst (a second request replaces the first)."""
    body = {"burst_id": burst_id, "reason": reason, "at": datetime.now(UTC).isoformat()}
    folder = Path(input_dir) / REQUESTS
    return write_atomic(folder, f"{safe_file_stem(burst_id)}.json", json.dumps(body).encode())


def pending_requests(input_dir: Path) -> list[tuple[Path, str]]:
    """The requests waiting, oldest first: (file, burst ID); unreadable ones are skipped."""
    folder = Path(input_dir) / REQUESTS
    found = []
    paths = (
        sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    )
    for path in paths:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            found.append((path, str(json.loads(path.read_text())["burst_id"])))
    return found
