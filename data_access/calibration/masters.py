"""Calibration master files on disk: the one in force, the one before it, every one built.

::

    MASTERS/<INSTRUME>/<FILTER>/<type>/
        MASTER.fits -> history/<file>   the master in force (a symbolic link)
        OLD.fits    -> history/<file>   the one before it
        history/<type>_<INSTRUME>_<FILTER>_<YYYYMMDD>.fits   every master ever built,
                                        valid or rejected; never rewritten nor deleted

A link is replaced by ``os.replace`` of a fresh link (atomic on POSIX), so MASTER always
points at a master, the old one or the new one. This module reads and writes files only;
:class:`~data_access.calibration.store.CalibrationStore` keeps their statuses in the cache.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from analysis.calibration import Master
from data_access.config import CalibrationConfig
from data_access.fits_frames import read_master, write_master
from data_access.safe_files import sync_folder

MASTER_LINK = "MASTER.fits"
OLD_LINK = "OLD.fits"
HISTORY = "history"


def _safe(text: str) -> str:
    """A name usable as a folder or file name part, that cannot leave its folder: header
    values (INSTRUME, FILTER) come from the frames, so ``..`` must not climb up."""
    name = re.sub(r"[^A-Za-z0-9._+-]+", "_", text.strip())[:68]  # a FITS value's longest
    return re.sub(r"^\.+", lambda dots: "_" * len(dots.group()), name) or "NONE"


def replace_link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` (relative), atomically: a new link renamed over the old."""
    temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    os.symlink(os.path.relpath(target, link.parent), temporary)
    os.replace(temporary, link)
    sync_folder(link.parent)


class MasterFiles:
    """The masters folder: MASTER and OLD links, the history, reading a master's image.

    Parameters
    ----------
    masters_dir : Path
        The masters folder (see the module docstring for its layout).
    config : CalibrationConfig, optional
        ``[calibration]`` settings (``filter_free_types`` for the resolvers of GP2).
    """

    def __init__(self, masters_dir: Path, config: CalibrationConfig | None = None) -> None:
        self.masters_dir = Path(masters_dir)
        self.config = config or CalibrationConfig()

    def folder(self, caltype: str, instrument: str, filter_: str) -> Path:
        """The folder of one kind of master (created when missing)."""
        folder = self.masters_dir / _safe(instrument) / _safe(filter_) / caltype
        (folder / HISTORY).mkdir(parents=True, exist_ok=True)
        return folder

    def in_force(self, caltype: str, instrument: str, filter_: str) -> Path | None:
        """The master in force of one kind (the file MASTER.fits points at), or None."""
        link = self.folder(caltype, instrument, filter_) / MASTER_LINK
        return link.resolve() if link.is_symlink() and link.resolve().is_file() else None

    def current(self, folder: Path) -> Path | None:
        """The file MASTER.fits of a kind's folder points at, or None without the link."""
        link = folder / MASTER_LINK
        return link.resolve() if link.is_symlink() else None

    def link_target(self, folder: Path, name: str) -> str | None:
        """Where the link ``name`` of a kind's folder points, relative to the masters folder."""
        link = folder / name
        if not link.is_symlink():
            return None
        return self.relative(link.resolve())

    def relative(self, path: Path) -> str:
        """A master's path relative to the masters folder (as the cache records it)."""
        return str(Path(path).resolve().relative_to(self.masters_dir.resolve()))

    def keep(self, master: Master, caltype: str, instrument: str, filter_: str, name: str) -> Path:
        """Write a new master into its kind's history under ``name``, made unique.

        Returns
        -------
        Path
            The file written: ``name``, or ``<stem>_v<N>.fits`` when ``name`` was taken.
        """
        folder = self.folder(caltype, instrument, filter_) / HISTORY
        path = folder / name
        version = 1
        while path.exists():
            version += 1
            path = folder / f"{Path(name).stem}_v{version}.fits"
        write_master(path, master.data, master.header)
        return path

    def read(self, path: Path) -> tuple[np.ndarray, object]:
        """A master's (data, header)."""
        return read_master(path)
