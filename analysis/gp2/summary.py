"""Summary of a burst: the transient located across images, measured in each, and its
light curve in the photometry table that ``gic products build`` reads.

The transient is the candidate position found again in the most difference images
(or the one nearest the alert's position when it is given). It is then measured in
every image by forced aperture photometry on the difference image, so that images
where it is too faint give an upper limit (``detected`` 0, ``mag`` = the image's
limiting magnitude, ``mag_err`` 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import MaskedColumn, Table

from analysis.afterglow import JointDecayFit, fit_joint_decay, mid_exposure
from analysis.gp2.photometry import MAG_PER_RELATIVE_FLUX, aperture_photometry
from analysis.products.photometry import REQUIRED_COLUMNS

#: Columns of the photometry table, in order (one row per image and filter): the CSV that
#: ``gic products build`` reads; ``pos_err`` (arcsec) is empty where unknown.
PHOTOMETRY_COLUMNS = (*REQUIRED_COLUMNS, "pos_err")

#: Signal-to-noise at which a forced measurement counts as a detection.
DETECT_SNR = 3.0


@dataclass(frozen=True)
class TransientMeasure:
    """Forced photometry of the transient in one image.

    Attributes
    ----------
    flux, flux_err : float
        Electrons in the aperture of the difference image.
    snr : float
        ``flux / flux_err``.
    mag, mag_err : float
        AB magnitude and error when detected; else ``limit`` and 0.
    limit : float
        The image's limiting magnitude, AB.
    detected : bool
        ``snr >= detect_snr`` and the magnitude is finite.
    """

    flux: float
    flux_err: float
    snr: float
    mag: float
    mag_err: float
    limit: float
    detected: bool


def _members(positions: list[SkyCoord], candidate: SkyCoord, radius_arcsec: float) -> list:
    """Each image's candidate nearest ``candidate``, where it is closer than the radius."""
    members = []
    for coords in positions:
        if len(coords) == 0:
            continue
        separation = candidate.separation(coords).arcsec
        nearest = int(np.argmin(separation))
        if separation[nearest] < radius_arcsec:
            members.append(coords[nearest])
    return members


def _cluster(positions: list[SkyCoord], radius_arcsec: float) -> tuple[SkyCoord, int] | None:
    """The candidate position matched in the most images, and in how many."""
    everything = [c for coords in positions for c in coords]
    if not everything:
        return None
    best, best_members = None, []
    for candidate in everything:
        members = _members(positions, candidate, radius_arcsec)
        if len(members) > len(best_members):
            best, best_members = candidate, members
    ra = np.array([m.ra.deg for m in best_members])
    dec = np.array([m.dec.deg for m in best_members])
    centre = SkyCoord(
        best.ra.deg + np.mean(((ra - best.ra.deg + 180) % 360) - 180), np.mean(dec), unit="deg"
    )
    return centre, len(best_members)


def _positions(
    candidates: Sequence[tuple[np.ndarray, np.ndarray]],
    target: tuple[float, float] | None,
    search_arcsec: float,
) -> list[SkyCoord]:
    """Each image's candidates as sky positions, those within ``search_arcsec`` of the target."""
    positions = []
    for ra, dec in candidates:
        coords = SkyCoord(np.asarray(ra, float) * u.deg, np.asarray(dec, float) * u.deg)
        if target is not None and len(coords):
            centre = SkyCoord(target[0] * u.deg, target[1] * u.deg)
            coords = coords[coords.separation(centre).arcsec < search_arcsec]
        positions.append(coords)
    return positions


def locate_transient(
    candidates: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    target: tuple[float, float] | None = None,
    radius_arcsec: float = 2.0,
    search_arcsec: float = 30.0,
) -> tuple[float, float, int] | None:
    """The transient's position from the candidates of every image of a burst.

    Parameters
    ----------
    candidates : sequence of (ra, dec) arrays
        Each image's candidate positions, degrees.
    target : (ra, dec), optional
        The alert's position, degrees: only candidates within ``search_arcsec`` of it count.
    radius_arcsec : float, optional
        Candidates of two images closer than this are the same source.
    search_arcsec : float, optional
        Search radius around ``target`` (the alert's error circle).

    Returns
    -------
    (ra, dec, n_images) or None
        Degrees, and in how many images it was a candidate; None when no candidate
        qualifies (then the caller may measure at ``target`` itself).
    """
    found = _cluster(_positions(candidates, target, search_arcsec), radius_arcsec)
    if found is None:
        return None
    centre, count = found
    return float(centre.ra.deg % 360.0), float(centre.dec.deg), count


def position_scatter(
    candidates: Sequence[tuple[np.ndarray, np.ndarray]],
    ra: float,
    dec: float,
    *,
    radius_arcsec: float = 2.0,
) -> float:
    """The scatter of the transient's matched candidates about its position: the error of
    one image's position of it.

    Parameters
    ----------
    candidates : sequence of (ra, dec) arrays
        Each image's candidate positions, degrees (as given to :func:`locate_transient`).
    ra, dec : float
        The transient's position (:func:`locate_transient`), degrees.
    radius_arcsec : float, optional
        An image's candidate nearest the position counts when closer than this.

    Returns
    -------
    float
        ``sqrt(sum(sep**2) / (n - 1))`` over the ``n`` images' matched candidates, arcsec
        (one degree of freedom goes to the mean position); NaN with fewer than two.
    """
    centre = SkyCoord(ra * u.deg, dec * u.deg)
    members = _members(_positions(candidates, None, 0.0), centre, radius_arcsec)
    if len(members) < 2:
        return math.nan
    separation = np.array([centre.separation(m).arcsec for m in members])
    return float(np.sqrt(np.sum(separation**2) / (len(members) - 1)))


def detection_position_error(
    scatter_arcsec: float, residual_px: float, pixel_scale_arcsec: float
) -> float:
    """One image's position error of the transient, arcsec: the candidates' scatter
    (:func:`position_scatter`) and the image's alignment residual added in quadrature.

    Parameters
    ----------
    scatter_arcsec : float
        NaN when unknown (then the residual alone).
    residual_px : float
        RMS residual of the image's alignment, pixels (0 or NaN when none).
    pixel_scale_arcsec : float
        The image's pixel scale, arcsec per pixel.

    Returns
    -------
    float
        Arcsec; NaN when neither term is known (the photometry's ``pos_err`` left empty).
    """
    terms = [scatter_arcsec, residual_px * pixel_scale_arcsec]
    known = [t for t in terms if math.isfinite(t) and t > 0]
    return float(np.hypot(*known)) if len(known) == 2 else (known[0] if known else math.nan)


def measure_transient(
    difference: np.ndarray,
    x: float,
    y: float,
    *,
    radius: float,
    rms: float,
    zp: float,
    zp_err: float,
    limit: float,
    mask: np.ndarray | None = None,
    detect_snr: float = DETECT_SNR,
) -> TransientMeasure:
    """Forced aperture photometry of the transient on a difference image.

    Parameters
    ----------
    difference : ndarray
        Difference image, electrons.
    x, y : float
        Transient position on it, pixels.
    radius : float
        Aperture radius, pixels.
    rms : float
        Noise of the difference per pixel, electrons.
    zp, zp_err : float
        The science image's zero point and its error, mag.
    limit : float
        The image's limiting magnitude, AB.
    mask : ndarray of bool, optional
    detect_snr : float, optional

    Returns
    -------
    TransientMeasure
    """
    row = aperture_photometry(difference, [x], [y], radius=radius, rms=rms, mask=mask)[0]
    flux, err = float(row["flux"]), float(row["flux_err"])
    snr = flux / err if err > 0 else 0.0
    detected = bool(snr >= detect_snr and flux > 0 and np.isfinite(zp))
    if detected:
        mag = zp - 2.5 * np.log10(flux)
        mag_err = float(
            np.hypot(MAG_PER_RELATIVE_FLUX / snr, zp_err if np.isfinite(zp_err) else 0.0)
        )
        return TransientMeasure(flux, err, snr, float(mag), mag_err, limit, True)
    return TransientMeasure(flux, err, snr, limit, 0.0, limit, False)


def light_curve_table(rows: Sequence[dict]) -> Table:
    """The photometry table, :data:`PHOTOMETRY_COLUMNS` in order, sorted by ``t_start``.

    Each row is a mapping with those keys: times as ISO UTC strings, ``exptime`` in s,
    magnitudes AB, ``detected`` 1 or 0, ``ra``/``dec`` in degrees, and optionally
    ``pos_err`` in arcsec (masked where missing or NaN: unknown).

    Raises
    ------
    ValueError
        If a row lacks a column; the message names the image and the column.
    """
    for row in rows:
        missing = [c for c in REQUIRED_COLUMNS if c not in row]
        if missing:
            raise ValueError(f"photometry row {row.get('image_id', '?')}: missing {missing}")
    ordered = sorted(rows, key=lambda r: (str(r["t_start"]), str(r["filter"])))
    table = Table(
        names=REQUIRED_COLUMNS,
        dtype=(str, str, str, str, float, float, float, float, int, float, float),
    )
    for row in ordered:
        table.add_row([row[c] if c != "detected" else int(bool(row[c])) for c in REQUIRED_COLUMNS])
    pos_err = np.array([row.get("pos_err", math.nan) for row in ordered], dtype=float)
    table["pos_err"] = MaskedColumn(pos_err, mask=~np.isfinite(pos_err))
    return table


def fit_decay(
    t_start: np.ndarray,
    t_end: np.ndarray,
    mag: np.ndarray,
    mag_err: np.ndarray,
    filters: Sequence[str] | None = None,
) -> JointDecayFit:
    """The decay of a burst's exposures: :func:`analysis.afterglow.fit_joint_decay` (one α,
    one offset per filter) at their mid-exposure times.

    Parameters
    ----------
    t_start, t_end : ndarray
        Exposure start and end after the trigger, s (positive; equal for instants).
    mag, mag_err : ndarray
        Detected magnitudes (AB) and their errors, mag.
    filters : sequence of str, optional
        Each point's filter; all one filter when None.

    Returns
    -------
    JointDecayFit
        The joint α and its error, multiplied by √(χ²/dof) when χ²/dof > 1 (as the
        per-filter fits' are), and χ²/dof itself (``chi2_reduced``).

    Raises
    ------
    ValueError
        If an exposure ends before it starts, or as :func:`~analysis.afterglow.fit_joint_decay`.
    """
    t1, t2 = np.asarray(t_start, float), np.asarray(t_end, float)
    if np.any(t2 < t1):
        raise ValueError("fit_decay needs exposures that end after they start (t_start <= t_end)")
    return fit_joint_decay(mid_exposure(t1, t2), mag, mag_err, filters)
