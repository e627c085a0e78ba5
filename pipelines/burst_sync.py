"""A burst's sync: its images pulled from the export API into its frames folder, with the
masters in force the nights of the images beside them, ready for the Reprocess page.

Use::

    report = sync_burst("sb25120201", store=ReprocessStore.from_workspace(ws),
                        client=SdbClient.from_config(ws.config.sdb),
                        calibration=stores.calibration)
    sync_pending(store, client, calibration)   # the requests NATS messages and notices left
    sync_requested(stores)                     # the same, as the server's scheduled job

A sync holds the burst's lock (a second one at the same time raises
:class:`~data_access.gp2.burst_frames.SyncBusy`), removes what a killed sync left half
written, and downloads only what its ledger does not hold with the listed SHA-256 (the
bytes on disk checked again). A download whose SHA-256 is not the listed one is reported
and not kept. Progress goes to the folder's ``progress.json`` after every file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_access.calibration.store import CalibrationStore
from data_access.gp2.burst_frames import BurstFrames, SyncBusy, pending_requests
from data_access.gp2.runs import ReprocessError, ReprocessStore
from data_access.notifications import Notifier
from data_access.products.sdb_client import RemoteFile, SdbClient, SdbError, SdbUnavailable
from pipelines.reprocess import masters_at

log = logging.getLogger("gic.gp2.sync")


@dataclass
class SyncReport:
    """What one sync did: the files downloaded, those already here (checked), the SHA-256
    mismatches, the masters copied, and the half-written files removed."""

    burst_id: str
    folder: Path
    downloaded: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    masters: list[str] = field(default_factory=list)
    removed_partial: int = 0

    @property
    def state(self) -> str:
        """``ready`` when every listed image is here whole, else ``incomplete``."""
        return "incomplete" if any(": download" in m for m in self.mismatches) else "ready"

    def to_dict(self) -> dict[str, Any]:
        return {
            "burst_id": self.burst_id,
            "folder": str(self.folder),
            "state": self.state,
            "downloaded": self.downloaded,
            "verified": self.verified,
            "mismatches": self.mismatches,
            "masters": self.masters,
            "removed_partial": self.removed_partial,
        }

    def describe(self) -> str:
        text = (
            f"burst {self.burst_id}: {self.state}, {len(self.downloaded)} downloaded, "
            f"{len(self.verified)} already here, {len(self.masters)} masters copied"
        )
        return text + "".join(f"\n  checksum mismatch: {m}" for m in self.mismatches)


def sync_burst(
    burst_id: str,
    *,
    store: ReprocessStore,
    client: SdbClient,
    calibration: CalibrationStore | None = None,
    on_ready: Callable[[SyncReport], None] | None = None,
) -> SyncReport:
    """Bring a burst's images (and the masters in force for them) into its frames folder.

    Parameters
    ----------
    burst_id : str
    store : ReprocessStore
        Gives the folder of frame folders (``[gp2] input_dir``).
    client : SdbClient
        The export API.
    calibration : CalibrationStore, optional
        Where the masters come from; without it no master is copied.
    on_ready : callable(SyncReport), optional
        Called when the sync left the frames ready and wrote something new (the
        notification that the frames are ready).

    Raises
    ------
    SyncBusy
        If another process is syncing the burst.
    SdbError
        If the export API could not list or serve the images (recorded in the progress).
    """
    frames = BurstFrames(store.input_dir, burst_id)
    with frames.locked():
        report = SyncReport(burst_id, frames.folder, removed_partial=len(frames.remove_partial()))
        try:
            remote = client.search(burst_id, kind="images")
            frames.write_progress(state="downloading", done=0, total=len(remote))
            for done, item in enumerate(remote, start=1):
                _sync_one(frames, item, client, report)
                frames.write_progress(state="downloading", done=done, total=len(remote))
        except SdbError as exc:
            frames.write_progress(**report.to_dict() | {"state": "failed", "error": str(exc)})
            raise
        if calibration is not None and remote:
            report.masters = _copy_masters(frames, store, calibration)
        frames.write_progress(done=len(remote), total=len(remote), **report.to_dict())
    log.info("%s", report.describe())
    if on_ready and report.state == "ready" and (report.downloaded or report.masters):
        on_ready(report)
    return report


def _sync_one(frames: BurstFrames, item: RemoteFile, client: SdbClient, report: SyncReport):
    if frames.has("images", item.name, item.sha256):
        report.verified.append(item.name)
        return
    if frames.path("images", item.name).is_file():
        report.mismatches.append(f"{item.name}: the copy here does not match; downloaded again")
    content = client.download(item)
    got = hashlib.sha256(content).hexdigest()
    if got != item.sha256:
        report.mismatches.append(
            f"{item.name}: download has SHA-256 {got}, the export API lists {item.sha256}; not kept"
        )
        return
    frames.write("images", item.name, content)
    report.downloaded.append(item.name)


def _copy_masters(
    frames: BurstFrames, store: ReprocessStore, calibration: CalibrationStore
) -> list[str]:
    """Copy the masters in force the nights of the images into ``masters/``; returns the
    names of those written now."""
    try:
        images, _ = store.images(frames.folder)
    except ReprocessError as exc:
        log.warning("burst %s: no masters copied: %s", frames.burst_id, exc)
        return []
    chosen = set(masters_at(calibration, images)["master"]) - {""}
    known = calibration.masters()
    paths = {Path(p).name: Path(p) for p in known["path"]} if len(known) else {}
    written = []
    for name in sorted(chosen):
        path = paths.get(name)
        if path is None or not path.is_file():
            log.warning("burst %s: master %s is not on disk", frames.burst_id, name)
            continue
        content = path.read_bytes()
        if not frames.has("masters", name, hashlib.sha256(content).hexdigest()):
            frames.write("masters", name, content)
            written.append(name)
    return written


def sync_pending(
    store: ReprocessStore,
    client: SdbClient,
    calibration: CalibrationStore | None = None,
    *,
    on_ready: Callable[[SyncReport], None] | None = None,
) -> list[SyncReport]:
    """Run every sync requested (by a NATS message or a notice), oldest first.

    A request is removed once its sync ran (whatever it found); one whose burst is being
    synced by another process waits for the next turn, and when the export API does not
    answer every request left waits. A wait is logged once per request and reason
    (:data:`WAITS`), and its end once, not at every turn.
    """
    reports = []
    pending = pending_requests(store.input_dir)
    for number, (path, burst_id) in enumerate(pending):
        try:
            reports.append(
                sync_burst(
                    burst_id, store=store, client=client, calibration=calibration, on_ready=on_ready
                )
            )
        except SdbUnavailable as exc:  # the export API is down: every request waits
            for _, waiting in pending[number:]:
                WAITS.wait(store.input_dir, waiting, f"sync waits for the export API: {exc}")
            break
        except (SyncBusy, SdbError) as exc:
            WAITS.wait(store.input_dir, burst_id, f"sync waits: {exc}")
            continue
        WAITS.ended(store.input_dir, burst_id)
        path.unlink(missing_ok=True)
    return reports


class WaitLog:
    """The waits of the sync requests already logged, so that the background work logs a
    request's wait once (and again when its reason changes), then once that it ran, rather
    than at every turn while the export API is down."""

    def __init__(self) -> None:
        self._logged: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def wait(self, folder: Path, burst_id: str, reason: str) -> None:
        """Log that a request waits, unless it was logged waiting for the same reason."""
        key, kind = (str(folder), burst_id), reason.split(":", 1)[0]
        with self._lock:
            if self._logged.get(key) == kind:
                return
            self._logged[key] = kind
        log.warning("burst %s: %s (logged once until it runs)", burst_id, reason)

    def ended(self, folder: Path, burst_id: str) -> None:
        """Log that a request logged waiting ran at last."""
        with self._lock:
            waited = self._logged.pop((str(folder), burst_id), None)
        if waited is not None:
            log.info("burst %s: the sync that waited (%s) ran", burst_id, waited)


#: The one :class:`WaitLog` of the process (the background work runs in one process).
WAITS = WaitLog()


def sync_requested(stores) -> dict[str, SyncReport]:
    """The server's scheduled job: the syncs requested, with the workspace's export API,
    calibration store and notifications; ``{"burst sync <ID>": report}``.

    The client makes one attempt per request (no retry): a request the export API did not
    answer stays and is tried again at the next turn, and the server's other jobs never
    wait on a back-off."""
    workspace = stores.workspace
    client = SdbClient.from_config(dataclasses.replace(workspace.config.sdb, retries=0))
    notifier = Notifier.from_workspace(workspace)
    try:
        reports = sync_pending(
            ReprocessStore.from_workspace(workspace),
            client,
            stores.calibration,
            on_ready=lambda report: tell_frames_ready(notifier, report),
        )
    finally:
        client.close()
    return {f"burst sync {report.burst_id}": report for report in reports}


def progress_line(progress: dict[str, Any] | None) -> str:
    """The Reprocess page's line of a burst's sync progress (plain text), or ''."""
    if not progress:
        return ""
    state, done, total = progress.get("state", "?"), progress.get("done", 0), progress.get("total")
    text = f"sync of {progress.get('burst_id', '?')}: {state}, {done}/{total} images"
    if progress.get("mismatches"):
        text += f", {len(progress['mismatches'])} checksum mismatch(es)"
    if progress.get("error"):
        text += f" ({progress['error']})"
    return text + f" (updated {str(progress.get('updated', ''))[:19]} UTC)"


def tell_frames_ready(notifier: Notifier, report: SyncReport) -> None:
    """Tell that a burst's frames are ready for reprocessing (notification ``frames_ready``)."""
    text = (
        f"frames of burst {report.burst_id} ready for reprocessing: "
        f"{len(report.downloaded) + len(report.verified)} images, "
        f"{len(report.masters)} masters new, in {report.folder}"
    )
    notifier.raise_event("frames_ready", text)
