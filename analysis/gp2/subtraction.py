"""Image subtraction: a reference brought to a science frame's PSF and flux, subtracted,
and the candidates above a threshold in the difference (hotpants' role in gmadet).

PSF matching is by a Gaussian kernel: the sharper of the two images is convolved with
a Gaussian of width ``sqrt(fwhm_broad² - fwhm_sharp²)``, which is exact for Gaussian
PSFs and good for the near-Gaussian seeing-limited PSFs of a small telescope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sep
from astropy.table import Table
from scipy import ndimage

#: FWHM of a Gaussian over its standard deviation.
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
#: Relative growth of the FWHM above which a subtraction is taken to have broadened the PSF
#: (below it, the image's own zero point still holds for the difference).
PSF_BROADENING = 1e-4
#: A known star this many magnitudes above the limit gets the base mask radius...
KNOWN_BRIGHT_FROM_MAG = 5.0
#: ...which grows by this fraction of itself per magnitude brighter...
KNOWN_RADIUS_GROWTH_PER_MAG = 0.3
#: ...over at most this many magnitudes.
KNOWN_BRIGHT_SPAN_MAG = 10.0


@dataclass(frozen=True)
class Difference:
    """A difference image, science minus the matched reference.

    Attributes
    ----------
    data : ndarray, float32
        Electrons of the science frame's scale.
    mask : ndarray of bool
        Pixels bad in either image.
    rms : float
        Robust noise of the difference per pixel, electrons.
    fwhm : float
        PSF FWHM of the difference (the broader of the two), pixels.
    scale : float
        Factor the reference was multiplied by (flux ratio science / reference).
    """

    data: np.ndarray
    mask: np.ndarray
    rms: float
    fwhm: float
    scale: float


def match_psf(image: np.ndarray, fwhm: float, target_fwhm: float) -> np.ndarray:
    """Blur an image of PSF ``fwhm`` to ``target_fwhm`` (pixels) with a Gaussian kernel.

    An image already at or above the target is returned unchanged (as float32).
    """
    image = np.asarray(image, np.float32)
    if not (np.isfinite(fwhm) and np.isfinite(target_fwhm)) or target_fwhm <= fwhm:
        return image
    sigma = np.sqrt(target_fwhm**2 - fwhm**2) / FWHM_PER_SIGMA
    return ndimage.gaussian_filter(image, sigma, mode="nearest")


def robust_rms(data: np.ndarray, mask: np.ndarray | None = None) -> float:
    """1.4826 × the median absolute deviation of the good pixels (electrons)."""
    values = np.asarray(data)[~mask] if mask is not None else np.asarray(data).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan")
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def subtract_reference(
    science: np.ndarray,
    reference: np.ndarray,
    *,
    science_fwhm: float,
    reference_fwhm: float,
    scale: float = 1.0,
    science_mask: np.ndarray | None = None,
    reference_mask: np.ndarray | None = None,
) -> Difference:
    """Subtract a reference from a science frame after PSF and flux matching.

    Parameters
    ----------
    science, reference : ndarray, shape (ny, nx)
        Background-subtracted frames on one pixel grid (aligned), electrons.
    science_fwhm, reference_fwhm : float
        Their PSF FWHM, pixels.
    scale : float, optional
        Flux ratio science / reference for one source, e.g. ``10**(0.4 (zp_sci - zp_ref))``.
    science_mask, reference_mask : ndarray of bool, optional
        Their bad pixels.

    Returns
    -------
    Difference

    Raises
    ------
    ValueError
        If the shapes differ or a FWHM is not a positive number.
    """
    if np.shape(science) != np.shape(reference):
        raise ValueError(
            f"science {np.shape(science)} and reference {np.shape(reference)} "
            "must be aligned on one grid"
        )
    for name, value in (("science_fwhm", science_fwhm), ("reference_fwhm", reference_fwhm)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number of pixels, got {value}")
    target = max(science_fwhm, reference_fwhm)
    sci = match_psf(science, science_fwhm, target)
    ref = match_psf(reference, reference_fwhm, target)
    mask = np.zeros(np.shape(science), bool)
    for bad in (science_mask, reference_mask):
        if bad is not None:
            mask |= ndimage.binary_dilation(np.asarray(bad, bool), iterations=2)
    data = (sci - np.float32(scale) * ref).astype(np.float32)
    data[mask] = 0.0
    return Difference(data, mask, robust_rms(data, mask), float(target), float(scale))


def psf_broadened(fwhm: float, difference_fwhm: float) -> bool:
    """True when the difference's PSF is wider than the image's (by :data:`PSF_BROADENING`)."""
    return difference_fwhm > fwhm * (1.0 + PSF_BROADENING)


def known_source_radius(
    base: float, limit: float, magnitudes: np.ndarray | float
) -> np.ndarray | float:
    """Mask radius (pixels) of known stars: ``base`` for those fainter than the limit minus
    :data:`KNOWN_BRIGHT_FROM_MAG`, larger for brighter ones, since their wings reach further
    (:data:`KNOWN_RADIUS_GROWTH_PER_MAG` per magnitude, over :data:`KNOWN_BRIGHT_SPAN_MAG`).
    Without a finite limit every star gets ``base``."""
    if not math.isfinite(limit):
        return base
    bright = np.clip(limit - KNOWN_BRIGHT_FROM_MAG - magnitudes, 0.0, KNOWN_BRIGHT_SPAN_MAG)
    return base * (1.0 + KNOWN_RADIUS_GROWTH_PER_MAG * bright)


def known_source_mask(
    shape: tuple[int, int], x: np.ndarray, y: np.ndarray, radius: np.ndarray | float
) -> np.ndarray:
    """True within ``radius`` pixels of each known source (a disc per source)."""
    mask = np.zeros(shape, bool)
    radius = np.broadcast_to(np.asarray(radius, float), np.shape(x))
    ny, nx = shape
    for cx, cy, r in zip(np.asarray(x, float), np.asarray(y, float), radius, strict=True):
        x0, x1 = max(int(cx - r), 0), min(int(cx + r) + 2, nx)
        y0, y1 = max(int(cy - r), 0), min(int(cy + r) + 2, ny)
        if x0 >= x1 or y0 >= y1:
            continue
        yy, xx = np.ogrid[y0:y1, x0:x1]
        mask[y0:y1, x0:x1] |= (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    return mask


def find_candidates(
    difference: Difference,
    *,
    threshold: float = 5.0,
    minarea: int = 5,
    known_x: np.ndarray | None = None,
    known_y: np.ndarray | None = None,
    known_radius: np.ndarray | float = 0.0,
) -> Table:
    """Sources of the difference image above ``threshold`` σ, away from known sources.

    Parameters
    ----------
    difference : Difference
    threshold : float, optional
        Detection threshold per pixel, in units of the difference's noise.
    minarea : int, optional
        Fewest connected pixels of a candidate.
    known_x, known_y : ndarray, optional
        Pixel positions of known sources (catalogue stars, the reference's sources),
        masked before the search so that their residuals are not candidates.
    known_radius : float or ndarray, optional
        Radius of each mask disc, pixels.

    Returns
    -------
    astropy.table.Table
        ``x``, ``y`` (pixels), ``flux`` (e-, isophotal), ``peak``, ``snr`` (isophotal
        flux over its noise), ``npix``, sorted by decreasing ``snr``.
    """
    mask = difference.mask.copy()
    if known_x is not None and len(known_x):
        mask |= known_source_mask(difference.data.shape, known_x, known_y, known_radius)
    data = np.ascontiguousarray(difference.data, np.float32)
    rms = difference.rms if difference.rms > 0 else 1.0
    found = sep.extract(data, threshold, err=rms, mask=mask, minarea=minarea)
    snr = found["flux"] / (rms * np.sqrt(np.maximum(found["npix"], 1)))
    order = np.argsort(-snr, kind="stable")
    return Table(
        {
            "x": np.asarray(found["x"], float)[order],
            "y": np.asarray(found["y"], float)[order],
            "flux": np.asarray(found["flux"], float)[order],
            "peak": np.asarray(found["peak"], float)[order],
            "snr": np.asarray(snr, float)[order],
            "npix": np.asarray(found["npix"], int)[order],
        }
    )
