"""The numbers of a master and of its difference from the reference.

MEAN, MEDIAN and RMS (the root mean square deviation from the mean, the standard deviation
of the pixel values) of the finite, unmasked pixels; the difference new − ref (the ratio
new/ref for flats), its histogram, and the quadrants' levels of a flat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Bins of the difference histogram, and its half-width in RMSDIFF units around MEDIANDIF.
HISTOGRAM_BINS = 200
HISTOGRAM_HALF_WIDTH_RMS = 6.0

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Statistics:
    """MEAN, MEDIAN and RMS (standard deviation) of the finite, unmasked pixels."""

    mean: float
    median: float
    rms: float
    n_pixels: int


def finite_values(data: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The finite, unmasked pixels as a flat float32 array (a view when all are usable)."""
    values = np.asarray(data, dtype=np.float32).reshape(-1)
    good = np.isfinite(values)
    if mask is not None:
        good &= ~np.asarray(mask, dtype=bool).reshape(-1)
    return values if good.all() else values[good]


def exact_median(values: np.ndarray) -> float:
    """The median of a flat array, as ``np.median``, without sorting or copying it whole.

    The middle values are looked for in a narrow window around the median of a sample
    (a few percent of the pixels), partitioned alone; when the window misses them, the
    whole array is partitioned (a copy). ``values`` is not modified.
    """
    n = values.size
    if n == 0:
        return math.nan
    low_rank, high_rank = (n - 1) // 2, n // 2
    if n > 200_000:
        sample = values[:: n // 100_000]
        low, high = (float(v) for v in np.percentile(sample, [48.5, 51.5]))
        below = int(np.count_nonzero(values < low))
        inside = values[(values >= low) & (values <= high)]
        if below <= low_rank and below + inside.size > high_rank:
            ranks = [low_rank - below, high_rank - below]
            picked = np.partition(inside, ranks)[ranks]
            return float(np.mean(picked))  # as np.median does, in the values' dtype
    return float(np.median(values))


def statistics_of(values: np.ndarray) -> Statistics:
    """Statistics of a flat array of finite values (not modified)."""
    if values.size == 0:
        return Statistics(math.nan, math.nan, math.nan, 0)
    mean = float(values.mean(dtype=np.float64))
    squares = 0.0
    work = np.empty(min(_CHUNK, values.size), np.float64)  # one buffer for every chunk
    for start in range(0, values.size, _CHUNK):
        chunk = values[start : start + _CHUNK]
        centred = work[: chunk.size]
        np.subtract(chunk, mean, out=centred, dtype=np.float64)
        squares += float(np.dot(centred, centred))
    rms = math.sqrt(squares / values.size)
    return Statistics(mean, exact_median(values), rms, int(values.size))


def image_statistics(data: np.ndarray, mask: np.ndarray | None = None) -> Statistics:
    """MEAN, MEDIAN and RMS of an image, leaving out NaN and masked pixels.

    Parameters
    ----------
    data : ndarray
    mask : ndarray of bool, optional
        True where a pixel is bad.

    Returns
    -------
    Statistics
        NaN values and ``n_pixels == 0`` when no pixel is usable.
    """
    return statistics_of(finite_values(data, mask))


def difference_image(candidate: np.ndarray, reference: np.ndarray, caltype: str) -> np.ndarray:
    """new − ref (bias, dark) or new / ref (flat; NaN where ref ≤ 0), float32."""
    new = np.asarray(candidate, dtype=np.float32)
    ref = np.asarray(reference, dtype=np.float32)
    if caltype == "flat":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(ref > 0, new / ref, np.float32(np.nan)).astype(np.float32)
    return np.subtract(new, ref, dtype=np.float32)


def value_lattice(values: np.ndarray) -> tuple[float, float] | None:
    """``(q, v0)`` when every value is ``v0 + k q`` (k an integer), else None.

    Masters made of integer counts differ by such steps (two medians of uint16 frames:
    0.5 ADU; darks per second: 0.5 ADU / EXPTIME). A sample of up to 10⁵ values is
    looked at; values that take more than a quarter as many levels as there are samples
    are taken as continuous.
    """
    sample = values[:: max(1, values.size // 100_000)].astype(np.float64)
    levels = np.unique(sample[np.isfinite(sample)])
    if levels.size < 2 or levels.size > max(2, sample.size // 4):
        return None
    steps = np.diff(levels)
    step = float(steps.min())
    multiples = steps / step
    if step <= 0 or not np.allclose(multiples, np.round(multiples), rtol=0, atol=1e-3):
        return None
    return step, float(levels[0])


def _histogram_edges(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Bin edges over [low, high]: :data:`HISTOGRAM_BINS` equal bins, or, for values on a
    lattice (:func:`value_lattice`), bins of a whole number of steps with the lattice's
    values at their middles, so that every bin holds as many levels (no comb)."""
    lattice = value_lattice(values)
    if lattice is None:
        return np.linspace(low, high, HISTOGRAM_BINS + 1)
    step, origin = lattice
    width = step * max(1, round((high - low) / HISTOGRAM_BINS / step))
    start = origin + math.floor((low - origin) / step) * step - step / 2
    n_bins = max(1, math.ceil((high - start) / width))
    return start + width * np.arange(n_bins + 1)


def difference_histogram(
    values: np.ndarray, center: float, rms: float
) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin edges of the difference over center ± 6 RMS (± 1 when RMS is 0).

    Values outside the bins are not counted. The bins follow the values' steps when they
    lie on a lattice (see :func:`_histogram_edges`), else they are ``np.histogram``'s.
    """
    half = HISTOGRAM_HALF_WIDTH_RMS * rms if rms > 0 else 1.0
    if not (math.isfinite(center) and math.isfinite(half)):
        return np.zeros(HISTOGRAM_BINS, np.int64), np.linspace(-1, 1, HISTOGRAM_BINS + 1)
    edges = _histogram_edges(values, center - half, center + half)
    low, n_bins = float(edges[0]), edges.size - 1
    counts = np.zeros(n_bins, np.int64)
    scale = n_bins / (float(edges[-1]) - low)
    for start in range(0, values.size, _CHUNK):
        chunk = values[start : start + _CHUNK]
        chunk = chunk[(chunk >= low) & (chunk <= edges[-1])]
        index = ((chunk.astype(np.float64) - low) * scale).astype(np.intp)
        np.minimum(index, n_bins - 1, out=index)
        counts += np.bincount(index, minlength=n_bins)
    return counts, edges


def quadrant_levels(data: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, ...]:
    """Median of each quadrant (rows low/high × columns low/high), from every 4th pixel
    of each axis: the large-scale level a flat's MEDIAN of 1 hides (vignetting, a tilt)."""
    ny, nx = data.shape
    levels = []
    for rows in (slice(0, ny // 2 or 1), slice(ny // 2, ny)):
        for cols in (slice(0, nx // 2 or 1), slice(nx // 2, nx)):
            part_mask = None if mask is None else mask[rows, cols][::4, ::4]
            part = np.ascontiguousarray(data[rows, cols][::4, ::4])
            levels.append(exact_median(finite_values(part, part_mask)))
    return tuple(levels)
