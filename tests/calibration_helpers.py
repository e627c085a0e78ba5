"""Small synthetic raw calibration frames on disk, for the data-access and CLI tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

SHAPE = (64, 80)


def write_raw(
    folder: Path,
    caltype: str,
    n: int = 5,
    *,
    level: float = 1000.0,
    sigma: float = 2.0,
    instrument: str = "DDRAGO1",
    filter_: str = "g",
    exptime: float | None = None,
    night: str = "2025-03-01",
    seed: int = 0,
    compressed: bool = False,
    prefix: str | None = None,
    cards: dict | None = None,
) -> list[Path]:
    """n raw frames (uint16) of one type: level + Gaussian noise, with a COLIBRI header
    (and ``cards``: a value, or a list of one value per frame)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    exptime = {"bias": 0.0, "dark": 30.0, "flat": 5.0}[caltype] if exptime is None else exptime
    paths = []
    for k in range(n):
        data = np.clip(np.round(rng.normal(level, sigma, SHAPE)), 0, 65535).astype(np.uint16)
        header = fits.Header(
            {
                "IMAGETYP": caltype.upper(),
                "INSTRUME": instrument,
                "FILTER": filter_,
                "EXPTIME": exptime,
                "DATE-OBS": f"{night}T23:{k:02d}:00",
            }
        )
        for key, value in (cards or {}).items():
            header[key] = value[k] if isinstance(value, list) else value
        name = f"{prefix or caltype}_{instrument}_{filter_}_{k:02d}.fits"
        path = folder / (name + (".fz" if compressed else ""))
        if compressed:
            fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, header)]).writeto(path)
        else:
            fits.PrimaryHDU(data, header).writeto(path)
        paths.append(path)
    return paths
