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
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

LOCK_NAME = "worker.lock"
#: The longest wait before a kept child process that stopped is started again (s).
LONGEST_RESTART_S = 300.0
#: A child process that ran at least this long is started again after the first wait (s).
STEADY_RUN_S = 60.0

log = logging.getLogger("gic.background")


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


class KeptProcess(threading.Thread):
    """A child process kept running: started again whenever it ends, after ``first_wait_s``,
    doubled each time it ends within :data:`STEADY_RUN_S` of its start, up to
    :data:`LONGEST_RESTART_S`, until :meth:`stop`. Its output is appended to ``log_path``;
    it ends with this process (:func:`end_with_parent`).

    Parameters
    ----------
    name : str
        What the messages call it ("alert source comet", "page server 1").
    command : callable
        Returns the child's command line, asked at each start.
    log_path : Path
    first_wait_s : float
        Seconds before the first start again.
    """

    def __init__(
        self, name: str, command: Callable[[], list[str]], log_path: Path, first_wait_s: float
    ) -> None:
        super().__init__(name=f"gic-kept-{name.replace(' ', '-')}", daemon=True)
        self.what = name
        self.command = command
        self.log_path = Path(log_path)
        self.first_wait_s = first_wait_s
        self.process: subprocess.Popen | None = None
        self._stop_event = threading.Event()

    def run(self) -> None:
        wait = self.first_wait_s
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        while not self._stop_event.is_set():
            started = time.monotonic()
            with open(self.log_path, "ab") as output:
                self.process = subprocess.Popen(
                    self.command(),
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    preexec_fn=end_with_parent,
                )
                code = self.process.wait()
            if self._stop_event.is_set():
                break
            steady = time.monotonic() - started > STEADY_RUN_S
            wait = min(self.first_wait_s if steady else wait * 2, LONGEST_RESTART_S)
            log.warning(
                "%s stopped (exit code %s, see %s); started again in %.0f s",
                self.what,
                code,
                self.log_path,
                wait,
            )
            self._stop_event.wait(wait)

    def terminate(self) -> None:
        """Stop starting the child again and ask the running one to end (SIGTERM)."""
        self._stop_event.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def stop(self, timeout_s: float = 10.0) -> None:
        """:meth:`terminate`, then wait up to ``timeout_s`` for the child, killed after."""
        self.terminate()
        if self.process is not None:
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
