"""The CDB's calibration links: the contract of the document, parsed and checked.

TCS takes the calibration series at the start and end of each night and sends the
frames to the CDB; the CDB sends the GIC a JSON document of links to them (the notes'
"Liens CDB.json"), one per night or per series. The document is either a list of frame
entries or an object ``{"night": "YYYYMMDD", "frames": [...]}`` whose ``night`` is the
default of its entries. Each entry:

============  ========  ==================================================================
key           needed    meaning
============  ========  ==================================================================
url           one of    ``http://`` or ``https://`` address of the frame
path          one of    absolute path of the frame on a mounted CDB storage
night         yes       the observing night, ``YYYYMMDD`` or ``YYYY-MM-DD`` (or the
                        document's)
instrument    yes       ``DDRAGO1``, ``DDRAGO2``, ``CAGIRE``...
filter        flats     the filter; may be absent or null for a bias or dark
type          yes       ``bias``, ``dark`` or ``flat`` (any case)
exptime_s     yes       exposure time, s (>= 0)
size_bytes    no        the file's size, bytes (> 0): checked after the download
checksum      no        ``sha256:HEX`` or ``md5:HEX``: checked after the download
============  ========  ==================================================================

The frame's file name is the last part of its URL or path; it must end in ``.fits``,
``.fit`` or ``.fits.fz`` and hold no path separator. An entry listed twice identically is
kept once; two different entries with one file name in one night reject the document. A
document is accepted whole or rejected whole: :func:`parse_links` raises
:class:`LinksError` naming the document, the entry and what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from analysis.calibration.frames import CALIBRATION_TYPES, normalise_type

#: Checksum algorithms a link may give, with the length of their hexadecimal digest.
CHECKSUM_LENGTHS = {"sha256": 64, "md5": 32}

#: File name endings of a calibration frame.
FRAME_SUFFIXES = (".fits", ".fit", ".fits.fz")

_KEYS = {
    "url",
    "path",
    "night",
    "instrument",
    "filter",
    "type",
    "exptime_s",
    "size_bytes",
    "checksum",
}
_CHECKSUM = re.compile(r"^(sha256|md5):([0-9a-fA-F]+)$")


class LinksError(ValueError):
    """A links document that cannot be used; the message names it, the entry and why."""


@dataclass(frozen=True)
class FrameLink:
    """One calibration frame the CDB holds.

    ``location`` is the URL or the absolute path; ``name`` the file name it is kept
    under; ``size_bytes`` and ``checksum`` (``algorithm:hex``, lower case) are None when
    the CDB did not give them.
    """

    location: str
    name: str
    night: date
    instrument: str
    filter: str | None
    caltype: str
    exptime_s: float
    size_bytes: int | None = None
    checksum: str | None = None

    @property
    def is_url(self) -> bool:
        """Whether the frame is fetched over HTTP (else copied from a mounted path)."""
        return self.location.startswith(("http://", "https://"))

    def to_dict(self) -> dict[str, Any]:
        """The link as JSON-ready values (the night as ``YYYYMMDD``)."""
        values = asdict(self)
        values["night"] = f"{self.night:%Y%m%d}"
        return values


def parse_night(text: Any) -> date:
    """A night written ``YYYYMMDD`` or ``YYYY-MM-DD``.

    Raises
    ------
    ValueError
        If ``text`` is not a string in one of these forms.
    """
    if isinstance(text, str):
        for form in ("%Y%m%d", "%Y-%m-%d"):
            try:
                return datetime.strptime(text.strip(), form).date()
            except ValueError:
                continue
    raise ValueError(f"night {text!r} is not YYYYMMDD or YYYY-MM-DD")


def parse_links(document: Any, where: str) -> list[FrameLink]:
    """The frames of a parsed links document (see the module docstring for the contract).

    Parameters
    ----------
    document : list or dict
        The JSON document, parsed.
    where : str
        The document's name (file, table row, URL), put at the start of every error.

    Returns
    -------
    list of FrameLink
        In the document's order, an entry repeated identically kept once.

    Raises
    ------
    LinksError
        If the document is not a list or an object with ``frames``, or any entry breaks
        the contract; the message names ``where``, the entry's index and the key.
    """
    night = None
    if isinstance(document, dict):
        try:
            night = parse_night(document["night"]) if "night" in document else None
        except ValueError as exc:
            raise LinksError(f"{where}: {exc}") from None
        document = document.get("frames")
    if not isinstance(document, list):
        raise LinksError(f"{where}: not a list of frames nor an object with a 'frames' list")
    links: list[FrameLink] = []
    for index, entry in enumerate(document):
        try:
            link = _link(entry, night)
        except ValueError as exc:
            raise LinksError(f"{where}, frame {index}: {exc}") from None
        _add(links, link, f"{where}, frame {index}")
    return links


def _add(links: list[FrameLink], link: FrameLink, where: str) -> None:
    for other in links:
        if (other.night, other.name) == (link.night, link.name):
            if other == link:
                return
            raise LinksError(f"{where}: file name {link.name!r} already given to {other.location}")
    links.append(link)


def _link(entry: Any, night: date | None) -> FrameLink:
    if not isinstance(entry, dict):
        raise ValueError(f"not an object: {entry!r:.60}")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}")
    location, name = _location(entry)
    caltype = normalise_type(entry.get("type"))
    if caltype not in CALIBRATION_TYPES:
        raise ValueError(f"type {entry.get('type')!r} is not one of {', '.join(CALIBRATION_TYPES)}")
    return FrameLink(
        location=location,
        name=name,
        night=parse_night(entry["night"]) if "night" in entry or night is None else night,
        instrument=_text(entry, "instrument"),
        filter=_filter(entry, caltype),
        caltype=caltype,
        exptime_s=_number(entry, "exptime_s"),
        size_bytes=_size(entry.get("size_bytes")),
        checksum=_checksum(entry.get("checksum")),
    )


def _location(entry: dict) -> tuple[str, str]:
    url, path = entry.get("url"), entry.get("path")
    if (url is None) == (path is None):
        raise ValueError("needs exactly one of 'url' and 'path'")
    if url is not None:
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"url {url!r:.80} is not an http or https address")
        name = unquote(PurePosixPath(urlsplit(url).path).name)
        location = url
    else:
        if not isinstance(path, str) or not PurePosixPath(path).is_absolute():
            raise ValueError(f"path {path!r:.80} is not an absolute path")
        name, location = PurePosixPath(path).name, path
    if not name.lower().endswith(FRAME_SUFFIXES) or "/" in name or "\\" in name:
        raise ValueError(f"file name {name!r} is not a FITS frame ({', '.join(FRAME_SUFFIXES)})")
    return location, name


def _text(entry: dict, key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} {value!r} is not a non-empty text")
    return value.strip()


def _filter(entry: dict, caltype: str) -> str | None:
    if entry.get("filter") is None and caltype != "flat":
        return None
    return _text(entry, "filter")


def _number(entry: dict, key: str) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{key} {value!r} is not a number of seconds >= 0")
    return float(value)


def _size(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"size_bytes {value!r} is not a whole number of bytes > 0")
    return value


def _checksum(value: Any) -> str | None:
    if value is None:
        return None
    found = _CHECKSUM.match(value) if isinstance(value, str) else None
    if not found or len(found.group(2)) != CHECKSUM_LENGTHS[found.group(1)]:
        raise ValueError(f"checksum {value!r:.80} is not 'sha256:HEX' or 'md5:HEX'")
    return f"{found.group(1)}:{found.group(2).lower()}"
