"""The server's login sessions: which browser is logged in as whom, until when.

A session is a random id, handed to the browser in a signed cookie; the server keeps
only its SHA-256, with the user, the times it was opened and expires, and the user's
generation in the users file when it was opened (:meth:`data_access.users.UsersFile.generation`)::

    {"<sha256 of the id>": {"user": "alice", "created": 1767225600.0,
                            "expires": 1767312000.0, "generation": "3f9c01d2a4b5e6f7"}}

The file lies in the workspace's ``secrets/`` (mode 600), is rewritten atomically under an
exclusive lock, and is shared by the server and the ``gic`` commands: logging out, removing
a user or changing their entry ends their sessions at their next request.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from data_access.safe_files import write_atomic
from data_access.users import UsersFile, read_json_object
from data_access.workspace import Workspace

SESSIONS_FILE = "sessions.json"


class SessionsFileError(ValueError):
    """A sessions file that cannot be read; the message names the file."""


@dataclass(frozen=True)
class Session:
    """One login: its user, when it was opened and when it expires (Unix seconds)."""

    user: str
    created: float
    expires: float
    generation: str


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Open, check and end login sessions, kept in one JSON file.

    Parameters
    ----------
    path : Path
        The sessions file (created on the first login, mode 600).
    clock : callable, optional
        Returns the time in Unix seconds (``time.time``); tests pass their own.
    """

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> SessionStore:
        """The sessions of ``workspace``, in its ``secrets/`` folder."""
        return cls(workspace.path("secrets") / SESSIONS_FILE)

    def open(self, user: str, generation: str, *, days: float) -> str:
        """Open a session for ``user`` lasting ``days``; returns its id (for the cookie).
        Expired sessions are dropped from the file at the same time."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        with self._editing() as records:
            for key in [k for k, r in records.items() if r["expires"] <= now]:
                del records[key]
            records[_key(session_id)] = {
                "user": user,
                "created": now,
                "expires": now + days * 86400,
                "generation": generation,
            }
        return session_id

    def session(self, session_id: str) -> Session | None:
        """The open session of this id, None if unknown or expired."""
        record = self._read().get(_key(session_id))
        if record is None or record["expires"] <= self.clock():
            return None
        return Session(**record)

    def check(self, session_id: str, users: UsersFile) -> str | None:
        """The user of this session if it is open and its user's entry in ``users`` is the
        one it was opened under (not removed, roles and password unchanged), else None."""
        session = self.session(session_id)
        if session is None or users.generation(session.user) != session.generation:
            return None
        return session.user

    def end(self, session_id: str) -> None:
        """End one session (logout); an unknown id is ignored."""
        with self._editing() as records:
            records.pop(_key(session_id), None)

    def end_user(self, user: str) -> int:
        """End every session of ``user``; returns how many there were."""
        with self._editing() as records:
            keys = [k for k, r in records.items() if r["user"] == user]
            for key in keys:
                del records[key]
        return len(keys)

    def _read(self) -> dict:
        return read_json_object(self.path, SessionsFileError, "sessions")

    @contextmanager
    def _editing(self) -> Iterator[dict]:
        """The records, to change in place; written back atomically under an exclusive lock
        (held across the read and the write, so two processes never lose each other's)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(
            self.path.with_name(f".{self.path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600
        )
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = self._read()
            yield records
            write_atomic(self.path.parent, self.path.name, json.dumps(records).encode())
        finally:
            os.close(lock)
