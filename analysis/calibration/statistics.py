"""The numbers of a master and of its difference from the reference.

MEAN, MEDIAN and RMS (the root mean square deviation from the mean, the standard deviation
of the pixel values) of the finite, unmasked pixels; the difference new − ref (the ratio
new/ref for flats), its histogram, and the quadrants' levels of a flat.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

#: Bins of the difference histogram, and its half-width in RMSDIFF units around MEDIANDIF.
HISTOGRAM_BINS = 200
HISTOGRAM_HALF_WIDTH_RMS = 6.0

#: Pixels of one chunk of a pass over an image: 256 KiB of float32 (and 512 KiB of their
#: float64 deviations), so that every operation of a pass runs in the CPU cache and no
#: full-frame temporary array is made.
PASS_PIXELS = 1 << 16

#: Values looked at to place the median's window and to tell a lattice (about this many).
SAMPLE_SIZE = 100_000

#: Below this many values the median is ``np.median``'s over all of them.
WINDOWED_MEDIAN_MIN = 2 * SAMPLE_SIZE

#: A function giving the same values again at each call, as flat float32 chunks.
Chunks = Callable[[], Iterator[np.ndarray]]


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


def _slices(values: np.ndarray) -> Chunks:
    """The chunks of a flat array (views)."""
    return lambda: (values[i : i + PASS_PIXELS] for i in range(0, values.size, PASS_PIXELS))


def _computed(n: int, fill: Callable[[slice, np.ndarray], None]) -> Chunks:
    """Chunks of ``n`` values that ``fill(positions, out)`` computes into one reused buffer."""
    buffer = np.empty(min(PASS_PIXELS, n), np.float32)

    def chunks() -> Iterator[np.ndarray]:
        for start in range(0, n, PASS_PIXELS):
            out = buffer[: min(PASS_PIXELS, n - start)]
            fill(slice(start, start + out.size), out)
            yield out

    return chunks


def _sample_stride(n: int) -> int:
    """Every how many values the sample takes one (:data:`SAMPLE_SIZE` in all)."""
    return max(1, n // SAMPLE_SIZE)


def _summarise(chunks: Chunks, n: int, sample: np.ndarray, *, check: bool = False):
    """Statistics of ``n`` values served by ``chunks``, in one pass; ``sample`` is every
    :func:`_sample_stride`-th of them, taken before.

    The sample places a narrow window around the median and gives the shift ``c`` (its
    median) from which the pass sums the deviations and their squares (float64): the mean
    is ``c + Σ(v − c) / n`` and the variance ``Σ(v − c)² / n − (Σ(v − c) / n)²``, without
    the cancellation of raw sums since ``c`` lies within a fraction of the spread of the
    mean. The same pass counts the values below the window and keeps those inside it,
    partitioned alone for the median (see :func:`exact_median`). Returns None when
    ``check`` finds a value that is not finite.
    """
    if n == 0:
        return Statistics(math.nan, math.nan, math.nan, 0)
    low, shift, high = (float(v) for v in np.percentile(sample, [48.5, 50.0, 51.5]))
    if not math.isfinite(shift):  # a value of the sample is not finite
        if check:
            return None
        shift = 0.0
    deviations = squares = 0.0
    below, inside, at_median = 0, [], 0
    # a window of one value (values on a lattice, as the medians of raw counts are): its
    # values are counted, not kept and partitioned
    single = low == high
    work = np.empty(min(PASS_PIXELS, n), np.float64)
    for chunk in chunks():
        centred = work[: chunk.size]
        np.subtract(chunk, shift, out=centred, dtype=np.float64)
        deviations += float(centred.sum())
        if check and not math.isfinite(deviations):
            return None
        np.multiply(centred, centred, out=centred)  # not np.dot: BLAS threads cost more here
        squares += float(centred.sum())
        if n > WINDOWED_MEDIAN_MIN:  # every value is finite: below low = not at or above
            kept = chunk >= low
            below += chunk.size - int(np.count_nonzero(kept))
            kept &= chunk <= high
            if single:
                at_median += int(np.count_nonzero(kept))
            else:
                inside.append(chunk[kept])
    offset = deviations / n
    variance = max(squares / n - offset * offset, 0.0)
    median = None
    if n > WINDOWED_MEDIAN_MIN:
        median = (
            _at_median(n, below, at_median, low) if single else _windowed_median(n, below, inside)
        )
    if median is None:
        median = float(np.median(np.concatenate([c.copy() for c in chunks()])))
    return Statistics(shift + offset, median, math.sqrt(variance), n)


def _at_median(n: int, below: int, count: int, value: float) -> float | None:
    """``value`` when the ``count`` values equal to it, above the ``below`` smaller ones,
    hold the middle ranks of ``n``; else None."""
    return value if below <= (n - 1) // 2 and below + count > n // 2 else None


def _windowed_median(n: int, below: int, inside: list[np.ndarray]) -> float | None:
    """The median from the values inside the window and the count below it, or None when
    the window does not hold the middle values."""
    low_rank, high_rank = (n - 1) // 2, n // 2
    window = np.concatenate(inside)
    if not (below <= low_rank and below + window.size > high_rank):
        return None
    ranks = [low_rank - below, high_rank - below]
    picked = np.partition(window, ranks)[ranks]
    return float(np.mean(picked))  # as np.median does, in the values' dtype


def exact_median(values: np.ndarray) -> float:
    """The median of a flat array, as ``np.median``, without sorting or copying it whole.

    The middle values are looked for in a narrow window around the median of a sample
    (a few percent of the pixels), partitioned alone; when the window misses them, the
    whole array is partitioned (a copy). ``values`` is not modified.
    """
    return statistics_of(values).median


def statistics_of(values: np.ndarray) -> Statistics:
    """Statistics of a flat array of finite values (not modified)."""
    return _summarise(_slices(values), values.size, _sample(values))


def _sample(values: np.ndarray) -> np.ndarray:
    """Every :func:`_sample_stride`-th value of a flat array (a copy)."""
    return values[:: _sample_stride(values.size)].copy()


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
    if mask is None:  # every pixel finite (the usual master): chunk by chunk, no copy
        flat = np.asarray(data, dtype=np.float32).reshape(-1)
        found = _summarise(_slices(flat), flat.size, _sample(flat), check=True)
        if found is not None:
            return found
    return statistics_of(finite_values(data, mask))


def difference_statistics(
    candidate: np.ndarray, reference: np.ndarray, caltype: str, mask: np.ndarray | None = None
) -> tuple[Statistics, np.ndarray, np.ndarray]:
    """Statistics of the difference new − ref (new / ref for flats), and its histogram.

    The same numbers as :func:`image_statistics` and :func:`difference_histogram` of
    :func:`difference_image`; when every difference is finite and no mask is given, they
    are computed chunk by chunk without making the difference image.

    Returns
    -------
    (Statistics, counts, edges)
    """
    if mask is None:
        new = np.asarray(candidate, dtype=np.float32).reshape(-1)
        ref = np.asarray(reference, dtype=np.float32).reshape(-1)
        chunks = _computed(
            new.size, lambda at, out: _difference_into(new[at], ref[at], caltype, out)
        )
        every = slice(None, None, _sample_stride(new.size))
        sample = np.empty(len(range(new.size)[every]), np.float32)
        _difference_into(new[every], ref[every], caltype, sample)
        stats = _summarise(chunks, new.size, sample, check=True)
        if stats is not None:
            return stats, *_histogram(chunks, sample, stats.median, stats.rms)
    values = finite_values(difference_image(candidate, reference, caltype), mask)
    sample = _sample(values)
    stats = _summarise(_slices(values), values.size, sample)
    return stats, *_histogram(_slices(values), sample, stats.median, stats.rms)


def difference_image(candidate: np.ndarray, reference: np.ndarray, caltype: str) -> np.ndarray:
    """new − ref (bias, dark) or new / ref (flat; NaN where ref ≤ 0), float32."""
    new = np.asarray(candidate, dtype=np.float32)
    ref = np.asarray(reference, dtype=np.float32)
    out = np.empty(np.broadcast_shapes(new.shape, ref.shape), np.float32)
    _difference_into(new, ref, caltype, out)
    return out


def _difference_into(new: np.ndarray, ref: np.ndarray, caltype: str, out: np.ndarray) -> None:
    """new − ref, or new / ref for flats with NaN where ref ≤ 0, into ``out`` (float32)."""
    if caltype != "flat":
        np.subtract(new, ref, out=out, dtype=np.float32)
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(new, ref, out=out, dtype=np.float32)
    np.copyto(out, np.float32(np.nan), where=~(ref > 0))


def value_lattice(values: np.ndarray) -> tuple[float, float] | None:
    """``(q, v0)`` when every value is ``v0 + k q`` (k an integer), else None.

    Masters made of integer counts differ by such steps (two medians of uint16 frames:
    0.5 ADU; darks per second: 0.5 ADU / EXPTIME). A sample of up to 10⁵ values is
    looked at; values that take more than a quarter as many levels as there are samples
    are taken as continuous.
    """
    return _lattice(values[:: _sample_stride(values.size)])


def _lattice(sample: np.ndarray) -> tuple[float, float] | None:
    """:func:`value_lattice` of a sample of the values."""
    sample = sample.astype(np.float64)
    levels = np.unique(sample[np.isfinite(sample)])
    if levels.size < 2 or levels.size > max(2, sample.size // 4):
        return None
    steps = np.diff(levels)
    step = float(steps.min())
    multiples = steps / step
    if step <= 0 or not np.allclose(multiples, np.round(multiples), rtol=0, atol=1e-3):
        return None
    return step, float(levels[0])


def _histogram_edges(sample: np.ndarray, low: float, high: float) -> np.ndarray:
    """Bin edges over [low, high]: :data:`HISTOGRAM_BINS` equal bins, or, for values on a
    lattice (:func:`value_lattice`, told from a sample of them), bins of a whole number of
    steps with the lattice's values at their middles, so that every bin holds as many
    levels (no comb)."""
    lattice = _lattice(sample)
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
    return _histogram(_slices(values), values[:: _sample_stride(values.size)], center, rms)


def _histogram(
    chunks: Chunks, sample: np.ndarray, center: float, rms: float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`difference_histogram` of the values ``chunks`` serves, ``sample`` among them."""
    half = HISTOGRAM_HALF_WIDTH_RMS * rms if rms > 0 else 1.0
    if not (math.isfinite(center) and math.isfinite(half)):
        return np.zeros(HISTOGRAM_BINS, np.int64), np.linspace(-1, 1, HISTOGRAM_BINS + 1)
    edges = _histogram_edges(sample, center - half, center + half)
    low, high, n_bins = float(edges[0]), edges[-1], edges.size - 1  # high stays float64
    counts = np.zeros(n_bins + 1, np.int64)  # the last: values at the top edge exactly
    scale = n_bins / (float(high) - low)
    position = np.empty(PASS_PIXELS, np.float64)  # (value − low) × scale, then its bin
    bins = np.empty(PASS_PIXELS, np.intp)
    for chunk in chunks():
        kept = chunk >= low
        kept &= chunk <= high
        if not kept.all():
            chunk = chunk[kept]
        at, index = position[: chunk.size], bins[: chunk.size]
        np.subtract(chunk, low, out=at, dtype=np.float64)
        at *= scale
        np.copyto(index, at, casting="unsafe")  # truncated, as astype(np.intp)
        counts += np.bincount(index, minlength=n_bins + 1)
    counts[n_bins - 1] += counts[n_bins]  # the top edge closes the last bin
    return counts[:n_bins], edges


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
