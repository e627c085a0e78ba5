"""Stacking: aligned frames of one filter combined into one, with its time keywords.

Each frame is scaled to a rate (divided by its exposure time), the rates are combined
pixel by pixel (median, or mean after sigma clipping), and the result is multiplied by
the total exposure time: the stack reads like one exposure of EXPTIME = the sum, from
the first start (DATE-OBS, MJD-OBS) to the last end (DATE-END, MJD-END), so that one
zero point per second serves frames and stacks alike.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.stats import sigma_clip
from astropy.time import Time

METHODS = ("median", "mean")


@dataclass(frozen=True)
class Stack:
    """A stack of aligned frames.

    Attributes
    ----------
    data : ndarray, float32
        Sum-equivalent image (the frames' unit, e.g. electrons over EXPTIME).
    mask : ndarray of bool
        True where no frame had a good pixel.
    header : astropy.io.fits.Header
        The first frame's header with EXPTIME (s, the sum), DATE-OBS, DATE-END,
        MJD-OBS, MJD-END, MJD-MID, NCOMBINE, COMBMETH and IMCMBnnn (input names).
    """

    data: np.ndarray
    mask: np.ndarray
    header: fits.Header


def exposure_times(
    header: fits.Header, *, exptime_key: str = "EXPTIME", date_key: str = "DATE-OBS"
) -> tuple[Time, Time]:
    """Start and end of an exposure (UTC) from DATE-OBS (or MJD-OBS) and EXPTIME.

    Raises
    ------
    ValueError
        If the header has neither ``date_key`` nor MJD-OBS, or no ``exptime_key``.
    """
    if exptime_key not in header:
        raise ValueError(
            f"header keyword {exptime_key} is missing (expected the exposure time in s)"
        )
    if date_key in header:
        start = Time(str(header[date_key]).strip(), format="isot", scale="utc")
    elif "MJD-OBS" in header:
        start = Time(float(header["MJD-OBS"]), format="mjd", scale="utc")
    else:
        raise ValueError(
            f"header keyword {date_key} (or MJD-OBS) is missing (expected the start time)"
        )
    return start, start + float(header[exptime_key]) * u.s


def stack_frames(
    images: Sequence[np.ndarray],
    headers: Sequence[fits.Header],
    *,
    masks: Sequence[np.ndarray] | None = None,
    names: Sequence[str] | None = None,
    method: str = "median",
    sigma: float = 3.0,
    exptime_key: str = "EXPTIME",
    date_key: str = "DATE-OBS",
) -> Stack:
    """Combine aligned frames of one filter.

    Parameters
    ----------
    images : sequence of ndarray, each (ny, nx)
        Aligned frames, background subtracted, in electrons.
    headers : sequence of Header
        Their headers (EXPTIME in s, DATE-OBS in ISO UTC or MJD-OBS).
    masks : sequence of ndarray of bool, optional
        Their bad pixels, left out of the combine.
    names : sequence of str, optional
        Input names for the IMCMBnnn keywords.
    method : {"median", "mean"}, optional
        Median, or mean after ``sigma`` clipping.
    sigma : float, optional
        Clipping threshold of the mean, standard deviations.

    Returns
    -------
    Stack

    Raises
    ------
    ValueError
        If no frame is given, the shapes differ, the counts of headers/masks differ from
        the frames', the method is unknown or a header lacks its times.
    """
    if not images:
        raise ValueError("stacking needs at least one frame, got none")
    if method not in METHODS:
        raise ValueError(f"stacking method must be one of {METHODS}, got {method!r}")
    if len(headers) != len(images) or (masks is not None and len(masks) != len(images)):
        raise ValueError(f"{len(images)} frames but {len(headers)} headers / masks")
    shape = np.shape(images[0])
    if any(np.shape(image) != shape for image in images):
        raise ValueError(
            f"frames to stack must share one shape, got {[np.shape(i) for i in images]}"
        )
    times = [exposure_times(h, exptime_key=exptime_key, date_key=date_key) for h in headers]
    exptimes = np.array([float(h[exptime_key]) for h in headers])
    rates = np.stack(
        [
            np.asarray(image, np.float32) / np.float32(t)
            for image, t in zip(images, exptimes, strict=True)
        ]
    )
    if masks is not None:
        rates[np.stack([np.asarray(m, bool) for m in masks])] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns become masked
        if method == "median":
            combined = _median_of_good(rates)
        else:
            clipped = sigma_clip(rates, sigma=sigma, axis=0, masked=True, copy=False)
            combined = np.ma.filled(clipped.mean(axis=0).astype(np.float32), np.nan)
    total = float(exptimes.sum())
    mask = ~np.isfinite(combined)
    data = np.where(mask, 0.0, combined * total).astype(np.float32)
    return Stack(
        data, mask, _stack_header(headers, times, total, method, names, exptime_key, date_key)
    )


def _median_of_good(rates: np.ndarray) -> np.ndarray:
    """``np.nanmedian(rates, axis=0)``, with its slow NaN-aware path only where a NaN is.

    ``np.median`` gives the same value wherever a column has no NaN and NaN where it has
    one; only those columns go through ``np.nanmedian`` (4× the time of ``np.median``).
    """
    combined = np.median(rates, axis=0)
    bad = np.isnan(combined)
    if bad.any():
        combined[bad] = np.nanmedian(rates[:, bad], axis=0)
    return combined


def _stack_header(headers, times, total, method, names, exptime_key, date_key) -> fits.Header:
    start = min(t[0] for t in times)
    end = max(t[1] for t in times)
    out = headers[int(np.argmin([t[0].mjd for t in times]))].copy()
    out[exptime_key] = (total, "total exposure time of the stack, s")
    out[date_key] = (start.isot, "start of the first exposure, UTC")
    out["DATE-END"] = (end.isot, "end of the last exposure, UTC")
    out["MJD-OBS"] = (start.mjd, "start of the first exposure, MJD UTC")
    out["MJD-END"] = (end.mjd, "end of the last exposure, MJD UTC")
    out["MJD-MID"] = (
        float(np.mean([(t[0].mjd + t[1].mjd) / 2 for t in times])),
        "mean mid-exposure time, MJD UTC",
    )
    out["NCOMBINE"] = (len(headers), "frames combined")
    out["COMBMETH"] = (method, "gp2 stacking method")
    for k, name in enumerate(names or []):
        out[f"IMCMB{k + 1:03d}"] = str(name)[:68]
    return out
