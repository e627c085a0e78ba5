"""Cosmic-ray removal: L.A.Cosmic (van Dokkum 2001) through astroscrappy.

L.A.Cosmic's later iterations only change pixels near the hits of the first: every
operation of an iteration (Laplacian, median filters of at most 9 pixels, two 3×3
dilations, a 5×5 masked mean) reaches :data:`ITERATION_REACH` pixels or less. So the
first iteration runs on the whole frame and the later ones (astroscrappy's own call,
all ``niter`` iterations) only on windows around its hits, wide enough that their
borders cannot reach the pixels kept; everywhere else the first iteration's result is
the final one. The result is astroscrappy's own on the whole frame, except where a hit
has no good pixel in its 5×5 neighbourhood (L.A.Cosmic then writes the median of the
good pixels, taken over the window instead of the frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import astroscrappy
import numpy as np
from scipy import ndimage

#: Gain of a frame already in electrons (after :func:`~analysis.gp2.reduction.reduce_frame`).
GAIN_OF_ELECTRONS = 1.0
#: Saturation level of a frame whose header gives none: no pixel counts as saturated.
NO_SATURATION = 1e30
#: Farthest a pixel's value after one L.A.Cosmic iteration depends on its input, pixels
#: (generous: the Laplacian, a 7-pixel median of the noise and of the contrast, a 9-pixel
#: median of the fine structure, two dilations and the 5×5 cleaning reach about 12).
ITERATION_REACH = 16


@dataclass(frozen=True)
class CosmicRays:
    """A frame cleaned of cosmic rays.

    Attributes
    ----------
    data : ndarray, float32
        The cleaned frame, in the input's unit (electrons after :func:`reduce_frame`).
    mask : ndarray, bool
        True on the pixels L.A.Cosmic found hit.
    count : int
        Number of hit pixels.
    """

    data: np.ndarray
    mask: np.ndarray
    count: int


def remove_cosmics(
    data: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    gain: float = GAIN_OF_ELECTRONS,
    readnoise: float = 5.0,
    sigclip: float = 4.5,
    objlim: float = 5.0,
    saturation: float = NO_SATURATION,
    niter: int = 2,
    whole_frame: bool = False,
) -> CosmicRays:
    """Find and replace the pixels hit by cosmic rays (L.A.Cosmic).

    Parameters
    ----------
    data : ndarray, shape (ny, nx)
        The frame, sky included (L.A.Cosmic needs the Poisson noise of the sky), in
        counts of ``gain`` electrons each (electrons: ``gain=1``).
    mask : ndarray of bool, optional
        Pixels to leave out (saturated, dead).
    gain : float, optional
        e- per count of ``data``.
    readnoise : float, optional
        Read noise, e-.
    sigclip : float, optional
        Detection limit of a hit, in units of the noise (astroscrappy's ``sigclip``).
    objlim : float, optional
        Contrast limit between a hit and a star (higher keeps more star cores).
    saturation : float, optional
        Level above which stars are saturated, in the unit of ``data``.
    niter : int, optional
        Iterations of the algorithm.
    whole_frame : bool, optional
        Run every iteration on the whole frame (astroscrappy's plain call) instead of the
        later ones near the first one's hits only (see the module's notes).

    Returns
    -------
    CosmicRays

    Raises
    ------
    ValueError
        If the frame is not 2D or the mask's shape differs from it.
    """
    data = np.ascontiguousarray(data, dtype=np.float32)
    if data.ndim != 2:
        raise ValueError(f"frame must be 2D (ny, nx), got shape {data.shape}")
    if mask is not None and np.shape(mask) != data.shape:
        raise ValueError(f"mask has shape {np.shape(mask)}, expected the frame's {data.shape}")
    mask = None if mask is None else np.ascontiguousarray(mask, dtype=bool)
    options = {
        "sigclip": sigclip,
        "objlim": objlim,
        "gain": gain,
        "readnoise": readnoise,
        "satlevel": saturation,
        "verbose": False,
    }
    if whole_frame or niter <= 1:
        hits, cleaned = astroscrappy.detect_cosmics(data, inmask=mask, niter=niter, **options)
    else:
        hits, cleaned = _iterate_near_hits(data, mask, niter, options)
    hits = np.asarray(hits, dtype=bool)
    return CosmicRays(data=np.asarray(cleaned, np.float32), mask=hits, count=int(hits.sum()))


def _iterate_near_hits(
    data: np.ndarray, mask: np.ndarray | None, niter: int, options: dict
) -> tuple[np.ndarray, np.ndarray]:
    """The first iteration on the whole frame, all ``niter`` on windows around its hits."""
    hits, cleaned = astroscrappy.detect_cosmics(data, inmask=mask, niter=1, **options)
    hits, cleaned = np.asarray(hits, bool), np.asarray(cleaned, np.float32)
    if not hits.any():
        return hits, cleaned
    keep = ITERATION_REACH * (niter - 1)
    near = ndimage.maximum_filter(hits.view(np.uint8), size=2 * keep + 1).astype(bool)
    for box in ndimage.find_objects(ndimage.label(near)[0]):
        window = tuple(
            slice(max(b.start - 2 * keep, 0), min(b.stop + 2 * keep, n))
            for b, n in zip(box, data.shape, strict=True)
        )
        inner = tuple(
            slice(b.start - w.start, b.stop - w.start) for b, w in zip(box, window, strict=True)
        )
        part_hits, part_cleaned = astroscrappy.detect_cosmics(
            np.ascontiguousarray(data[window]),
            inmask=None if mask is None else np.ascontiguousarray(mask[window]),
            niter=niter,
            **options,
        )
        hits[box] = np.asarray(part_hits, bool)[inner]
        cleaned[box] = np.asarray(part_cleaned, np.float32)[inner]
    return hits, cleaned
