"""Combining a stack of frames pixel by pixel: the median and the sigma-clipped mean.

The median of a few values (a night's series holds 5 to 20 frames) is taken with a
*selection network*: a fixed sequence of compare-exchange steps, each an
``np.minimum``/``np.maximum`` over a chunk of pixels small enough to stay in the CPU
cache. That is several times faster than ``np.median`` over the stack (which sorts
every pixel's values one by one) and gives the same numbers: for an even count the
mean of the two middle values. Pixels that are NaN (masked) in some frames fall back
to ``np.nanmedian`` for the chunk that holds them. Integer frames (raw uint16 biases)
go through the network as they are, moving half the bytes of float32; only the mean of
the two middle values is taken in float32, where their sum cannot overflow.

A compiled library's median is slower: ``bottleneck.median`` (a quickselect per pixel,
as ``np.median``) over the same blocks of ten frames costs about 6× the CPU time of
this network on float32 and 15× on raw uint16 (which it hands to ``np.median``, or
takes converted to float32), for the same numbers; ``bench/calibration.py bottleneck``
measures it.

Everything here works on blocks of rows, so that a caller combining ten 6144×6160
frames holds only a few tens of MiB of input at a time (see
:func:`analysis.calibration.masters.build_master`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Combine methods a master may be built with.
METHODS: tuple[str, ...] = ("median", "mean")

#: Bytes of one frame's chunk handled by one pass of the network: ten fit in L2.
CHUNK_BYTES = 65536

#: Integer types the median takes as they are: float32 holds their values, and the sum
#: of two of them, exactly.
EXACT_INTEGERS = (np.uint8, np.int8, np.uint16, np.int16)

#: Robust standard deviation from the median absolute deviation of a normal distribution.
MAD_TO_SIGMA = 1.482602218505602


def _odd_even_merge_sort(n: int) -> list[tuple[int, int]]:
    """Batcher's odd-even merge sort for ``n`` values: comparators ``(i, j)``, ``i < j``.

    Built for the next power of two; comparators that touch a position beyond ``n``
    are dropped (those positions hold +infinity, so the comparators would do nothing).
    """
    size = 1
    while size < n:
        size *= 2
    pairs: list[tuple[int, int]] = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return [(a, b) for a, b in pairs if b < n]


@lru_cache(maxsize=64)
def median_network(n: int) -> tuple[tuple[int, int, bool, bool], ...]:
    """The compare-exchange steps that bring the middle value(s) of ``n`` into place.

    A sorting network pruned backwards from the outputs the median needs (position
    ``n // 2``, and ``n // 2 - 1`` when ``n`` is even): a step is kept only when one of
    its outputs is used later, and only the used outputs are computed.

    Returns
    -------
    tuple of (i, j, keep_min, keep_max)
        After the step position ``i`` holds ``min`` (if ``keep_min``) and ``j`` holds
        ``max`` (if ``keep_max``) of the two values.
    """
    if n < 1:
        raise ValueError(f"a median needs at least one value, got {n}")
    live = {n // 2} | ({n // 2 - 1} if n % 2 == 0 else set())
    steps: list[tuple[int, int, bool, bool]] = []
    for i, j in reversed(_odd_even_merge_sort(n)):
        keep_min, keep_max = i in live, j in live
        if keep_min or keep_max:
            steps.append((i, j, keep_min, keep_max))
            live |= {i, j}
    return tuple(reversed(steps))


def _network_median(values: list[np.ndarray], out: np.ndarray, spare: np.ndarray) -> None:
    """Median of equally shaped arrays into ``out``; ``values`` are overwritten."""
    v = list(values)
    n = len(v)
    for i, j, keep_min, keep_max in median_network(n):
        if keep_min and keep_max:
            np.minimum(v[i], v[j], out=spare)
            np.maximum(v[i], v[j], out=v[j])
            v[i], spare = spare, v[i]
        elif keep_min:
            np.minimum(v[i], v[j], out=v[i])
        else:
            np.maximum(v[i], v[j], out=v[j])
    if n % 2:
        np.copyto(out, v[n // 2])
    else:  # summed in float32 (not in the integers' type, where it would overflow)
        np.add(v[n // 2 - 1], v[n // 2], out=out, dtype=np.float32)
        out *= 0.5


def median_rows(stack: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """Pixel-wise median of a stack of row blocks, as ``np.nanmedian(stack, axis=0)``.

    Parameters
    ----------
    stack : ndarray, shape (n, rows, nx), float32 or an integer type of :data:`EXACT_INTEGERS`
        The rows of n frames; **overwritten** (it is the network's work space).
    out : ndarray, shape (rows, nx), float32, C-contiguous, optional
        Where to write the median.

    Returns
    -------
    ndarray, shape (rows, nx), float32
        For an even n, the mean of the two middle values; NaN where every frame is NaN.
    """
    if stack.ndim != 3:
        raise ValueError(f"stack must be a 3D stack (n, rows, nx), got shape {stack.shape}")
    if stack.dtype != np.float32 and stack.dtype.type not in EXACT_INTEGERS:
        raise ValueError(f"stack must be float32 or 8/16-bit integers, got {stack.dtype}")
    if out is not None and not (out.flags.c_contiguous and out.dtype == np.float32):
        raise ValueError(f"out must be a C-contiguous float32 array, got {out.dtype}")
    n = stack.shape[0]
    result = np.empty(stack.shape[1:], np.float32) if out is None else out
    flat_in = stack.reshape(n, -1)
    flat_out = result.reshape(-1)
    chunk_pixels = CHUNK_BYTES // stack.dtype.itemsize
    spare = np.empty(min(chunk_pixels, flat_out.size), stack.dtype)
    for start in range(0, flat_out.size, chunk_pixels):
        stop = min(start + chunk_pixels, flat_out.size)
        chunk = flat_in[:, start:stop]
        if np.issubdtype(chunk.dtype, np.floating) and np.isnan(chunk).any():
            flat_out[start:stop] = _nan_median(chunk)
            continue
        _network_median([chunk[k] for k in range(n)], flat_out[start:stop], spare[: stop - start])
    return result


def _nan_median(chunk: np.ndarray) -> np.ndarray:
    """np.nanmedian over axis 0 without its all-NaN warning (those pixels stay NaN)."""
    result = np.full(chunk.shape[1:], np.nan, np.float32)
    some = ~np.all(np.isnan(chunk), axis=0)
    result[some] = np.nanmedian(chunk[:, some], axis=0)
    return result


def clipped_mean_rows(stack: np.ndarray, *, sigma: float = 3.0) -> np.ndarray:
    """Pixel-wise mean of a stack after rejecting values far from the median.

    A value is kept when it lies within ``sigma`` robust standard deviations
    (1.4826 × the median absolute deviation, per pixel) of the pixel's median; one
    pass, as ccdproc's ``sigma_clipping`` with ``median``/``mad_std`` and one iteration.

    Parameters
    ----------
    stack : ndarray, shape (n, rows, nx), float32
        The rows of n frames (NaN = masked); not modified.
    sigma : float, optional
        Clipping threshold in robust standard deviations.

    Returns
    -------
    ndarray, shape (rows, nx), float32
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    center = median_rows(stack.copy())
    deviation = np.abs(stack - center)
    spread = MAD_TO_SIGMA * median_rows(deviation.copy())
    keep = deviation <= sigma * spread
    keep &= ~np.isnan(stack)
    count = keep.sum(axis=0)
    total = np.where(keep, stack, 0).sum(axis=0, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan).astype(np.float32)


def combine_rows(
    stack: np.ndarray,
    *,
    method: str = "median",
    sigma: float = 3.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Combine a stack of row blocks by ``method`` (see :data:`METHODS`).

    Parameters
    ----------
    stack : ndarray, shape (n, rows, nx), float32
        Overwritten by the median.
    method : {"median", "mean"}
        ``mean`` is the sigma-clipped mean of :func:`clipped_mean_rows`.
    sigma : float, optional
        Clipping threshold of the mean, in robust standard deviations.
    out : ndarray, shape (rows, nx), float32, optional
        Where to write the result (the master's own rows: no block-sized array is
        allocated, faulted in and copied per block).
    """
    if method == "median":
        return median_rows(stack, out=out)
    if method == "mean":
        mean = clipped_mean_rows(stack, sigma=sigma)
        if out is None:
            return mean
        out[...] = mean
        return out
    raise ValueError(f"combine method '{method}' is not one of {', '.join(METHODS)}")
