"""GP2's files: science frames in, images and tables out, the photometry CSV, a generated burst.

Frames are read through :mod:`data_access.fits_frames` (the same reader as the
calibration); images and tables are written atomically (temporary file, then rename),
so that a reader never sees half a file.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from analysis.gp2.simulate import SimulatedBurst
from analysis.gp2.stacking import exposure_times
from analysis.gp2.summary import PHOTOMETRY_COLUMNS
from data_access.fits_frames import FitsFrame, FrameError, fits_files_in
from data_access.gp2.records import HeaderKeywords
from data_access.safe_files import open_atomic, write_atomic

__all__ = [
    "FrameError",
    "ImageInfo",
    "fits_files_in",
    "output_folder",
    "read_catalogue",
    "read_image",
    "scan_images",
    "write_fits",
    "write_image",
    "write_photometry",
    "write_table",
    "write_simulated_burst",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")


@dataclass(frozen=True)
class ImageInfo:
    """A science frame described from its header alone (no pixels read).

    ``t_start``/``t_end`` are ISO UTC (empty when the header has no times).
    """

    path: Path
    name: str
    header: fits.Header
    instrument: str
    filter: str
    exptime: float
    t_start: str
    t_end: str


def image_name(path: Path) -> str:
    """A frame's name without its FITS suffixes (``a.fits.fz`` → ``a``)."""
    name = path.name
    for suffix in (".fz", ".fits", ".fit", ".fts"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def read_image(path: Path | str) -> tuple[np.ndarray, fits.Header]:
    """A frame's pixels (float32) and header (``.fits`` or tile-compressed ``.fits.fz``).

    Raises
    ------
    FileNotFoundError, FrameError
        The message names the file.
    """
    with FitsFrame(Path(path)) as frame:
        return frame.read_all(), frame.header.copy()


def describe_image(path: Path | str, keywords: HeaderKeywords | None = None) -> ImageInfo:
    """Header-only description of a science frame (see :class:`ImageInfo`).

    Parameters
    ----------
    path : path
    keywords : HeaderKeywords, optional
        The keywords read (default: ``[gp2]``'s defaults); the instrument may be absent.

    Raises
    ------
    FrameError
        If the file is not a frame, or its header lacks the filter, the exposure time or
        the start of the exposure; the message names the file and the keyword.
    """
    path = Path(path)
    keywords = keywords or HeaderKeywords()
    with FitsFrame(path) as frame:
        header = frame.header.copy()
    filter_name = str(keywords.required(header, "filter", str(path))).strip()
    exptime = keywords.required(header, "exptime", str(path))
    try:
        start, end = exposure_times(
            header, exptime_key=keywords.exptime, date_key=keywords.date_obs
        )
    except ValueError as exc:
        raise FrameError(f"{path}: {exc} ([gp2] date_obs_key names the keyword)") from None
    return ImageInfo(
        path=path,
        name=image_name(path),
        header=header,
        instrument=keywords.text(header, "instrument"),
        filter=filter_name,
        exptime=float(exptime or 0.0),
        t_start=start.isot,
        t_end=end.isot,
    )


def scan_images(
    paths: list[Path | str], *, keywords: HeaderKeywords | None = None
) -> tuple[list[ImageInfo], list[tuple[str, str]]]:
    """Describe every FITS file among ``paths`` (files or folders), time-ordered.

    Returns
    -------
    images : list of ImageInfo
    unreadable : list of (file, reason)
    """
    images, unreadable = [], []
    for path in fits_files_in(paths):
        try:
            images.append(describe_image(path, keywords))
        except (FrameError, OSError) as exc:
            unreadable.append((str(path), str(exc)))
    images.sort(key=lambda i: (i.t_start, i.name))
    return images, unreadable


def output_folder(
    root: Path, header: fits.Header, keys: tuple[str, ...], *, source: str = ""
) -> Path:
    """``root/VALUE1/VALUE2/...`` from header keywords (the notes' [Workspace] headers).

    Raises
    ------
    ValueError
        If a keyword is missing; the message names the file and the keyword.
    """
    folder = Path(root)
    for key in keys:
        if key not in header or str(header[key]).strip() == "":
            raise ValueError(
                f"{source}: header keyword {key} is missing (the output folder is built "
                f"from {', '.join(keys)})"
            )
        folder = folder / (_UNSAFE.sub("_", str(header[key]).strip()) or "_")
    return folder


def write_fits(path: Path | str, hdus: list) -> Path:
    """Write HDUs as one FITS file, atomically (replacing a file of that name)."""
    path = Path(path)
    with open_atomic(path.parent, path.name) as out:
        fits.HDUList(hdus).writeto(out)
    return path


def write_image(
    path: Path | str, data: np.ndarray, header: fits.Header, *, mask: np.ndarray | None = None
) -> Path:
    """Write an image as plain FITS (float32), with its mask as a ``MASK`` extension."""
    hdus = [fits.PrimaryHDU(np.asarray(data, np.float32), header)]
    if mask is not None:
        hdus.append(fits.ImageHDU(np.asarray(mask, np.uint8), name="MASK"))
    return write_fits(path, hdus)


def write_table(path: Path | str, table: Table) -> Path:
    """Write a table as CSV, atomically."""
    path = Path(path)
    text = io.StringIO()
    table.write(text, format="ascii.csv")
    return write_atomic(path.parent, path.name, text.getvalue().encode("utf-8"))


def write_photometry(path: Path | str, table: Table) -> Path:
    """Write the photometry CSV ``gic products build`` reads (:data:`PHOTOMETRY_COLUMNS`)."""
    if tuple(table.colnames) != PHOTOMETRY_COLUMNS:
        raise ValueError(
            f"{path}: photometry columns are {table.colnames}, expected {list(PHOTOMETRY_COLUMNS)}"
        )
    out = table.copy()
    for name in ("mag", "mag_err", "limit_mag", "pos_err"):
        out[name].info.format = ".4f"
    for name in ("ra", "dec"):
        out[name].info.format = ".6f"
    return write_table(path, out)


def read_catalogue(path: Path | str) -> Table:
    """A reference catalogue: CSV (or any astropy ASCII table) or a FITS table.

    Raises
    ------
    FileNotFoundError
        If the file is missing.
    ValueError
        If it cannot be read as a table; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such reference catalogue")
    try:
        if path.name.lower().endswith((".fits", ".fit", ".fits.gz")):
            return Table.read(path, format="fits")
        return Table.read(path, format="ascii.csv" if path.suffix.lower() == ".csv" else "ascii")
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable catalogue table ({exc})") from None


def write_simulated_burst(
    burst: SimulatedBurst, folder: Path | str, *, compress: bool = False
) -> dict[str, Path]:
    """Write a generated burst as a night's files and the notes' INI files to process it.

    ::

        folder/raw/<name>.fits           raw frames (uint16)
        folder/masters/bias.fits, dark.fits (ADU/s), flat_<filter>.fits
        folder/reference/ref_<filter>.fits
        folder/catalogue.csv             ra, dec, one AB magnitude column per filter
        folder/truth.csv                 the transient's true magnitudes
        folder/config/pipeline.cfg       every module on, output in folder/output
        folder/config/module.cfg         a module's file for gic module

    Returns
    -------
    dict
        ``raw``, ``masters``, ``reference``, ``catalogue``, ``truth``, ``config``, ``output``.
    """
    folder = Path(folder)
    raw = folder / "raw"
    for frame in burst.frames:
        if compress:
            hdus = [fits.PrimaryHDU(), fits.CompImageHDU(frame.data, frame.header)]
            write_fits(raw / f"{frame.name}.fits.fz", hdus)
        else:
            write_fits(raw / f"{frame.name}.fits", [fits.PrimaryHDU(frame.data, frame.header)])
    masters = folder / "masters"
    for name, data, unit in (("bias", burst.bias, "ADU"), ("dark", burst.dark, "ADU/s")):
        write_fits(masters / f"{name}.fits", [fits.PrimaryHDU(data, fits.Header({"BUNIT": unit}))])
    for f, flat in burst.flats.items():
        write_fits(masters / f"flat_{f}.fits", [fits.PrimaryHDU(flat, fits.Header({"FILTER": f}))])
    reference = folder / "reference"
    for f, (data, header) in burst.references.items():
        write_fits(reference / f"ref_{f}.fits", [fits.PrimaryHDU(data, header)])
    write_table(folder / "catalogue.csv", burst.catalogue)
    write_table(folder / "truth.csv", burst.truth)
    config = folder / "config"
    calibration = (
        f"[Calibration]\ndark = {masters / 'dark.fits'}\nflat = {masters / 'flat_{FILTER}.fits'}\n"
        f"bias = {masters / 'bias.fits'}\nreference = {reference / 'ref_{FILTER}.fits'}\n"
        f"catalog = {folder / 'catalogue.csv'}\n\n"
    )
    parameters = (
        f"[Parameters]\nps            = {burst.pixel_scale}\ngain          = {burst.gain}\n"
        f"sat_level     = {burst.saturation:g}\ndetect_thresh = 3\n"
    )
    pipeline = (
        "[Workspace]\nheaders = TRGID,INSTRUME,FILTER\n\n"
        f"[Input and Output]\ninput  = {raw}\noutput = {folder / 'output'}\n\n"
        + calibration
        + parameters
        + "\n[Structure of pipeline]\nreduction = yes\nfindstars = yes\nalignment = yes\n"
        "stacking  = no\n"
        "Photometry = yes\nImage subtraction = yes\nSummary = yes\n\n"
        "[Strategy processing]\nmode = standard\n"
    )
    module = (
        f"[Input and Output]\ninput  = {raw}\noutput = {folder / 'module_output'}\n\n"
        + calibration
        + parameters
    )
    write_atomic(config, "pipeline.cfg", pipeline.encode("utf-8"))
    write_atomic(config, "module.cfg", module.encode("utf-8"))
    return {
        "raw": raw,
        "masters": masters,
        "reference": reference,
        "catalogue": folder / "catalogue.csv",
        "truth": folder / "truth.csv",
        "config": config,
        "output": folder / "output",
    }
