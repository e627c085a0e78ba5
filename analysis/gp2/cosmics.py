"""Cosmic-ray removal: L.A.Cosmic (van Dokkum 2001) through astroscrappy."""

from __future__ import annotations

from dataclasses import dataclass

import astroscrappy
import numpy as np

#: Gain of a frame already in electrons (after :func:`~analysis.gp2.reduction.reduce_frame`).
GAIN_OF_ELECTRONS = 1.0
#: Saturation level of a frame whose header gives none: no pixel counts as saturated.
NO_SATURATION = 1e30


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

    Returns
    -------
    CosmicRays

    Raises
    ------
    ValueError
        If the frame is not 2D or the mask's shape differs from it.
    """
    data = np.asarray(data, dtype=np.float32)
    if data.ndim != 2:
        raise ValueError(f"frame must be 2D (ny, nx), got shape {data.shape}")
    if mask is not None and np.shape(mask) != data.shape:
        raise ValueError(f"mask has shape {np.shape(mask)}, expected the frame's {data.shape}")
    hits, cleaned = astroscrappy.detect_cosmics(
        np.ascontiguousarray(data),
        inmask=None if mask is None else np.asarray(mask, bool),
        sigclip=sigclip,
        objlim=objlim,
        gain=gain,
        readnoise=readnoise,
        satlevel=saturation,
        niter=niter,
        verbose=False,
    )
    hits = np.asarray(hits, dtype=bool)
    return CosmicRays(data=np.asarray(cleaned, np.float32), mask=hits, count=int(hits.sum()))
