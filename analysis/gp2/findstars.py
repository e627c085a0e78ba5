"""Source extraction (SExtractor's algorithm, through sep) and the PSF size estimate.

The sky background is measured on a grid of boxes and subtracted; sources are groups
of at least ``minarea`` connected pixels ``detect_thresh`` times the background noise
above it. The PSF FWHM is the median over isolated, unsaturated, round stars of twice
their half-light radius (exact for a Gaussian PSF); hot pixels and cosmic-ray streaks are
left out of it (see :func:`estimate_fwhm`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sep
from astropy.table import Table

#: Largest number of pixels sep keeps while extracting (DDRAGO frames need many).
PIXSTACK = 10_000_000

#: FWHM = 2 × half-light radius for a Gaussian profile.
FWHM_PER_HALF_LIGHT_RADIUS = 2.0

#: Largest fraction of a star's flux in its brightest pixel: a Gaussian PSF puts
#: 4 ln 2 / (π FWHM²) there (0.39 at 1.5 px); a hot pixel nearly all of it.
MAX_PEAK_FRACTION = 0.5

#: Smallest FWHM of a star, pixels (below it a detection is a cosmic ray or noise).
MIN_FWHM = 1.0

#: Smallest minor/major axis ratio of a star (a cosmic-ray streak is long and thin).
MIN_AXIS_RATIO = 0.6

#: Relative distance from the bright stars' FWHM within which a source counts as a star.
PSF_TOLERANCE = 0.3

#: Stars the FWHM median is taken over (the brightest).
MAX_FWHM_STARS = 50


@dataclass(frozen=True)
class Sources:
    """Sources extracted from a frame.

    Attributes
    ----------
    table : astropy.table.Table
        One row per source: ``x``, ``y`` (pixels, 0-based, numpy order: x along a row),
        ``flux`` (e-, isophotal, background subtracted), ``peak`` (e-), ``a``, ``b``
        (pixels), ``theta`` (rad), ``npix``, ``flag`` (sep flags), ``fwhm`` (pixels),
        sorted by decreasing flux.
    background : ndarray, float32
        The sky background map, in the frame's unit.
    rms : float
        Global background noise, in the frame's unit per pixel.
    fwhm : float
        PSF FWHM estimate, pixels (NaN when no star qualifies).
    n_stars_fwhm : int
        Stars the FWHM estimate used.
    """

    table: Table
    background: np.ndarray
    rms: float
    fwhm: float
    n_stars_fwhm: int


def _stellar(table: Table, saturation: float | None) -> np.ndarray:
    """Which sources may be stars: unflagged, unsaturated, round, resolved and not too small."""
    flux = np.asarray(table["flux"], float)
    fwhm = np.asarray(table["fwhm"], float)
    peak = np.asarray(table["peak"], float)
    with np.errstate(divide="ignore", invalid="ignore"):
        good = (np.asarray(table["flag"]) == 0) & np.isfinite(fwhm) & (fwhm >= MIN_FWHM)
        good &= (flux > 0) & (peak / flux <= MAX_PEAK_FRACTION)
        good &= np.asarray(table["b"]) >= MIN_AXIS_RATIO * np.asarray(table["a"])
    if saturation is not None:
        good &= peak < 0.8 * saturation
    return good


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def estimate_fwhm(
    table: Table, *, saturation: float | None = None, min_stars: int = 3
) -> tuple[float, int]:
    """The PSF FWHM from extracted sources, following the stars rather than cosmic rays.

    A source may be a star when it is unflagged, unsaturated, round (minor axis at least
    :data:`MIN_AXIS_RATIO` of the major), at least :data:`MIN_FWHM` across and has at most
    :data:`MAX_PEAK_FRACTION` of its flux in its brightest pixel (a hot pixel has nearly
    all of it there). Cosmic rays that pass are still sharper than the PSF: the stars'
    FWHM is first taken as the flux-weighted median of the candidates (the bright stars
    carry the light), then as the median of the brightest 50 candidates within
    :data:`PSF_TOLERANCE` of it.

    Parameters
    ----------
    table : astropy.table.Table
        Sources with ``fwhm``, ``flux``, ``flag``, ``a``, ``b`` and ``peak`` columns
        (see :class:`Sources`), sorted by decreasing flux.
    saturation : float, optional
        Peak level above which a star is saturated, in the frame's unit.
    min_stars : int, optional
        Fewest stars accepted; fewer gives NaN.

    Returns
    -------
    fwhm : float
        Pixels, NaN when fewer than ``min_stars`` stars qualify.
    n : int
        Stars used.
    """
    if len(table) == 0:
        return float("nan"), 0
    good = _stellar(table, saturation)
    values = np.asarray(table["fwhm"], float)[good]
    if values.size < min_stars:
        return float("nan"), int(values.size)
    first = _weighted_median(values, np.asarray(table["flux"], float)[good])
    stars = values[np.abs(values / first - 1.0) <= PSF_TOLERANCE][:MAX_FWHM_STARS]
    if stars.size < min_stars:
        return float("nan"), int(stars.size)
    return float(np.median(stars)), int(stars.size)


def find_stars(
    data: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    detect_thresh: float = 3.0,
    minarea: int = 5,
    box: int = 64,
    saturation: float | None = None,
    deblend_cont: float = 0.005,
) -> Sources:
    """Measure the background and extract the sources of a frame.

    Parameters
    ----------
    data : ndarray, shape (ny, nx)
        The reduced frame (electrons), sky included.
    mask : ndarray of bool, optional
        Pixels to ignore (saturated, dead, cosmic rays).
    detect_thresh : float, optional
        Detection threshold, in units of the background noise (the notes' ``detect_thresh``).
    minarea : int, optional
        Fewest connected pixels of a source.
    box : int, optional
        Size of the background boxes, pixels.
    saturation : float, optional
        Saturation level, in the frame's unit (stars above it do not enter the FWHM).
    deblend_cont : float, optional
        Minimum contrast of a deblended component (SExtractor's DEBLEND_MINCONT).

    Returns
    -------
    Sources

    Raises
    ------
    ValueError
        If the frame is not 2D, the mask's shape differs, or the threshold is not positive.
    """
    frame = np.ascontiguousarray(data, dtype=np.float32)
    if frame.ndim != 2:
        raise ValueError(f"frame must be 2D (ny, nx), got shape {frame.shape}")
    if mask is not None and np.shape(mask) != frame.shape:
        raise ValueError(f"mask has shape {np.shape(mask)}, expected the frame's {frame.shape}")
    if not detect_thresh > 0:
        raise ValueError(f"detect_thresh must be positive (noise units), got {detect_thresh}")
    mask = None if mask is None else np.ascontiguousarray(mask, dtype=bool)
    sep.set_extract_pixstack(PIXSTACK)
    background = sep.Background(frame, mask=mask, bw=box, bh=box, fw=3, fh=3)
    back = background.back(dtype=np.float32)
    rms = float(background.globalrms)
    subtracted = frame - back
    found = sep.extract(
        subtracted, detect_thresh, err=rms, mask=mask, minarea=minarea, deblend_cont=deblend_cont
    )
    table = _sources_table(subtracted, found)
    fwhm, used = estimate_fwhm(table, saturation=saturation)
    return Sources(table=table, background=back, rms=rms, fwhm=fwhm, n_stars_fwhm=used)


def _sources_table(subtracted: np.ndarray, found: np.ndarray) -> Table:
    order = np.argsort(-found["flux"], kind="stable")
    found = found[order]
    fwhm = np.full(len(found), np.nan)
    if len(found):
        radius, flags = sep.flux_radius(
            subtracted, found["x"], found["y"], 6.0 * np.maximum(found["a"], 1.0), 0.5, subpix=5
        )
        fwhm = np.where(flags == 0, FWHM_PER_HALF_LIGHT_RADIUS * radius, np.nan)
    return Table(
        {
            "x": np.asarray(found["x"], float),
            "y": np.asarray(found["y"], float),
            "flux": np.asarray(found["flux"], float),
            "peak": np.asarray(found["peak"], float),
            "a": np.asarray(found["a"], float),
            "b": np.asarray(found["b"], float),
            "theta": np.asarray(found["theta"], float),
            "npix": np.asarray(found["npix"], int),
            "flag": np.asarray(found["flag"], int),
            "fwhm": fwhm,
        }
    )
