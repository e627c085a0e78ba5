"""FITS frames on disk: raw calibration frames read by blocks of rows, masters written whole.

A raw frame is opened by :func:`open_frame`, which reads the header, refuses a file
that cannot be a frame (truncated, not 2D, absurdly large, a required keyword
missing) with a :class:`FrameError` naming the file, and describes it
(:class:`~analysis.calibration.frames.FrameInfo`) from its header and a sample of
rows. Its pixels are then read a block of rows at a time: plain ``.fits`` by
``readinto`` at the block's offset (no memory map, so the process holds only the
blocks it asked for), tile-compressed ``.fits.fz`` through astropy's ``section``
(only the tiles of those rows are decompressed).

Masters are written by :func:`write_master` to a temporary file beside the target,
flushed to disk, then renamed over it: a reader sees the old file or the new one.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning

from analysis.calibration import binning_of
from analysis.calibration.frames import FrameInfo, normalise_type, sample_levels
from data_access.safe_files import open_atomic

#: Largest frame accepted, in pixels (16384 × 16384); anything bigger is refused unread.
MAX_PIXELS = 2**28

#: Most axes a FITS header may declare (the FITS standard's limit on NAXIS).
MAX_AXES = 999

#: Rows read to describe a frame (median, saturation, finite fraction).
SAMPLE_ROWS = 64

#: Bytes of a file read (or written) at once: small enough to stay in the CPU cache while
#: they are converted from FITS's big-endian values (or into them).
READ_BUFFER_BYTES = 2**20

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.fz", ".fit.fz", ".fz")

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_BLOCK = 2880  # bytes in a FITS block
_MAX_HEADER_BLOCKS = 100  # a header longer than 3600 cards is not a frame's
_MAX_HDUS = 16  # HDUs whose headers are checked before astropy opens the file
_INTEGER_CARD = re.compile(rb"(Z?NAXIS\d{0,3}|BITPIX|PCOUNT|GCOUNT) *= *([-+]?\d{1,30})[ /]")

_RAW_DTYPES = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


class FrameError(ValueError):
    """A file that cannot be used as a frame; the message names the file and the problem."""


@dataclass(frozen=True)
class HeaderKeys:
    """The header keywords a camera writes (``[calibration]`` settings)."""

    caltype: str = "IMAGETYP"
    instrument: str = "INSTRUME"
    filter: str = "FILTER"
    exptime: str = "EXPTIME"
    date: str = "DATE-OBS"
    saturation: str = "SATURATE"
    temperature: str = "CCD-TEMP"
    binning: tuple[str, str] = ("XBINNING", "YBINNING")


def is_fits_name(path: Path) -> bool:
    """Whether a file name ends like a FITS file (``.fits``, ``.fit``, ``.fits.fz``...)."""
    return path.name.lower().endswith(FITS_SUFFIXES)


def _image_hdu(hdul: fits.HDUList, path: Path) -> int:
    """Index of the first HDU holding an image (the primary, or a compressed extension)."""
    for index, hdu in enumerate(hdul):
        if isinstance(hdu, fits.CompImageHDU) or (
            hdu.header.get("NAXIS", 0) >= 2 and isinstance(hdu, fits.PrimaryHDU | fits.ImageHDU)
        ):
            return index
    raise FrameError(f"{path}: no image in the file (NAXIS < 2 in every HDU)")


def _shape(header: fits.Header, path: Path, max_pixels: int) -> tuple[int, int]:
    naxis = int(header.get("ZNAXIS", header.get("NAXIS", 0)))
    prefix = "ZNAXIS" if "ZNAXIS" in header else "NAXIS"
    dims = [int(header.get(f"{prefix}{k}", 0)) for k in range(1, naxis + 1)]
    if naxis < 2 or any(d != 1 for d in dims[2:]):
        raise FrameError(f"{path}: image of {naxis} axes {dims}, expected a 2D frame")
    nx, ny = dims[0], dims[1]
    if nx <= 0 or ny <= 0 or nx * ny > max_pixels:
        raise FrameError(
            f"{path}: {nx} × {ny} pixels, expected a frame of 1 to {max_pixels} pixels"
        )
    return ny, nx


@contextlib.contextmanager
def _header_errors(path: Path) -> Iterator[None]:
    """Turn what astropy raises on a header that lies (a keyword missing or unparsable, a
    value of the wrong type, a non-ASCII card) into a :class:`FrameError` naming the file.

    astropy parses cards lazily, so these come from the first read of a keyword, not from
    ``fits.open``; its warnings about non-standard cards are silenced here, since the checks
    that follow say what matters.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyUserWarning)
        try:
            yield
        except FrameError:
            raise
        except (
            KeyError,
            ValueError,
            TypeError,
            IndexError,
            OverflowError,
            fits.verify.VerifyError,
        ) as exc:
            raise FrameError(f"{path}: the header cannot be read ({exc})") from exc


class FitsFrame:
    """One image of a FITS file, read by rows: ``frame[r0:r1]`` → float32 rows in ADU.

    Use :func:`open_frame` or :func:`open_master`; close with :meth:`close` or ``with``.
    """

    def __init__(self, path: Path, *, max_pixels: int = MAX_PIXELS) -> None:
        self.path = Path(path)
        self._hdul, truncated = _open_hdul(self.path)
        try:
            with _header_errors(self.path):
                self._read_header(truncated, max_pixels)
        except BaseException:
            self._hdul.close()
            raise

    def _read_header(self, truncated: str | None, max_pixels: int) -> None:
        """Find the image, check its shape (before any pixel is read) and get ready to read."""
        self._index = _image_hdu(self._hdul, self.path)
        hdu = self._hdul[self._index]
        self.header: fits.Header = hdu.header
        self.shape: tuple[int, int] = _shape(hdu.header, self.path, max_pixels)
        if truncated:
            raise FrameError(f"{self.path}: truncated: {truncated}")
        self._compressed = isinstance(hdu, fits.CompImageHDU)
        if not self._compressed:
            self._prepare_plain(hdu)

    def _prepare_plain(self, hdu) -> None:
        bitpix = int(self.header["BITPIX"])
        if bitpix not in _RAW_DTYPES:
            raise FrameError(f"{self.path}: BITPIX {bitpix} is not a FITS image type")
        self._raw = np.dtype(_RAW_DTYPES[bitpix])
        self._offset = int(self._hdul.fileinfo(self._index)["datLoc"])
        self._bscale = float(self.header.get("BSCALE", 1.0))
        self._bzero = float(self.header.get("BZERO", 0.0))
        for key, value in (("BSCALE", self._bscale), ("BZERO", self._bzero)):
            if not abs(value) <= _FLOAT32_MAX:  # NaN too
                raise FrameError(f"{self.path}: {key} is {value}, expected a finite float32")
        blank = self.header.get("BLANK") if bitpix > 0 else None
        self._blank = None if blank is None else int(blank)
        ny, nx = self.shape
        needed = self._offset + ny * nx * self._raw.itemsize
        size = self.path.stat().st_size
        if size < needed:
            raise FrameError(
                f"{self.path}: truncated: the file holds {size} bytes, its header "
                f"announces {needed} ({nx} × {ny} pixels of BITPIX {bitpix})"
            )
        self._handle = open(self.path, "rb")  # noqa: SIM115 - closed by close()

    def __getitem__(self, rows: slice) -> np.ndarray:
        if not isinstance(rows, slice):
            raise TypeError(f"{self.path}: frames are read by row slices, got {rows!r}")
        start, stop, step = rows.indices(self.shape[0])
        if self._compressed:
            return np.asarray(self._hdul[self._index].section[start:stop:step], dtype=np.float32)
        out = np.empty((len(range(start, stop, step)), self.shape[1]), np.float32)
        self.read_into(rows, out)
        return out

    @property
    def integer_dtype(self) -> np.dtype | None:
        """uint16 when the pixels are int16 with BZERO 32768, BSCALE 1 and no BLANK (a
        16-bit camera's raw counts, which uint16 holds exactly), else None."""
        if self._compressed or self._blank is not None or self._bscale != 1.0:
            return None
        return np.dtype(np.uint16) if (self._raw, self._bzero) == (">i2", 32768.0) else None

    def read_into(self, rows: slice, out: np.ndarray) -> None:
        """Read rows (a step is allowed) into ``out`` (shape (rows, nx)), in ADU.

        ``out`` is float32, or of :attr:`integer_dtype` when that is not None. The file's
        bytes go through one buffer of at most :data:`READ_BUFFER_BYTES`, so that they
        are converted while in the CPU cache. Safe to call from several threads at once
        (positional reads).
        """
        start, stop, step = rows.indices(self.shape[0])
        if out.dtype != np.float32 and out.dtype != self.integer_dtype:
            raise ValueError(f"{self.path}: cannot read pixels exactly into {out.dtype}")
        if self._compressed:
            out[...] = self[rows]
            return
        runs = [(start, stop)] if step == 1 else [(r, r + 1) for r in range(start, stop, step)]
        nx = self.shape[1]
        per_read = max(1, READ_BUFFER_BYTES // (nx * self._raw.itemsize))
        raw = np.empty((min(per_read, max(1, stop - start)), nx), self._raw)
        done = 0
        with np.errstate(over="ignore"):  # an absurd BSCALE gives inf, as it says
            for first, end in runs:
                for r0 in range(first, end, per_read):
                    r1 = min(end, r0 + per_read)
                    block = raw[: r1 - r0]
                    self._pread(r0, block)
                    self._convert(block, out[done : done + r1 - r0])
                    done += r1 - r0

    def _pread(self, start: int, raw: np.ndarray) -> None:
        """The file's bytes of ``raw.shape[0]`` rows from row ``start`` into ``raw``."""
        offset = self._offset + start * raw.shape[1] * self._raw.itemsize
        if os.preadv(self._handle.fileno(), [memoryview(raw).cast("B")], offset) != raw.nbytes:
            raise FrameError(
                f"{self.path}: rows {start}-{start + raw.shape[0]} could not be read whole"
            )

    def _convert(self, raw: np.ndarray, out: np.ndarray) -> None:
        """Raw FITS values into ADU in ``out`` (uint16: the sign bit flipped, exactly)."""
        if out.dtype == np.uint16:  # int16 + 32768 is the int16 with its sign bit flipped
            np.bitwise_xor(raw.view(">u2"), np.uint16(0x8000), out=out)
            return
        if self._bscale != 1.0:  # overflow to inf is ignored by the caller
            np.multiply(raw, np.float32(self._bscale), out=out, casting="unsafe")
            out += np.float32(self._bzero)
        else:
            np.add(raw, np.float32(self._bzero), out=out, casting="unsafe")
        if self._blank is not None:
            out[raw == self._blank] = np.nan

    def read_all(self) -> np.ndarray:
        """Every pixel, float32, ADU."""
        return self[0 : self.shape[0]]

    def close(self) -> None:
        if not self._compressed and hasattr(self, "_handle"):
            self._handle.close()
        self._hdul.close()

    def __enter__(self) -> FitsFrame:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _header_integers(handle, offset: int) -> tuple[dict[str, int], int] | str | None:
    """The integer keywords of the header starting at ``offset`` and the offset after it,
    None when the file ends before the header does, or why the header is refused (no END
    card within :data:`_MAX_HEADER_BLOCKS` blocks)."""
    handle.seek(offset)
    values: dict[str, int] = {}
    for block_start in range(offset, offset + _MAX_HEADER_BLOCKS * _BLOCK, _BLOCK):
        block = handle.read(_BLOCK)
        if len(block) < _BLOCK:
            return None
        for start in range(0, _BLOCK, 80):
            card = block[start : start + 80]
            if card[:8].rstrip() == b"END":
                return values, block_start + _BLOCK
            found = _INTEGER_CARD.match(card)
            if found:
                values[found.group(1).decode()] = int(found.group(2))
    return f"no END card in the first {_MAX_HEADER_BLOCKS * _BLOCK // 80} cards of a header"


def fits_structure_problem(handle: BinaryIO) -> str | None:
    """What makes a FITS file unsafe to hand to astropy, or None: an NAXIS or ZNAXIS outside
    0 to 999 (the FITS standard's limit), a negative size (NAXISn, PCOUNT, GCOUNT), or a
    header without END in its first 3600 cards (astropy would read on, into memory).

    astropy loops over NAXIS axes while opening a file, so ``NAXIS = 1000000000000`` never
    returns, and a negative data size sends it back to an earlier header, forever. Every
    HDU is looked at (up to 16), by walking the headers and skipping the data their sizes
    announce; a file cut short is left to astropy, which says so.
    """
    size = handle.seek(0, os.SEEK_END)
    offset = 0
    for _ in range(_MAX_HDUS):
        if offset >= size:  # no further HDU (or data announced beyond the end: truncated)
            return None
        found = _header_integers(handle, offset)
        if found is None or isinstance(found, str):
            return found
        values, data_start = found
        for key in ("NAXIS", "ZNAXIS"):
            if not 0 <= values.get(key, 0) <= MAX_AXES:
                return f"{key} = {values[key]}, expected 0 to {MAX_AXES} axes"
        negative = sorted(key for key, value in values.items() if value < 0 and key != "BITPIX")
        if negative:
            return f"{negative[0]} = {values[negative[0]]}, expected a size of 0 or more"
        dims = [values.get(f"NAXIS{k}", 0) for k in range(1, values.get("NAXIS", 0) + 1)]
        pixels = math.prod(dims) if dims else 0
        data = (
            abs(values.get("BITPIX", 8))
            // 8
            * values.get("GCOUNT", 1)
            * (values.get("PCOUNT", 0) + pixels)
        )
        offset = data_start + -(-data // _BLOCK) * _BLOCK
    return None


def _check_axis_counts(path: Path) -> None:
    """Refuse a file :func:`fits_structure_problem` finds unsafe, before astropy reads it."""
    with open(path, "rb") as handle:
        problem = fits_structure_problem(handle)
    if problem:
        raise FrameError(f"{path}: {problem}")


def _open_hdul(path: Path) -> tuple[fits.HDUList, str | None]:
    """The file's HDUs, and astropy's truncation warning if it gave one."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    _check_axis_counts(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AstropyUserWarning)
        try:
            hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
        except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
            raise FrameError(f"{path}: not a readable FITS file ({exc})") from exc
    truncated = [str(w.message) for w in caught if "truncated" in str(w.message)]
    return hdul, (truncated[0] if truncated else None)


def _keyword(header: fits.Header, key: str, path: Path, expected: str) -> object:
    if key not in header:
        raise FrameError(f"{path}: header keyword {key} is missing (expected {expected})")
    return header[key]


def describe_frame(
    frame: FitsFrame, keys: HeaderKeys, *, saturation_level: float = 65535.0
) -> FrameInfo:
    """A frame's :class:`FrameInfo` from its header and :data:`SAMPLE_ROWS` spread rows.

    Raises
    ------
    FrameError
        If the type, instrument or exposure-time keyword is missing, or the exposure
        time is not a number.
    """
    header, path = frame.header, frame.path
    caltype = normalise_type(_keyword(header, keys.caltype, path, "the frame type, e.g. BIAS"))
    instrument = str(_keyword(header, keys.instrument, path, "the instrument name")).strip()
    exptime_value = _keyword(header, keys.exptime, path, "the exposure time in s")
    try:
        exptime = float(exptime_value)
    except (TypeError, ValueError):
        raise FrameError(f"{path}: {keys.exptime} is {exptime_value!r}, expected seconds") from None
    ny, nx = frame.shape
    rows = slice(0, ny, max(1, ny // SAMPLE_ROWS))
    counts = frame.integer_dtype  # raw counts read as they are (uint16), else float32
    if counts is None:
        sample = frame[rows]
    else:
        sample = np.empty((len(range(*rows.indices(ny))), nx), counts)
        frame.read_into(rows, sample)
    levels = sample_levels(sample, float(header.get(keys.saturation, saturation_level)))
    return FrameInfo(
        name=path.name,
        shape=frame.shape,
        caltype=caltype,
        instrument=instrument,
        filter=str(header.get(keys.filter, "")).strip(),
        exptime=exptime,
        date=str(header.get(keys.date, "")).strip(),
        median=levels.median,
        saturated_fraction=levels.saturated_fraction,
        finite_fraction=levels.finite_fraction,
        temperature=_number(header, keys.temperature),
        binning=binning_of(header, keys.binning),
        origin=str(header.get("ORIGIN") or "").strip(),
        telescope=str(header.get("TELESCOP") or "").strip(),
    )


def _number(header: fits.Header, key: str) -> float:
    """A keyword's value as a float, NaN when absent or not a number."""
    try:
        return float(header[key]) if key in header else math.nan
    except (TypeError, ValueError, OverflowError):
        return math.nan


def open_frame(
    path: Path | str,
    keys: HeaderKeys | None = None,
    *,
    max_pixels: int = MAX_PIXELS,
    saturation_level: float = 65535.0,
) -> tuple[FitsFrame, FrameInfo]:
    """Open a raw frame and describe it; the caller closes the frame.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    FrameError
        If the file is truncated, not a FITS image, not 2D, larger than ``max_pixels`` or
        lacks a required keyword; the message names the file.
    """
    frame = FitsFrame(Path(path), max_pixels=max_pixels)
    try:
        with _header_errors(frame.path):
            info = describe_frame(frame, keys or HeaderKeys(), saturation_level=saturation_level)
        return frame, info
    except BaseException:
        frame.close()
        raise


def read_master(
    path: Path | str, *, max_pixels: int = MAX_PIXELS
) -> tuple[np.ndarray, fits.Header]:
    """A master's pixels (float32) and header.

    Raises
    ------
    FrameError
        If the file is not a usable 2D FITS image, or every pixel is NaN.
    """
    with FitsFrame(Path(path), max_pixels=max_pixels) as frame:
        data = frame.read_all()
        header = frame.header.copy()
    if not any(np.isfinite(rows).any() for rows in np.array_split(data, 64)):
        raise FrameError(f"{path}: every pixel is NaN, expected a master with finite pixels")
    return data, header


def write_master(path: Path | str, data: np.ndarray, header: fits.Header) -> Path:
    """Write a master as a plain FITS file, atomically (see
    :func:`data_access.safe_files.open_atomic`).

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    if path.name.lower().endswith(".fz"):
        raise ValueError(f"{path}: masters are written as plain .fits (float32), not .fz")
    data = np.asarray(data, dtype=np.float32)
    hdu = fits.PrimaryHDU(data, header)
    hdu.verify("exception")
    with open_atomic(path.parent, path.name) as out:
        out.write(hdu.header.tostring().encode("ascii"))
        _write_pixels(out, data)
    return path


def _write_pixels(out: BinaryIO, data: np.ndarray) -> None:
    """A float32 image's FITS data unit: big-endian, :data:`READ_BUFFER_BYTES` at a time
    (no byte-swapped copy of the whole image), padded with zeros to whole FITS blocks."""
    flat = data.reshape(-1)
    buffer = np.empty(min(flat.size, READ_BUFFER_BYTES // 4), ">f4")
    for start in range(0, flat.size, buffer.size):
        part = buffer[: min(buffer.size, flat.size - start)]
        np.copyto(part, flat[start : start + part.size])
        out.write(part.data)
    out.write(bytes(-(flat.size * 4) % _BLOCK))


def fits_files_in(paths: list[Path | str]) -> list[Path]:
    """FITS files named by paths: files as they are, folders searched (not recursively).

    Raises
    ------
    FileNotFoundError
        If a path does not exist.
    """
    found: list[Path] = []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.is_file() and is_fits_name(p))
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{given}: no such file or folder")
    return found
