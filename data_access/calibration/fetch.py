"""A night's calibration frames brought from the CDB into the night's raw folder.

Each link (:class:`~analysis.calibration.links.FrameLink`) is downloaded over HTTP, with a
timeout, retries and a few downloads at once, or copied from the CDB's storage mounted at
its path. A frame goes to ``.<name>.part`` beside its final name first and is renamed only
once complete and checked (its size and checksum, when the link gives them), then the
folder is flushed: a process killed mid-download leaves a hidden ``.part`` file, never a
frame that the night's run would count. The next fetch resumes a ``.part`` file where it
stopped (an HTTP range request) or starts it again. A frame already there with the right
size and checksum is skipped; one that cannot be had is reported and the others go on.
Two fetches of one night do not overlap: the second waits for the first.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO

import requests

from analysis.calibration.links import FRAME_SUFFIXES, FrameLink
from data_access.cdb.http import AttemptFailed, request_failure, status_failure, with_retries
from data_access.config import CalibrationConfig, CalibrationNightlyConfig
from data_access.redact import redact_url
from data_access.safe_files import sync_folder

Progress = Callable[[int, int], None]

#: Bytes read and written at a time.
CHUNK_BYTES = 1 << 18

#: What :meth:`FrameFetcher.fetch_one` says of a frame.
FETCHED, PRESENT = "fetched", "present"


class FrameFetchError(RuntimeError):
    """A frame that cannot be had; the message names it, where it was and why."""


@dataclass
class FetchSummary:
    """What a fetch did: frames ``fetched``, ``present`` already, ``failed`` with reasons."""

    fetched: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"{len(self.fetched)} fetched, {len(self.present)} already there, "
            f"{len(self.failed)} failed"
        )


def night_raw_folder(root: Path, config: CalibrationConfig, night: date) -> Path:
    """The raw folder of ``night`` under the workspace ``root`` (``raw_dir/night_folder``)."""
    return Path(root) / config.raw_dir / config.night_folder.format(night=f"{night:%Y%m%d}")


def part_path(folder: Path, name: str) -> Path:
    """Where a frame is written until it is complete and checked (hidden, never counted)."""
    return Path(folder) / f".{name}.part"


def file_checksum(path: Path, algorithm: str) -> str:
    """``algorithm:hex`` of a file's bytes (``sha256`` or ``md5``)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return f"{algorithm}:{digest.hexdigest()}"


def check_frame(path: Path, link: FrameLink) -> str | None:
    """What is wrong with ``path`` as the frame of ``link`` (size, checksum), or None."""
    size = path.stat().st_size
    if link.size_bytes is not None and size != link.size_bytes:
        return f"size {size} bytes, the CDB gives {link.size_bytes}"
    if link.checksum is not None:
        found = file_checksum(path, link.checksum.split(":", 1)[0])
        if found != link.checksum:
            return f"checksum mismatch: {found}, the CDB gives {link.checksum}"
    return None


@contextlib.contextmanager
def night_lock(folder: Path) -> Iterator[None]:
    """Held while a night's frames are fetched: a second fetch of the night (the background
    run and a command) waits for the first, then finds its frames there."""
    with open(folder.parent / f".{folder.name}.fetch-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class FrameFetcher:
    """Downloads and copies of calibration frames into one folder.

    Parameters
    ----------
    folder : Path
        The night's raw folder (made when missing).
    config : CalibrationNightlyConfig
        ``download_timeout_s``, ``download_retries``, ``download_backoff_s``,
        ``download_parallel``.
    sleep : callable(seconds), optional
        Waits between attempts (tests pass a recorder).
    """

    def __init__(
        self,
        folder: Path,
        config: CalibrationNightlyConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        c = config
        if c.download_retries < 0 or c.download_timeout_s <= 0 or c.download_parallel < 1:
            raise ValueError(
                "calibration.nightly needs download_retries >= 0, download_timeout_s > 0 and "
                f"download_parallel >= 1, got {c.download_retries}, {c.download_timeout_s}, "
                f"{c.download_parallel}"
            )
        self.folder = Path(folder)
        self.config = config
        self._sleep = sleep

    def fetch(
        self, links: Sequence[FrameLink], *, progress: Progress | None = None
    ) -> FetchSummary:
        """Every frame of ``links``, ``download_parallel`` at once; one that fails does not
        stop the others.

        Returns
        -------
        FetchSummary
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        summary = FetchSummary()
        with (
            night_lock(self.folder),
            ThreadPoolExecutor(max_workers=self.config.download_parallel) as pool,
        ):
            futures = [(link, pool.submit(self.fetch_one, link)) for link in links]
            for done, (link, future) in enumerate(futures, start=1):
                try:
                    what = future.result()
                except (FrameFetchError, OSError) as exc:
                    summary.failed.append((link.name, str(exc)))
                else:
                    (summary.fetched if what == FETCHED else summary.present).append(link.name)
                if progress is not None:
                    progress(done, len(futures))
        return summary

    def fetch_one(self, link: FrameLink) -> str:
        """One frame into the folder: :data:`FETCHED`, or :data:`PRESENT` when it is there.

        Raises
        ------
        FrameFetchError
            Naming the frame, where it was (a URL's secrets masked) and why it cannot be had.
        """
        target = self.folder / link.name
        if target.is_file() and check_frame(target, link) is None:
            return PRESENT
        where = redact_url(link.location) if link.is_url else link.location
        part = part_path(self.folder, link.name)
        try:
            if link.is_url:
                with_retries(
                    lambda: self._download_checked(link, part),
                    retries=self.config.download_retries,
                    backoff_s=self.config.download_backoff_s,
                    sleep=self._sleep,
                )
            else:
                self._copy(link, part)
        except (AttemptFailed, OSError) as exc:
            text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise FrameFetchError(f"frame {link.name} from {where}: {text}") from None
        os.replace(part, target)
        sync_folder(self.folder)
        return FETCHED

    def _download_checked(self, link: FrameLink, part: Path) -> None:
        try:
            self._download(link, part)
        except requests.RequestException as exc:
            raise AttemptFailed(request_failure(exc, self.config.download_timeout_s)) from None
        self._check(link, part)

    def _download(self, link: FrameLink, part: Path) -> None:
        """Into ``part``, from where an earlier attempt stopped when the server allows it."""
        have = part.stat().st_size if part.is_file() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with (
            requests.Session() as session,
            session.get(
                link.location, headers=headers, timeout=self.config.download_timeout_s, stream=True
            ) as answer,
        ):
            if answer.status_code == 416 and have:  # nothing after what we have: complete
                return
            if answer.status_code not in (200, 206):
                where = f"frame {link.name} from {redact_url(link.location)}"
                raise status_failure(answer, where, FrameFetchError)
            with open(part, "ab" if answer.status_code == 206 else "wb") as out:
                self._write(answer.iter_content(CHUNK_BYTES), out)

    def _copy(self, link: FrameLink, part: Path) -> None:
        with open(link.location, "rb") as source, open(part, "wb") as out:
            self._write(iter(lambda: source.read(CHUNK_BYTES), b""), out)
        self._check(link, part)

    @staticmethod
    def _write(chunks, out: BinaryIO) -> None:
        for chunk in chunks:
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())

    @staticmethod
    def _check(link: FrameLink, part: Path) -> None:
        """Raise when ``part`` is not the frame (removed: the next attempt starts afresh)."""
        problem = check_frame(part, link)
        if problem is not None:
            part.unlink(missing_ok=True)
            raise AttemptFailed(problem)


def delete_raw_frames(folder: Path) -> list[str]:
    """Delete the frames of a night's raw folder (FITS files and ``.part`` files left by a
    killed download), then the folder if nothing else is in it.

    Returns
    -------
    list of str
        The names deleted.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    deleted = []
    for path in sorted(folder.iterdir()):
        name = path.name.lower()
        if path.is_file() and (name.endswith(FRAME_SUFFIXES) or name.endswith(".part")):
            path.unlink()
            deleted.append(path.name)
    with contextlib.suppress(OSError):  # something else is kept there
        folder.rmdir()
    return deleted
