"""Aperture photometry, the zero point against a reference catalogue, the limiting magnitude.

Magnitudes follow ``mag = zp - 2.5 log10(flux)`` with ``flux`` the background-
subtracted electrons in the aperture of *this* image: the zero point absorbs the
exposure time (for a stack, its total). Catalogue magnitudes are AB, so are the results.
"""

from __future__ import annotations

from dataclasses import dataclass

import astropy.units as u
import numpy as np
import sep
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.stats import sigma_clipped_stats
from astropy.table import Table

from analysis.gp2.alignment import celestial_wcs

#: 2.5 / ln(10): magnitude error of a relative flux error.
MAG_PER_RELATIVE_FLUX = 2.5 / np.log(10.0)

#: Smallest signal-to-noise of a star entering the zero point.
ZP_MIN_SNR = 10.0


@dataclass(frozen=True)
class ZeroPoint:
    """The zero point of an image against a catalogue.

    Attributes
    ----------
    value : float
        mag (AB) of a source of 1 electron in the aperture; NaN when no star matched.
    error : float
        Standard error of ``value``, mag.
    scatter : float
        Standard deviation of the stars' individual zero points, mag.
    n_stars : int
        Stars used after clipping.
    """

    value: float
    error: float
    scatter: float
    n_stars: int

    def to_dict(self) -> dict:
        return {
            "zp": self.value,
            "zp_err": self.error,
            "zp_scatter": self.scatter,
            "zp_stars": self.n_stars,
        }


def aperture_photometry(
    data: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    radius: float,
    rms: float,
    gain: float = 1.0,
    mask: np.ndarray | None = None,
) -> Table:
    """Sum the electrons in circular apertures.

    Parameters
    ----------
    data : ndarray, shape (ny, nx)
        Background-subtracted frame, electrons.
    x, y : ndarray
        Aperture centres, pixels (0-based).
    radius : float
        Aperture radius, pixels.
    rms : float
        Background noise per pixel, electrons.
    gain : float, optional
        e- per count of ``data`` for the Poisson noise of the source (1 for electrons).
    mask : ndarray of bool, optional
        Bad pixels (left out of the sums; such apertures are flagged).

    Returns
    -------
    astropy.table.Table
        ``x``, ``y``, ``flux`` (e-), ``flux_err`` (e-), ``flag`` (sep's aperture flags).

    Raises
    ------
    ValueError
        If the radius is not positive.
    """
    if not radius > 0:
        raise ValueError(f"aperture radius must be positive (pixels), got {radius}")
    x = np.atleast_1d(np.asarray(x, float))
    y = np.atleast_1d(np.asarray(y, float))
    frame = np.ascontiguousarray(data, dtype=np.float32)
    if len(x) == 0:
        return Table(
            {"x": x, "y": y, "flux": x.copy(), "flux_err": x.copy(), "flag": np.zeros(0, int)}
        )
    flux, err, flag = sep.sum_circle(
        frame,
        x,
        y,
        radius,
        err=float(rms),
        gain=gain,
        mask=None if mask is None else np.ascontiguousarray(mask, bool),
        subpix=5,
    )
    return Table(
        {
            "x": x,
            "y": y,
            "flux": np.asarray(flux, float),
            "flux_err": np.asarray(err, float),
            "flag": np.asarray(flag, int),
        }
    )


def magnitudes(
    flux: np.ndarray, flux_err: np.ndarray, zp: ZeroPoint
) -> tuple[np.ndarray, np.ndarray]:
    """AB magnitudes and their errors (the zero point's error included); NaN for flux <= 0."""
    flux = np.asarray(flux, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(flux > 0, zp.value - 2.5 * np.log10(np.where(flux > 0, flux, 1.0)), np.nan)
        mag_err = np.hypot(MAG_PER_RELATIVE_FLUX * np.asarray(flux_err, float) / flux, zp.error)
    return mag, np.where(flux > 0, mag_err, np.nan)


def sky_positions(
    x: np.ndarray, y: np.ndarray, header: fits.Header
) -> tuple[np.ndarray, np.ndarray] | None:
    """RA and Dec (degrees) of pixel positions from the header's WCS, or None without one."""
    wcs = celestial_wcs(header)
    if wcs is None:
        return None
    ra, dec = wcs.pixel_to_world_values(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(ra, float) % 360.0, np.asarray(dec, float)


def catalogue_magnitudes(
    catalogue: Table, filter_name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RA, Dec (degrees) and the AB magnitude in one filter from a reference catalogue.

    The magnitude column is the first of ``FILTER``, ``FILTERmag``, ``mag_FILTER``,
    ``FILTER_mag`` or ``mag`` (case-insensitive); RA and Dec are ``ra``/``dec`` (or
    ``raj2000``/``dej2000``), in degrees.

    Raises
    ------
    ValueError
        If a column is missing; the message lists the columns found.
    """
    columns = {name.lower(): name for name in catalogue.colnames}

    def pick(candidates: list[str], what: str) -> np.ndarray:
        for name in candidates:
            if name.lower() in columns:
                return np.asarray(catalogue[columns[name.lower()]], float)
        raise ValueError(
            f"reference catalogue: no {what} column (tried {candidates}); "
            f"columns are {catalogue.colnames}"
        )

    ra = pick(["ra", "raj2000", "ra_deg"], "RA")
    dec = pick(["dec", "dej2000", "decj2000", "dec_deg"], "Dec")
    f = filter_name.strip()
    mag = pick([f, f"{f}mag", f"mag_{f}", f"{f}_mag", "mag"], f"magnitude for filter {f!r}")
    return ra, dec, mag


def match_catalogue(
    ra: np.ndarray,
    dec: np.ndarray,
    cat_ra: np.ndarray,
    cat_dec: np.ndarray,
    *,
    radius_arcsec: float = 2.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of sources and catalogue stars closer than ``radius_arcsec``.

    Returns
    -------
    index, cat_index : ndarray of int
        Matched source and catalogue rows (each source at most once).
    separation : ndarray
        Their separations, arcsec.
    """
    if len(ra) == 0 or len(cat_ra) == 0:
        empty = np.zeros(0, int)
        return empty, empty, np.zeros(0)
    sources = SkyCoord(np.asarray(ra) * u.deg, np.asarray(dec) * u.deg)
    stars = SkyCoord(np.asarray(cat_ra) * u.deg, np.asarray(cat_dec) * u.deg)
    nearest, separation, _ = sources.match_to_catalog_sky(stars)
    close = separation.arcsec < radius_arcsec
    return np.flatnonzero(close), np.asarray(nearest)[close], separation.arcsec[close]


def zero_point(
    flux: np.ndarray,
    flux_err: np.ndarray,
    catalogue_mag: np.ndarray,
    *,
    sigma: float = 3.0,
    min_snr: float = ZP_MIN_SNR,
) -> ZeroPoint:
    """The zero point from matched stars: sigma-clipped median of ``mag + 2.5 log10 flux``.

    Parameters
    ----------
    flux, flux_err : ndarray
        Aperture fluxes of the matched stars, electrons.
    catalogue_mag : ndarray
        Their catalogue magnitudes, AB.
    sigma : float, optional
        Clipping threshold, standard deviations.
    min_snr : float, optional
        Stars fainter than this signal-to-noise are left out.

    Returns
    -------
    ZeroPoint
        NaN value with ``n_stars`` 0 when no star is usable.
    """
    flux, flux_err = np.asarray(flux, float), np.asarray(flux_err, float)
    catalogue_mag = np.asarray(catalogue_mag, float)
    good = (flux > 0) & np.isfinite(catalogue_mag) & (flux > min_snr * flux_err)
    if not good.any():
        return ZeroPoint(float("nan"), float("nan"), float("nan"), 0)
    values = catalogue_mag[good] + 2.5 * np.log10(flux[good])
    if values.size < 3:
        return ZeroPoint(float(np.median(values)), 0.1, float("nan"), int(values.size))
    mean, median, std = sigma_clipped_stats(values, sigma=sigma, maxiters=5)
    n = int(np.count_nonzero(np.abs(values - median) <= sigma * max(std, 1e-6)))
    return ZeroPoint(float(median), float(1.2533 * std / np.sqrt(max(n, 1))), float(std), n)


def limiting_magnitude(rms: float, radius: float, zp: float, *, nsigma: float = 5.0) -> float:
    """The faintest point source detected at ``nsigma`` in an aperture of ``radius`` pixels.

    Parameters
    ----------
    rms : float
        Background noise per pixel, electrons.
    radius : float
        Aperture radius, pixels.
    zp : float
        Zero point of the image (:class:`ZeroPoint` ``value``), mag.
    nsigma : float, optional
        Detection significance.

    Returns
    -------
    float
        AB magnitude (NaN when the zero point is NaN).
    """
    noise = nsigma * rms * np.sqrt(np.pi * radius**2)
    return float(zp - 2.5 * np.log10(noise)) if noise > 0 else float("nan")
