"""The counterpart's position for PO: the mean of its detections and how well it is known.

The error (POSERR, arcsec) adds in quadrature the candidate's error and the astrometric
fit's:

- the candidate's error is that of the mean position: from the detections' own position
  errors (``pos_err`` of the photometry, centroid errors) when they are given, never less
  than their scatter about the mean (``sqrt(sum(sep**2) / (n (n - 1)))``) when there are
  several distinct positions;
- the astrometric fit's error is the RMS of the frames' fit against the reference
  catalogue, :data:`ASTROMETRY_ERROR_ARCSEC` unless the caller knows better.

A position error of 0 is never written: when neither can be known the position is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord

#: Assumed RMS of the astrometric fit of COLIBRI frames against the reference catalogue
#: (arcsec), used until a run reports its own.
ASTROMETRY_ERROR_ARCSEC = 0.1


@dataclass(frozen=True)
class CounterpartPosition:
    """The mean position of the detections (ICRS, degrees) and its error (arcsec)."""

    ra_deg: float
    dec_deg: float
    error_arcsec: float
    n_detections: int


def counterpart_position(
    ra_deg: np.ndarray,
    dec_deg: np.ndarray,
    pos_err_arcsec: np.ndarray,
    *,
    astrometry_arcsec: float = ASTROMETRY_ERROR_ARCSEC,
    name: str = "the counterpart",
) -> CounterpartPosition:
    """The mean of the detections' positions and its error (see the module docstring).

    Parameters
    ----------
    ra_deg, dec_deg : ndarray
        The detections' positions, degrees (ICRS).
    pos_err_arcsec : ndarray
        Each detection's position error, arcsec; NaN where unknown (then the scatter alone
        gives the candidate's error).
    astrometry_arcsec : float, optional
        RMS of the astrometric fit, arcsec.
    name : str, optional
        What the position is of, in the error message (a burst's ID).

    Raises
    ------
    ValueError
        If there is no detection, or if the error would be 0 or not a number (no position
        error given, positions all the same, no astrometric error): the message names
        ``name``.
    """
    ra_deg, dec_deg = np.asarray(ra_deg, float), np.asarray(dec_deg, float)
    n = ra_deg.size
    if n == 0:
        raise ValueError(f"{name}: no detection, so no position")
    points = SkyCoord(ra_deg * u.deg, dec_deg * u.deg, frame="icrs")
    mean = SkyCoord(points.cartesian.mean(), frame="icrs", representation_type="cartesian")
    mean = SkyCoord(mean.spherical.lon, mean.spherical.lat, frame="icrs")
    scatter = (
        float(np.sqrt(np.sum(points.separation(mean).arcsec ** 2) / (n * (n - 1))))
        if n > 1
        else 0.0
    )
    errors = np.asarray(pos_err_arcsec, float)
    measured = float(np.sqrt(np.sum(errors**2)) / n) if np.isfinite(errors).all() else 0.0
    error = float(np.hypot(max(measured, scatter), astrometry_arcsec))
    if not np.isfinite(error) or error <= 0:
        raise ValueError(
            f"{name}: the position error would be {error} arcsec (no pos_err given, "
            f"{n} detection(s) at one position, astrometric error {astrometry_arcsec}); "
            "give each detection's pos_err in the photometry"
        )
    return CounterpartPosition(float(mean.ra.deg), float(mean.dec.deg), error, n)
