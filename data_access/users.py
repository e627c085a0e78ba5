"""The users file: who may log in to the workbench server, with which roles.

A JSON object, one entry per user, passwords never stored in clear (a user without a
password logs in through OAuth only)::

    {"alice": {"password": "pbkdf2_sha256$600000$<salt hex>$<hash hex>", "roles": ["approver"]},
     "bob@example.org": {"roles": ["viewer"]}}

Roles, each including the ones before it: ``viewer`` (looks), ``scientist`` (ingests,
certifies, approves or rejects products), ``approver`` (also pushes to the SVOM archive).
The file is written readable by its owner only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

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
        if not self.path.exists():
            return {}
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise UsersFileError(f"{self.path}: not valid JSON: {exc}") from exc
        if not isinstance(entries, dict):
            raise UsersFileError(f"{self.path}: expected a JSON object of users")
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

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if the password is right, else None."""
        entry = self._entries().get(name)
        if (
            entry is None
            or "password" not in entry
            or not check_password(password, entry["password"])
        ):
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
        entries[name] = {"roles": sorted(set(roles))}
        if password is not None:
            entries[name]["password"] = hash_password(password)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(entries, out, indent=2)
        os.replace(temporary, self.path)
        return User(name, tuple(sorted(set(roles))))
