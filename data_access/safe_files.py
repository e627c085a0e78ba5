"""Files written from outside data: names that cannot leave their folder, atomic writes,
and files readable by their owner only.

A name that comes from outside (a CDB row id, a burst ID, an upload) goes through
:func:`safe_file_stem` before it becomes part of a path, and :func:`write_atomic` checks
again that the file lands in its folder and writes it so that a reader never sees it
half-written (temporary file in the same folder, fsync of the file, rename, fsync of the
folder). It is the one atomic write: :func:`open_atomic` serves the writers that stream
(FITS images), :func:`write_atomic` those that hold the bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

#: The permission bits a workspace never gives: none to the group, none to others.
PRIVATE_UMASK = 0o077


def keep_private() -> None:
    """Make the files and folders this process creates from now on its owner's only.

    :data:`PRIVATE_UMASK` is added to the process's umask (a stricter one stays): files
    are created 600 and folders 700 by every writer, astropy's, DuckDB's and the log's
    included.
    """
    os.umask(os.umask(PRIVATE_UMASK) | PRIVATE_UMASK)


def make_private(path: Path) -> None:
    """Give ``path``, a file, to its owner only (mode 600): if it exists, and if this
    process owns it (another user's file keeps the mode its owner chose)."""
    with contextlib.suppress(FileNotFoundError, PermissionError):
        os.chmod(path, 0o600)


def safe_file_stem(text: str, *, limit: int = 80) -> str:
    """A file name stem made from ``text`` that cannot leave its folder.

    Characters other than letters, digits, ``.``, ``_`` and ``-`` become ``_`` and leading
    dots are dropped (no ``..``, no hidden files); when that changed anything (or the text
    is longer than ``limit``), a hash of the exact text is appended, so that distinct
    texts keep distinct names.

    Examples
    --------
    >>> safe_file_stem("42")
    '42'
    >>> safe_file_stem("../etc/passwd")[:12]
    '_etc_passwd-'
    """
    stem = _UNSAFE.sub("_", text).lstrip(".")[:limit]
    if stem != text or not stem:
        stem = f"{stem}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    return stem


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk (after a file was renamed into it or a link
    replaced), so that the new name survives a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _target(folder: Path, name: str) -> Path:
    """``folder/name``, the folder made if missing; refuses a name that leaves it."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if name in ("", ".", "..") or target.resolve().parent != folder.resolve():
        raise ValueError(f"{folder}: file name {name!r} would lie outside the folder")
    return target


@contextlib.contextmanager
def open_atomic(folder: Path, name: str) -> Iterator[BinaryIO]:
    """A binary file to write ``folder/name`` through: all of it or, if the writer fails
    or the process dies, nothing.

    The bytes go to a temporary file in the same folder (``.*.part``, mode 600), which is
    fsynced, renamed over ``name``, and the folder fsynced; on an error the temporary file
    is removed and the error raised.

    Raises
    ------
    ValueError
        If ``name`` would put the file anywhere but directly in ``folder`` (a path
        separator, ``..``, a symbolic link leading elsewhere).

    Examples
    --------
    >>> with open_atomic(folder, "image.fits") as out:  # doctest: +SKIP
    ...     hdul.writeto(out)
    """
    folder = Path(folder)
    target = _target(folder, name)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    sync_folder(folder)


def write_atomic(folder: Path, name: str, content: bytes) -> Path:
    """Write ``content`` as ``folder/name`` through :func:`open_atomic`.

    A file already holding exactly these bytes is left alone (its size and time still
    say nothing changed).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ValueError
        If ``name`` would put the file anywhere but directly in ``folder`` (a path
        separator, ``..``, a symbolic link leading elsewhere).
    """
    target = _target(Path(folder), name)
    if (
        target.is_file()
        and target.stat().st_size == len(content)
        and target.read_bytes() == content
    ):
        return target
    with open_atomic(folder, name) as out:
        out.write(content)
    return target
