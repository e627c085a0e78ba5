"""The users file: who may log in to the workbench server, with which roles.

A JSON object, one entry per user, passwords never stored in clear (a user without a
password logs in through OAuth only)::

    {"alice": {"password": "pbkdf2_sha256$600000$<salt hex>$<hash hex>", "roles": ["approver"],
               "generation": "3f9c01d2a4b5e6f7"},
     "bob@example.org": {"roles": ["viewer"]}}

``generation`` is new at every change of the entry (roles, password); a login session
remembers the generation it was opened under (:mod:`data_access.sessions`), so changing
a user's entry, or removing it, ends that user's sessions.

Roles, each including the ones before it: ``viewer`` (looks), ``scientist`` (ingests,
certifies, approves or rejects products), ``approver`` (also pushes to the SVOM archive).
The file is written readable by its owner only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from data_access.safe_files import write_atomic

ROLES: tuple[str, ...] = ("viewer", "scientist", "approver")
_ITERATIONS = 600_000


class UsersFileError(ValueError):
    """A users file that cannot be used; the message names the file and the entry."""


def hash_password(
    password: str, *, salt: bytes | None = None, iterations: int = _ITERATIONS
) -> str:
    """The stored form of a password: PBKDF2-HMAC-SHA256 with a random salt."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def read_json_object(path: Path, error: type[ValueError], what: str) -> dict:
    """The JSON object a file holds, ``{}`` if there is no file.

    Raises
    ------
    error
        If the file is not JSON, or not an object; the message names the file and ``what``
        the object should hold.
    """
    if not path.exists():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise error(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise error(f"{path}: expected a JSON object of {what}")
    return value


@cache
def _dummy_hash() -> str:
    """A stored form no password matches, checked for unknown users so that their answer
    takes as long as a known user's."""
    return hash_password(secrets.token_hex(16))


def check_password(password: str, stored: str) -> bool:
    """True if ``password`` matches the stored form (constant-time comparison)."""
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    computed = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), bytes.fromhex(salt), int(iterations)
    )
    return hmac.compare_digest(computed.hex(), digest)


@dataclass(frozen=True)
class User:
    name: str
    roles: tuple[str, ...]

    def can(self, role: str) -> bool:
        """True if the user holds ``role`` or a role above it."""
        rank = max((ROLES.index(r) for r in self.roles), default=-1)
        return rank >= ROLES.index(role)


class UsersFile:
    """Read, check and update a users file.

    Raises
    ------
    UsersFileError
        On a file that is not a JSON object of users, or an entry without a hashed
        password or with an unknown role.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _entries(self) -> dict:
        entries = read_json_object(self.path, UsersFileError, "users")
        for name, entry in entries.items():
            if not isinstance(entry, dict) or not str(
                entry.get("password", "pbkdf2_sha256$")
            ).startswith("pbkdf2_sha256$"):
                raise UsersFileError(f"{self.path}: user '{name}' has no hashed password")
            unknown = set(entry.get("roles", [])) - set(ROLES)
            if unknown:
                raise UsersFileError(
                    f"{self.path}: user '{name}' has unknown roles {sorted(unknown)}"
                )
        return entries

    def users(self) -> list[User]:
        return [
            User(name, tuple(e.get("roles", []))) for name, e in sorted(self._entries().items())
        ]

    def user(self, name: str) -> User | None:
        entry = self._entries().get(name)
        return None if entry is None else User(name, tuple(entry.get("roles", [])))

    def generation(self, name: str) -> str | None:
        """The generation of ``name``'s entry (new at each change), None if there is no such
        user; an entry written before generations existed has ``""``."""
        entry = self._entries().get(name)
        return None if entry is None else str(entry.get("generation", ""))

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if the password is right, else None.

        An unknown user, or one without a password, is checked against a dummy hash, so
        that every answer costs one hash of the same work whether the user exists or not.
        """
        entry = self._entries().get(name) or {}
        stored = entry.get("password")
        matches = check_password(password, stored or _dummy_hash())
        if not (matches and stored):
            return None
        return User(name, tuple(entry.get("roles", [])))

    def set(self, name: str, password: str | None, roles: list[str]) -> User:
        """Add or replace a user (the file is written atomically, mode 600); a user without a
        password (None) logs in through OAuth only."""
        unknown = set(roles) - set(ROLES)
        if unknown or not roles:
            raise UsersFileError(f"roles must be among {ROLES}, got {roles}")
        if not name or ":" in name or "/" in name:
            raise UsersFileError(f"'{name}' is not a user name (no ':' or '/', not empty)")
        entries = self._entries()
        entries[name] = {"roles": sorted(set(roles)), "generation": secrets.token_hex(8)}
        if password is not None:
            entries[name]["password"] = hash_password(password)
        self._write(entries)
        return User(name, tuple(sorted(set(roles))))

    def remove(self, name: str) -> User:
        """Remove a user (their sessions end with the entry).

        Raises
        ------
        UsersFileError
            If there is no such user; the message names the file.
        """
        entries = self._entries()
        if name not in entries:
            raise UsersFileError(f"{self.path}: no user '{name}'")
        entry = entries.pop(name)
        self._write(entries)
        return User(name, tuple(entry.get("roles", [])))

    def _write(self, entries: dict) -> None:
        """Write the file atomically, readable by its owner only."""
        write_atomic(self.path.parent, self.path.name, json.dumps(entries, indent=2).encode())
