"""Images for the eye: block means small enough for a browser, and a zscale display range.

Shared by the stored runs of the Reprocess page (the images a run keeps for display, the
thumbnails of a folder) and the image plots of the calibration and Reprocess pages.
"""

from __future__ import annotations

import math

import numpy as np
from astropy.visualization import ZScaleInterval

#: Longest side, in pixels, of an image kept for display or sent to the browser.
DISPLAY_MAX_SIDE = 1024


def block_size(shape: tuple[int, ...], max_side: int = DISPLAY_MAX_SIDE) -> int:
    """The side of the blocks :func:`block_mean` averages for an image of this shape.

    Parameters
    ----------
    shape : tuple of int
        Shape of the image, ``(ny, nx)``.
    max_side : int, optional
        Longest side, in pixels, the block means may have.

    Returns
    -------
    int
        Frame pixels per side of a block, 1 when the image is already small enough.
    """
    return max(1, math.ceil(max(shape) / max_side))


def block_mean(data: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> np.ndarray:
    """Block means (NaN ignored) so that no side exceeds ``max_side`` pixels.

    Parameters
    ----------
    data : ndarray, shape (ny, nx)
        The image.
    max_side : int, optional
        Longest side, in pixels, of the result.

    Returns
    -------
    ndarray of float32
        ``data`` itself (as float32) when it is small enough, else the means of square
        blocks of :func:`block_size` pixels a side. The blocks tile the image from (0, 0);
        a last partial row or column of blocks is left out; a block of NaN only stays NaN.
    """
    data = np.asarray(data, dtype=np.float32)
    factor = block_size(data.shape, max_side)
    if factor <= 1:
        return data
    ny, nx = (data.shape[0] // factor) * factor, (data.shape[1] // factor) * factor
    blocks = data[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor)
    finite = np.isfinite(blocks)
    sums = np.where(finite, blocks, 0).sum(axis=(1, 3), dtype=np.float64)
    counts = finite.sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan).astype(np.float32)


def zscale_limits(data: np.ndarray) -> tuple[float, float]:
    """The zscale display range of an image (IRAF's, via astropy), NaN left out.

    Parameters
    ----------
    data : ndarray
        The image.

    Returns
    -------
    tuple of float
        ``(low, high)`` with ``high > low``: ``(0, 1)`` for an image without a finite
        pixel, one unit around the value for a flat image.
    """
    values = np.asarray(data)[np.isfinite(data)]
    if values.size == 0:
        return 0.0, 1.0
    low, high = ZScaleInterval().get_limits(values)
    return (float(low), float(high)) if high > low else (float(low) - 0.5, float(low) + 0.5)
