"""Alignment: a frame resampled onto a reference frame's pixel grid.

The transform from frame pixels to reference pixels comes from the two WCS when both
headers carry one (exact and deterministic), else from the detected sources matched by
asterisms (astroalign), refitted by least squares on every matched pair. Pixel
coordinates are 0-based, ``x`` along a row, as in :mod:`.findstars`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import astroalign
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning
from scipy import ndimage

#: Brightest sources handed to astroalign.
MAX_CONTROL_POINTS = 50

#: Header keywords of a celestial WCS (the only ones an aligned frame takes from its reference).
WCS_KEYS = (
    "WCSAXES",
    "CD1_",
    "CD2_",
    "PC1_",
    "PC2_",
    "CDELT",
    "CRPIX",
    "CRVAL",
    "CTYPE",
    "CUNIT",
    "RADESYS",
    "EQUINOX",
    "LONPOLE",
    "LATPOLE",
    "A_",
    "B_",
    "AP_",
    "BP_",
)

#: Points per axis of the grid used to fit a WCS-to-WCS transform.
WCS_GRID = 8


@dataclass(frozen=True)
class Alignment:
    """An affine transform from a frame's pixels to the reference's pixels.

    Attributes
    ----------
    matrix : ndarray, shape (3, 3)
        Homogeneous matrix: ``[x_ref, y_ref, 1] = matrix @ [x, y, 1]`` (pixels).
    method : str
        ``wcs``, ``sources`` or ``identity``.
    n_matches : int
        Control points the fit used.
    residual : float
        RMS distance between mapped and reference control points, pixels.
    """

    matrix: np.ndarray
    method: str
    n_matches: int
    residual: float

    @classmethod
    def identity(cls) -> Alignment:
        return cls(np.eye(3), "identity", 0, 0.0)

    def apply(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frame pixel positions mapped to reference pixel positions."""
        m = self.matrix
        x, y = np.asarray(x, float), np.asarray(y, float)
        return m[0, 0] * x + m[0, 1] * y + m[0, 2], m[1, 0] * x + m[1, 1] * y + m[1, 2]


def celestial_wcs(header: fits.Header) -> WCS | None:
    """The header's celestial WCS, or None when it has none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(header, naxis=2) if "CTYPE1" in header else None
    return wcs if wcs is not None and wcs.has_celestial else None


def _fit_affine(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, float]:
    design = np.column_stack([src, np.ones(len(src))])
    solution, *_ = np.linalg.lstsq(design, dst, rcond=None)
    matrix = np.eye(3)
    matrix[:2, :] = solution.T
    residual = float(np.sqrt(np.mean(np.sum((design @ solution - dst) ** 2, axis=1))))
    return matrix, residual


def transform_from_wcs(
    header: fits.Header, reference_header: fits.Header, shape: tuple[int, int]
) -> Alignment:
    """The transform given by two headers' WCS.

    Parameters
    ----------
    header, reference_header : astropy.io.fits.Header
        The frame's and the reference's headers, each with a celestial WCS.
    shape : tuple of int
        The frame's (ny, nx).

    Raises
    ------
    ValueError
        If either header has no celestial WCS.
    """
    wcs, reference = celestial_wcs(header), celestial_wcs(reference_header)
    if wcs is None or reference is None:
        which = "frame" if wcs is None else "reference"
        raise ValueError(f"the {which} header has no celestial WCS (CTYPE1/CTYPE2, CRVAL, CD)")
    ny, nx = shape
    gx, gy = np.meshgrid(np.linspace(0, nx - 1, WCS_GRID), np.linspace(0, ny - 1, WCS_GRID))
    world = wcs.pixel_to_world_values(gx.ravel(), gy.ravel())
    rx, ry = reference.world_to_pixel_values(*world)
    matrix, residual = _fit_affine(
        np.column_stack([gx.ravel(), gy.ravel()]), np.column_stack([rx, ry])
    )
    return Alignment(matrix, "wcs", gx.size, residual)


def transform_from_sources(
    xy: np.ndarray, reference_xy: np.ndarray, *, max_points: int = MAX_CONTROL_POINTS
) -> Alignment:
    """The transform found by matching asterisms of two source lists (astroalign).

    Parameters
    ----------
    xy, reference_xy : ndarray, shape (n, 2)
        Source positions (pixels) of the frame and of the reference, brightest first.
    max_points : int, optional
        Brightest sources of each list used.

    Raises
    ------
    ValueError
        If either list has fewer than 3 sources or no transform is found; the message
        says which.
    """
    xy, reference_xy = (
        np.asarray(xy, float)[:max_points],
        np.asarray(reference_xy, float)[:max_points],
    )
    if len(xy) < 3 or len(reference_xy) < 3:
        raise ValueError(
            f"alignment needs 3 sources or more in each frame, "
            f"got {len(xy)} and {len(reference_xy)}"
        )
    try:
        _, (src, dst) = astroalign.find_transform(xy, reference_xy)
    except (astroalign.MaxIterError, ValueError) as exc:
        raise ValueError(f"no transform matches the two source lists ({exc})") from None
    order = np.lexsort((src[:, 1], src[:, 0]))  # the fit does not depend on match order
    matrix, residual = _fit_affine(src[order], dst[order])
    return Alignment(matrix, "sources", len(src), residual)


def align_image(
    data: np.ndarray,
    alignment: Alignment,
    shape: tuple[int, int],
    *,
    mask: np.ndarray | None = None,
    order: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Resample a frame onto the reference grid.

    Parameters
    ----------
    data : ndarray, shape (ny, nx)
        The frame (any unit; background-subtracted is best).
    alignment : Alignment
        Frame → reference transform.
    shape : tuple of int
        The reference's (ny, nx).
    mask : ndarray of bool, optional
        The frame's bad pixels, carried onto the new grid.
    order : int, optional
        Spline order of the interpolation (1: bilinear, flux-conserving enough for
        the modest shifts of a pointing sequence).

    Returns
    -------
    data : ndarray, float32, shape ``shape``
        The resampled frame, 0 outside the frame's footprint.
    mask : ndarray of bool, shape ``shape``
        True outside the footprint and where a bad pixel contributes.
    """
    inverse = np.linalg.inv(alignment.matrix)
    a, t = inverse[:2, :2], inverse[:2, 2]
    matrix_yx = np.array([[a[1, 1], a[1, 0]], [a[0, 1], a[0, 0]]])
    offset_yx = np.array([t[1], t[0]])
    source = np.nan_to_num(np.asarray(data, np.float32))
    out = ndimage.affine_transform(
        source, matrix_yx, offset_yx, output_shape=shape, order=order, cval=np.nan, prefilter=False
    )
    bad = np.zeros(np.shape(data), np.float32) if mask is None else np.asarray(mask, np.float32)
    moved = ndimage.affine_transform(
        bad, matrix_yx, offset_yx, output_shape=shape, order=1, cval=1.0, prefilter=False
    )
    out_mask = (moved > 0) | ~np.isfinite(out)
    out[out_mask] = 0.0
    return out.astype(np.float32, copy=False), out_mask


def aligned_header(
    header: fits.Header, reference_header: fits.Header, alignment: Alignment
) -> fits.Header:
    """The frame's header with the reference's WCS (the grid it was resampled onto)."""
    out = header.copy()
    for key in [k for k in out if k.startswith(WCS_KEYS)]:
        out.remove(key, remove_all=True)
    reference = celestial_wcs(reference_header)
    if reference is not None:
        for card in reference.to_header(relax=False).cards:
            if card.keyword.startswith(WCS_KEYS):
                out[card.keyword] = (card.value, card.comment)
    out["ALIGNED"] = (alignment.method, "gp2 alignment: how the transform was found")
    out["ALIGNRES"] = (round(alignment.residual, 4), "alignment residual, pixels")
    return out
