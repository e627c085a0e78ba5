"""Reduction of a raw science frame: bias, dark, flat, gain and the saturation mask.

The GP1's ``redux_coatli`` step: the masters in force (or the files a module's
configuration names) are applied to a raw frame, which comes out in electrons with
a mask of the pixels that cannot be trusted (saturated in the raw frame, dead in the
flat, not finite).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.io import fits

#: Flat-field values below this (relative response) are masked as dead pixels.
MIN_FLAT = 0.05


@dataclass(frozen=True)
class Reduced:
    """A reduced frame.

    Attributes
    ----------
    data : ndarray, float32, shape (ny, nx)
        The frame in electrons (bias, dark and flat corrected, times the gain).
    mask : ndarray, bool, shape (ny, nx)
        True where a pixel is saturated in the raw frame, dead in the flat or not finite.
    header : astropy.io.fits.Header
        The raw header with BUNIT = 'electron', GAIN = 1 (the data are in electrons),
        GAINRAW (the gain applied, e-/ADU), SATURATE (electrons) and HISTORY lines.
    """

    data: np.ndarray
    mask: np.ndarray
    header: fits.Header


def _check_shape(name: str, master: np.ndarray | None, shape: tuple[int, ...]) -> None:
    if master is not None and np.shape(master) != shape:
        msg = f"master {name} has shape {np.shape(master)}, expected the frame's {shape}"
        raise ValueError(msg)


def reduce_frame(
    raw: np.ndarray,
    header: fits.Header,
    *,
    bias: np.ndarray | None = None,
    dark: np.ndarray | None = None,
    dark_exptime: float | None = None,
    flat: np.ndarray | None = None,
    gain: float = 1.0,
    sat_level: float | None = None,
    exptime_key: str = "EXPTIME",
    saturate_key: str = "SATURATE",
) -> Reduced:
    """Apply bias, dark and flat to a raw frame, convert it to electrons, mask saturation.

    Parameters
    ----------
    raw : ndarray, shape (ny, nx)
        The raw frame, ADU.
    header : astropy.io.fits.Header
        Its header; ``exptime_key`` (s) scales the dark.
    bias : ndarray, optional
        Master bias, ADU.
    dark : ndarray, optional
        Master dark: ADU/s when ``dark_exptime`` is None, else ADU at ``dark_exptime`` s;
        bias already subtracted.
    dark_exptime : float, optional
        Exposure time of a master dark kept at one exposure time, s.
    flat : ndarray, optional
        Master flat, relative response (median 1); pixels below :data:`MIN_FLAT` are masked.
    gain : float, optional
        Detector gain, e-/ADU (the notes' ``gain``).
    sat_level : float, optional
        Saturation level of the raw frame, ADU (the notes' ``sat_level``); None: no
        saturation mask.
    exptime_key : str, optional
        Header keyword of the exposure time.
    saturate_key : str, optional
        Header keyword the saturation level (electrons) is written to.

    Returns
    -------
    Reduced

    Raises
    ------
    ValueError
        If the frame is not 2D, a master's shape differs from the frame's, the gain is
        not positive, or a dark is given and the header has no exposure time.
    """
    raw = np.asarray(raw)
    if raw.ndim != 2:
        raise ValueError(f"raw frame must be 2D (ny, nx), got shape {raw.shape}")
    for name, master in (("bias", bias), ("dark", dark), ("flat", flat)):
        _check_shape(name, master, raw.shape)
    if not gain > 0:
        raise ValueError(f"gain must be positive (e-/ADU), got {gain}")
    data = raw.astype(np.float32, copy=True)
    mask = ~np.isfinite(data)
    if sat_level is not None:
        mask |= data >= sat_level
    out = header.copy()
    if bias is not None:
        data -= bias
        out["HISTORY"] = "gp2 reduction: master bias subtracted"
    if dark is not None:
        if exptime_key not in header:
            raise ValueError(
                f"header keyword {exptime_key} is missing (expected the exposure time in s)"
            )
        exptime = float(header[exptime_key])
        scale = exptime if dark_exptime is None else exptime / dark_exptime
        data -= np.float32(scale) * dark
        out["HISTORY"] = f"gp2 reduction: master dark subtracted (x{scale:.4g})"
    if flat is not None:
        dead = ~(flat > MIN_FLAT)
        mask |= dead
        np.divide(data, flat, out=data, where=~dead)
        out["HISTORY"] = "gp2 reduction: divided by the master flat"
    data *= np.float32(gain)
    data[mask & ~np.isfinite(data)] = 0.0
    out["BUNIT"] = "electron"
    out["GAINRAW"] = (float(gain), "gain applied by the reduction, e-/ADU")
    out["GAIN"] = (1.0, "e-/count: the data are in electrons")
    if sat_level is not None:
        out[saturate_key] = (float(sat_level) * gain, "saturation level of the raw frame, e-")
    out["NSATMASK"] = (int(np.count_nonzero(mask)), "pixels masked by the reduction")
    return Reduced(data=data, mask=mask, header=out)
