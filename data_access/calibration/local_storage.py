"""The masters in force published for GP1 in the Local Storage.

GP1 reads the reference files from one folder under fixed names (``[calibration.nightly]
publish_dir`` and ``publish_pattern``). Each master in force is copied there atomically
(:func:`~data_access.safe_files.open_atomic`: GP1 sees the old file or the new one, never
a part); a published file already holding the master in force is left alone, so a file
is replaced only when a promotion (or a certification) changed the master in force.
Nothing is ever deleted from the folder.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from data_access.calibration.store import CalibrationStore
from data_access.safe_files import open_atomic

#: The fields a publish pattern may use.
PATTERN_FIELDS = ("caltype", "instrument", "filter", "night")


def published_name(pattern: str, *, caltype: str, instrument: str, filter_: str, night) -> str:
    """The file name of a master under ``pattern``.

    Raises
    ------
    ValueError
        If the pattern names a field other than :data:`PATTERN_FIELDS`, or gives a name with
        a path separator.
    """
    try:
        name = pattern.format(
            caltype=caltype, instrument=instrument, filter=filter_, night=f"{night:%Y%m%d}"
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"calibration.nightly.publish_pattern {pattern!r}: uses an unknown field {exc} "
            f"(known: {', '.join(PATTERN_FIELDS)})"
        ) from None
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        raise ValueError(f"calibration.nightly.publish_pattern {pattern!r} gives {name!r}")
    return name


def _same_bytes(a: Path, b: Path) -> bool:
    if not b.is_file() or a.stat().st_size != b.stat().st_size:
        return False
    return _sha256(a) == _sha256(b)


def _sha256(path: Path) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def publish_masters(store: CalibrationStore, folder: Path, pattern: str) -> list[str]:
    """Copy every master in force into ``folder`` under ``pattern``'s names.

    Returns
    -------
    list of str
        The names written (those already up to date are not listed).

    Raises
    ------
    ValueError
        If the pattern is unusable, or gives two masters one name.
    """
    folder = Path(folder)
    in_force = store.masters()
    in_force = in_force[in_force["status"] == "master"]
    names: dict[str, Path] = {}
    for row in in_force.itertuples(index=False):
        name = published_name(
            pattern,
            caltype=row.caltype,
            instrument=row.instrument,
            filter_=row.filter,
            night=row.night,
        )
        if name in names:
            raise ValueError(
                f"calibration.nightly.publish_pattern {pattern!r} gives {name} to two masters "
                "in force (add the fields that tell them apart)"
            )
        names[name] = store.masters_dir / row.path
    written = []
    for name, source in sorted(names.items()):
        if _same_bytes(source, folder / name):
            continue
        with open(source, "rb") as stream, open_atomic(folder, name) as out:
            shutil.copyfileobj(stream, out, 1 << 20)
        written.append(name)
    return written
