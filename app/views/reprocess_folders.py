"""The folders of frames the Reprocess page may show: the workspace's frame folders and those
of the extra roots of ``[gp2] frame_roots``, never any other path.

A link (``/reprocess?folder=…``) or a notebook may name any path; the page lists the frames
and headers of a folder only when it is one of these, so that a viewer cannot read the
FITS headers of any folder of the server.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from data_access.fits_frames import FITS_SUFFIXES
from data_access.gp2.burst_frames import read_progress
from data_access.gp2.files import scan_images
from data_access.gp2.runs import ReprocessError, ReprocessStore
from pipelines.burst_sync import progress_line

#: Longest part of a refused folder's name repeated on the page.
SHOWN_CHARACTERS = 120


def frame_roots(workspace) -> tuple[Path, ...]:
    """The extra roots of the workspace's ``[gp2] frame_roots``, relative ones resolved
    against the workspace."""
    return tuple((workspace.root / root).resolve() for root in workspace.config.gp2.frame_roots)


class FrameFolders:
    """The folders of frames of the workspace's :class:`ReprocessStore` (its ``raw/gp2``)
    and of each extra root (every sub-folder holding FITS frames).

    Parameters
    ----------
    store : ReprocessStore
    roots : iterable of Path
        Absolute folders; one that is not a folder is left out.
    """

    def __init__(self, store: ReprocessStore, roots: Iterable[Path] = ()) -> None:
        self.store = store
        self.roots = tuple(Path(root) for root in roots)

    def table(self) -> pd.DataFrame:
        """Every folder: name, path, burst_id (its TRGID, else its name), n_images, first,
        root (the extra root's name, '' for the workspace's)."""
        found = [self.store.folders().assign(root="")]
        found += [
            ReprocessStore(root, self.store.runs_dir, keywords=self.store.keywords)
            .folders()
            .assign(root=root.name)
            for root in self.roots
            if root.is_dir()
        ]
        return pd.concat(found, ignore_index=True)

    def choices(self, known_bursts: Iterable[str] = ()) -> dict[str, str]:
        """Label → folder: the folders of ``known_bursts`` (the alerts') first, then the
        others; an extra root's folders say which root they are in."""
        folders = self.table()
        where = [f", in {root}" if root else "" for root in folders["root"]]
        folders = folders.assign(where=where)
        known = folders["burst_id"].isin(set(known_bursts))
        labels = {
            f"{r.burst_id} ({r.n_images} images{r.where})": r.path
            for r in folders[known].itertuples()
        }
        labels |= {
            f"folder {r.name} ({r.n_images} images{r.where})": r.path
            for r in folders[~known].itertuples()
        }
        return labels

    def check(self, folder: str) -> str:
        """``folder`` when it is one of :meth:`table`'s paths, as written there.

        Raises
        ------
        ReprocessError
            Otherwise. Inside the workspace's folders of frames or an extra root, the
            message says what is wrong in words (:meth:`problem`); anywhere else (``/etc``,
            ``../..``) it only says the folder is not one of the list. The message repeats
            the name asked for (its first :data:`SHOWN_CHARACTERS`).
        """
        if folder in set(self.table()["path"]):
            return folder
        shown = folder if len(folder) <= SHOWN_CHARACTERS else folder[:SHOWN_CHARACTERS] + "…"
        problem = self.problem(Path(folder)) if self._inside(folder) else None
        if problem:
            raise ReprocessError(f"'{shown}' {problem}")
        raise ReprocessError(
            f"'{shown}' is not one of the workspace's folders of frames: pick a burst or a "
            "folder in the list"
        )

    def sync_state(self, folder: str) -> str:
        """The last sync of ``folder``'s frames from the export API, in words (plain text),
        '' when it had none or is not one of :meth:`table`'s folders."""
        try:
            return progress_line(read_progress(Path(self.check(folder)))) if folder else ""
        except ReprocessError:
            return ""

    def _inside(self, folder: str) -> bool:
        """Whether ``folder`` lies under the workspace's frames or an extra root (the only
        places whose contents a message may describe)."""
        path = Path(folder).resolve()
        bases = (Path(self.store.input_dir).resolve(), *(r.resolve() for r in self.roots))
        return any(path != base and path.is_relative_to(base) for base in bases)

    def problem(self, folder: Path) -> str | None:
        """What keeps ``folder`` from being reprocessed, in words, or None when nothing does:
        it is missing, is a file, holds no FITS file, or none of its FITS files has the
        header keywords GP2 reads (``[gp2] *_key``; the first reason is given)."""
        if not folder.exists():
            return "does not exist: check the path, or pick a burst or a folder in the list"
        if not folder.is_dir():
            return "is a file, not a folder: give the folder that holds the frames"
        infos, unreadable = scan_images(
            [self.store.frames_dir(folder)], keywords=self.store.keywords
        )
        if infos:
            return None
        if not unreadable:
            return f"holds no FITS frame (no file ending {', '.join(FITS_SUFFIXES)})"
        path, reason = unreadable[0]
        return (
            f"holds {len(unreadable)} FITS file(s) but no frame GP2 can read: "
            f"{reason.replace(path, Path(path).name)}"
        )
