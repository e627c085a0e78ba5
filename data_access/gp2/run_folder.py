"""A run's folder: its results written as tables and display images, and read back.

The layout of the folder is described in :mod:`data_access.gp2.runs`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits

from analysis.gp2.alignment import celestial_wcs
from analysis.images import block_mean, block_size
from data_access.gp2.config import ModuleSettings
from data_access.gp2.files import write_fits
from data_access.gp2.records import RunResult


@dataclass(frozen=True)
class StoredRun:
    """A run read back from its folder.

    Attributes
    ----------
    run_id : str
    folder : Path
    meta : dict
        ``run.json``: source, burst_id, t0, steps, parameters, calibration, started_at,
        finished_at, user, decay, transient, failures.
    images : DataFrame
        Per image: name, path, filter, t_start, t_end, exptime, fwhm, zp, zp_err,
        limit_mag, n_sources, n_candidates, error.
    light_curve, sources, candidates : DataFrame
        The photometry table; every source (image_id, x, y...); every candidate
        (image_id, x, y, ra, dec, snr, transient, and x_frame, y_frame: its position in
        the reduced frame's pixels).
    """

    run_id: str
    folder: Path
    meta: dict
    images: pd.DataFrame
    light_curve: pd.DataFrame
    sources: pd.DataFrame
    candidates: pd.DataFrame

    def image(self, name: str, kind: str) -> tuple[np.ndarray, int] | None:
        """The ``reduced`` or ``difference`` image of one frame kept for display, with its
        block size (frame pixels per side of a pixel shown), or None when the run did not
        make it."""
        path = self.folder / "display.fits"
        if not path.is_file():
            return None
        with fits.open(path) as hdul:
            extension = f"{name}:{kind}"
            if extension not in hdul:
                return None
            hdu = hdul[extension]
            return np.asarray(hdu.data, np.float32), int(hdu.header["BLOCK"])

    def display_wcs(self, name: str, kind: str):
        """The celestial WCS (frame pixels) of the ``reduced`` image of one frame (the frame's
        as it was read) or of its ``difference`` image (the aligned grid's, kept with it), or
        None when it has none."""
        if kind == "reduced":
            header = self.header(name)
            return celestial_wcs(header) if header is not None else None
        path = self.folder / "display.fits"
        if not path.is_file():
            return None
        with fits.open(path) as hdul:
            extension = f"{name}:{kind}"
            return celestial_wcs(hdul[extension].header) if extension in hdul else None

    def header(self, name: str) -> fits.Header | None:
        """The header of the frame the run read as ``name`` (its WCS places the reduced
        image on the sky), or None when it is gone or unreadable."""
        rows = self.images[self.images["name"] == name] if "name" in self.images else []
        return _raw_header(str(rows["path"].iloc[0])) if len(rows) else None

    @property
    def photometry_path(self) -> Path:
        return self.folder / "photometry.csv"


def masters_used(inputs: dict) -> list[dict]:
    """The masters a run read (:attr:`RunResult.inputs`), one row per file and kind of
    frame: caltype, instrument, filter, file, n_images (the frames it served)."""
    counts = Counter(
        (caltype, used["instrument"], used["filter"], str(used[caltype]))
        for used in inputs.values()
        for caltype in ("bias", "dark", "flat")
        if used.get(caltype)
    )
    return [
        {"caltype": c, "instrument": i, "filter": f, "file": path, "n_images": n}
        for (c, i, f, path), n in sorted(counts.items())
    ]


def _json(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _number(value) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _image_row(r) -> dict:
    return {
        "name": r.name,
        "path": r.path,
        "filter": r.filter,
        "t_start": r.t_start,
        "t_end": r.t_end,
        "exptime": _number(r.exptime),
        "fwhm": _number(r.fwhm),
        "zp": _number(r.zp),
        "zp_err": _number(r.zp_err),
        "limit_mag": _number(r.limit_mag),
        "n_sources": 0 if r.sources is None else len(r.sources),
        "n_candidates": 0 if r.candidates is None else len(r.candidates),
        "error": r.error,
    }


def _calibration(reduction: ModuleSettings, later: ModuleSettings) -> dict:
    return {
        "bias": reduction.bias,
        "dark": reduction.dark,
        "flat": reduction.flat,
        "reference": later.reference,
        "catalog": later.catalog,
    }


def _sources(results) -> pd.DataFrame:
    frames = []
    for r in results:
        if r.sources is None or len(r.sources) == 0:
            continue
        table = r.sources.to_pandas()
        table.insert(0, "image_id", r.name)
        frames.append(table)
    if not frames:
        return pd.DataFrame(
            {
                "image_id": pd.Series(dtype=str),
                "x": pd.Series(dtype=float),
                "y": pd.Series(dtype=float),
            }
        )
    return pd.concat(frames, ignore_index=True)


def _frame_positions(header, ra, dec) -> tuple[np.ndarray, np.ndarray]:
    """Sky positions in the pixels of the frame as it was read (before any alignment)."""
    wcs = celestial_wcs(header) if header is not None else None
    if wcs is None or len(ra) == 0:
        return np.full(len(ra), np.nan), np.full(len(ra), np.nan)
    x, y = wcs.world_to_pixel_values(np.asarray(ra, float), np.asarray(dec, float))
    return np.asarray(x, float), np.asarray(y, float)


def _candidates(result: RunResult) -> pd.DataFrame:
    table = (
        result.candidates.to_pandas()
        if len(result.candidates)
        else pd.DataFrame(columns=["image_id", "filter", "x", "y", "ra", "dec", "snr", "transient"])
    )
    table["x_frame"], table["y_frame"] = np.nan, np.nan
    for r in result.images:
        rows = table["image_id"] == r.name
        if rows.any() and r.path:
            header = _raw_header(r.path)
            x, y = _frame_positions(header, table.loc[rows, "ra"], table.loc[rows, "dec"])
            table.loc[rows, "x_frame"], table.loc[rows, "y_frame"] = x, y
    return table


def _raw_header(path: str):
    try:
        return fits.getheader(path, 1 if path.endswith(".fz") else 0)
    except (OSError, IndexError):
        return None


def _write_display(path: Path, results) -> None:
    hdus = [fits.PrimaryHDU()]
    for r in results:
        for kind, data in (("reduced", r.reduced), ("difference", r.difference)):
            if data is None:
                continue
            header = fits.Header([("BLOCK", block_size(data.shape), "frame pixels per pixel")])
            wcs = celestial_wcs(r.header) if kind == "difference" and r.header is not None else None
            if wcs is not None:  # the aligned grid's (the reduced image's is the frame's)
                header.update(wcs.to_header(relax=True))
            hdus.append(fits.ImageHDU(block_mean(data), header, name=f"{r.name}:{kind}"))
    write_fits(path, hdus)


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame()
    return pd.read_csv(path)
