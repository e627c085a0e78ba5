"""Products compared: two versions of one product, and the same product on two sides.

:func:`diff_products` lists what changed between two versions (header values, rows and
cells of each table) for the review's version diff; :func:`compare_structure` lists the
notes' coherence checks between the workspace's copy and the science database's (number
of headers, keywords); :func:`product_fingerprint` identifies a product's content
whatever its creation date and version number, so that building the same thing twice
makes no new version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.io import fits

VOLATILE = ("DATE", "MY_VERS", "CHECKSUM", "DATASUM")
"""Keywords that change from one build to the next without the content changing."""


@dataclass(frozen=True)
class Change:
    """One difference between two versions: where, what, the old and the new value."""

    extension: str
    item: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return {"extension": self.extension, "item": self.item, "old": self.old, "new": self.new}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _header_changes(name: str, old: fits.Header, new: fits.Header, ignore: tuple) -> list[Change]:
    changes = []
    for key in dict.fromkeys([*old.keys(), *new.keys()]):
        if key in ignore or key in ("COMMENT", "HISTORY", ""):
            continue
        a, b = old.get(key, None), new.get(key, None)
        if a != b:
            changes.append(Change(name, key, _plain(a), _plain(b)))
    return changes


def _table_changes(name: str, old: Any, new: Any) -> list[Change]:
    if old is None or new is None:
        return (
            []
            if old is None and new is None
            else [
                Change(name, "rows", 0 if old is None else len(old), 0 if new is None else len(new))
            ]
        )
    changes = []
    if len(old) != len(new):
        changes.append(Change(name, "rows", len(old), len(new)))
    for column in dict.fromkeys([*old.columns.names, *new.columns.names]):
        if column not in old.columns.names or column not in new.columns.names:
            changes.append(
                Change(
                    name,
                    f"column {column}",
                    column in old.columns.names,
                    column in new.columns.names,
                )
            )
            continue
        a, b = np.asarray(old[column]), np.asarray(new[column])
        n = min(len(a), len(b))
        differs = np.flatnonzero(a[:n] != b[:n])
        for row in differs[:20]:
            changes.append(Change(name, f"{column}[{row + 1}]", _plain(a[row]), _plain(b[row])))
    return changes


def diff_products(
    old: fits.HDUList, new: fits.HDUList, *, ignore: tuple = VOLATILE
) -> list[Change]:
    """What changed between two versions of a product.

    Parameters
    ----------
    old, new : astropy.io.fits.HDUList
    ignore : tuple of str, optional
        Header keywords left out (by default those that change at every build).

    Returns
    -------
    list of Change
        Header values by keyword, then table rows and cells (``MAG[3]``, at most 20 cells
        per column), extension by extension.
    """
    changes: list[Change] = []
    names = list(
        dict.fromkeys(
            [_name(h, i) for i, h in enumerate(old)] + [_name(h, i) for i, h in enumerate(new)]
        )
    )
    for name in names:
        a, b = _find(old, name), _find(new, name)
        if a is None or b is None:
            changes.append(Change(name, "extension", a is not None, b is not None))
            continue
        changes += _header_changes(name, a.header, b.header, ignore)
        if isinstance(a, fits.BinTableHDU) or isinstance(b, fits.BinTableHDU):
            changes += _table_changes(name, a.data, b.data)
    return changes


def _name(hdu: Any, index: int) -> str:
    return "PrimaryHDU" if index == 0 else hdu.name


def _find(hdul: fits.HDUList, name: str) -> Any:
    for index, hdu in enumerate(hdul):
        if _name(hdu, index) == name:
            return hdu
    return None


def compare_structure(local: fits.HDUList, remote: fits.HDUList) -> list[str]:
    """The notes' coherence checks between two copies of a product: number of headers (HDUs),
    number of cards per header, and keywords present on one side only.

    Returns
    -------
    list of str
        One sentence per difference; empty when the two agree.
    """
    problems = []
    if len(local) != len(remote):
        problems.append(f"{len(local)} headers in the workspace, {len(remote)} in the SDB")
    for index in range(min(len(local), len(remote))):
        name = _name(local[index], index)
        a, b = local[index].header, remote[index].header
        if len(a) != len(b):
            problems.append(f"{name}: {len(a)} keywords in the workspace, {len(b)} in the SDB")
        only_local = sorted(set(a.keys()) - set(b.keys()))
        only_remote = sorted(set(b.keys()) - set(a.keys()))
        if only_local:
            problems.append(f"{name}: only in the workspace: {', '.join(only_local)}")
        if only_remote:
            problems.append(f"{name}: only in the SDB: {', '.join(only_remote)}")
    return problems


def product_fingerprint(hdul: fits.HDUList, *, ignore: tuple = VOLATILE) -> str:
    """A SHA-256 of a product's content, leaving out the keywords in ``ignore``."""
    digest = hashlib.sha256()
    for hdu in hdul:
        for card in hdu.header.cards:
            if card.keyword not in ignore:
                digest.update(str(card).encode())
        if hdu.data is not None:
            digest.update(
                np.ascontiguousarray(hdu.data).tobytes()
                if isinstance(hdu, fits.BinTableHDU)
                else np.asarray(hdu.data).tobytes()
            )
    return digest.hexdigest()
