"""The workspace's one turn at the background work.

However many processes serve pages, exactly one runs the background work (the scheduled
syncs, the alert sources, the lake's maintenance, the nightly calibration): the one that
holds an exclusive lock on ``WORKSPACE/worker.lock``. The operating system releases the lock
when that process ends, killed or not, so that another one can take the turn over. The
file says who holds it (process, host, since when) for the messages of those that wait.

The lock is taken on the workspace's own file system: on several machines, run
``gic worker`` on one of them (or keep the workspace on a file system whose locks are shared,
as NFSv4's are).
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

LOCK_NAME = "worker.lock"


class BackgroundTurn:
    """The lock that gives one process the workspace's background work.

    Parameters
    ----------
    root : Path
        The workspace's folder.
    """

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / LOCK_NAME
        self._file = None

    @property
    def held(self) -> bool:
        """Whether this process holds the turn."""
        return self._file is not None

    def take(self) -> bool:
        """Take the turn if no other process holds it; returns whether this one now does."""
        if self._file is not None:
            return True
        handle = open(self.path, "a+")  # noqa: SIM115 - kept open while the turn is held
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {now}\n")
        handle.flush()
        self._file = handle
        return True

    def holder(self) -> str:
        """Who holds the turn, as its file says ("pid 123 on host since ..."), or ``""``."""
        try:
            return self.path.read_text().strip()
        except FileNotFoundError:
            return ""

    def release(self) -> None:
        """Give the turn back (the file stays, empty)."""
        if self._file is None:
            return
        self._file.seek(0)
        self._file.truncate()
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
        self._file = None


def end_with_parent() -> None:
    """Ask the system to end this (child) process when its parent ends, even killed: given as
    ``preexec_fn`` to the child processes of the background work and of the page servers, so
    that none outlives the process that started it (Linux; nothing elsewhere)."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
