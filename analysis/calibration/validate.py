"""Validating a candidate master against the reference master of its kind.

The procedure of the design notes ("Plan calibration", step 2): check the headers
(instrument, filter, type, shape) first, then the statistics of the candidate (MEAN,
MEDIAN, RMS) and of the pixel-by-pixel difference new − ref (MEANDIFF, MEDIANDIF,
RMSDIFF; for flats the ratio new/ref, centred on 1), and VALID when MEANDIFF and
RMSDIFF lie within the limits of the type. RMS is the root mean square deviation
from the mean (the standard deviation of the pixel values). NaN pixels and pixels
of a bad-pixel mask are left out of every statistic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from analysis.calibration.frames import CALIBRATION_TYPES, normalise_type
from analysis.calibration.report import ValidationReport
from analysis.calibration.verify import ResidualCheck

#: Bins of the difference histogram, and its half-width in RMSDIFF units around MEDIANDIF.
HISTOGRAM_BINS = 200
HISTOGRAM_HALF_WIDTH_RMS = 6.0

_CHUNK = 1 << 20


class HeaderMismatch(ValueError):
    """Candidate and reference are not masters of the same kind; the message says how."""


@dataclass(frozen=True)
class Limits:
    """The cuts a candidate must pass, in the unit of the difference (ratio for flats).

    Attributes
    ----------
    meandiff : (float, float)
        Allowed range of MEANDIFF, inclusive.
    rmsdiff : (float, float)
        Allowed range of RMSDIFF, inclusive.
    """

    meandiff: tuple[float, float]
    rmsdiff: tuple[float, float]


#: Defaults: the notes' Mean in [-2, 2], RMS in [0, 3] (ADU; ADU/s for darks per second)
#: for bias and dark. For flats (ratio new/ref): a mean within 1 % of 1 (a change of the
#: overall response or a wrong normalisation) and a pixel-to-pixel scatter of at most 2 %
#: (ten flats at 10⁴ e⁻ give ~0.4 %; new dust or a shifted vignetting exceeds 2 %).
DEFAULT_LIMITS: dict[str, Limits] = {
    "bias": Limits(meandiff=(-2.0, 2.0), rmsdiff=(0.0, 3.0)),
    "dark": Limits(meandiff=(-2.0, 2.0), rmsdiff=(0.0, 3.0)),
    "flat": Limits(meandiff=(0.99, 1.01), rmsdiff=(0.0, 0.02)),
}


@dataclass(frozen=True)
class Statistics:
    """MEAN, MEDIAN and RMS (standard deviation) of the finite, unmasked pixels."""

    mean: float
    median: float
    rms: float
    n_pixels: int


def _finite(data: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
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


def _stats_of(values: np.ndarray) -> Statistics:
    """Statistics of a flat array of finite values (not modified)."""
    if values.size == 0:
        return Statistics(math.nan, math.nan, math.nan, 0)
    mean = float(values.mean(dtype=np.float64))
    squares = 0.0
    for start in range(0, values.size, _CHUNK):
        chunk = values[start : start + _CHUNK].astype(np.float64) - mean
        squares += float(np.dot(chunk, chunk))
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
    return _stats_of(_finite(data, mask))


def difference_image(candidate: np.ndarray, reference: np.ndarray, caltype: str) -> np.ndarray:
    """new − ref (bias, dark) or new / ref (flat; NaN where ref ≤ 0), float32."""
    new = np.asarray(candidate, dtype=np.float32)
    ref = np.asarray(reference, dtype=np.float32)
    if caltype == "flat":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(ref > 0, new / ref, np.float32(np.nan)).astype(np.float32)
    return np.subtract(new, ref, dtype=np.float32)


def difference_histogram(
    values: np.ndarray, center: float, rms: float
) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin edges of the difference over center ± 6 RMS (± 1 when RMS is 0).

    Values outside the range are not counted; the bins are those of ``np.histogram``.
    """
    half = HISTOGRAM_HALF_WIDTH_RMS * rms if rms > 0 else 1.0
    if not (math.isfinite(center) and math.isfinite(half)):
        return np.zeros(HISTOGRAM_BINS, np.int64), np.linspace(-1, 1, HISTOGRAM_BINS + 1)
    low, high = center - half, center + half
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    counts = np.zeros(HISTOGRAM_BINS, np.int64)
    scale = HISTOGRAM_BINS / (high - low)
    for start in range(0, values.size, _CHUNK):
        chunk = values[start : start + _CHUNK]
        chunk = chunk[(chunk >= low) & (chunk <= high)]
        index = ((chunk.astype(np.float64) - low) * scale).astype(np.intp)
        np.minimum(index, HISTOGRAM_BINS - 1, out=index)
        counts += np.bincount(index, minlength=HISTOGRAM_BINS)
    return counts, edges


def _header_type(header: fits.Header) -> str | None:
    return normalise_type(header.get("CALTYPE")) or normalise_type(header.get("IMAGETYP"))


def compare_headers(
    candidate: fits.Header,
    reference: fits.Header,
    candidate_shape: tuple[int, ...],
    reference_shape: tuple[int, ...],
) -> list[str]:
    """How candidate and reference differ in type, instrument, filter and shape ([] if alike)."""
    problems = []
    pairs = [
        ("type", _header_type(candidate), _header_type(reference)),
        (
            "INSTRUME",
            str(candidate.get("INSTRUME", "")).strip(),
            str(reference.get("INSTRUME", "")).strip(),
        ),
        (
            "FILTER",
            str(candidate.get("FILTER", "")).strip(),
            str(reference.get("FILTER", "")).strip(),
        ),
        ("shape", tuple(candidate_shape), tuple(reference_shape)),
    ]
    for what, new, ref in pairs:
        if new != ref:
            problems.append(f"{what} {new!r} in the candidate, {ref!r} in the reference")
    if _header_type(candidate) not in CALIBRATION_TYPES:
        problems.append(f"candidate type {candidate.get('IMAGETYP')!r} is not bias, dark or flat")
    return problems


def _within(value: float, bounds: tuple[float, float]) -> bool:
    return math.isfinite(value) and bounds[0] <= value <= bounds[1]


def validate_master(
    candidate: np.ndarray,
    candidate_header: fits.Header,
    reference: np.ndarray | None,
    reference_header: fits.Header | None,
    *,
    limits: Limits | None = None,
    mask: np.ndarray | None = None,
    im_name: str = "",
    origin: str = "OAN/SPM",
    telescope: str = "COLIBRI",
    residual: ResidualCheck | None = None,
) -> ValidationReport:
    """Compare a candidate master with the reference (the master in force).

    Parameters
    ----------
    candidate : ndarray, shape (ny, nx)
    candidate_header : Header
        Gives CALTYPE/IMAGETYP, INSTRUME, FILTER, DATE-OBS (first frame) and TELESCOP.
    reference, reference_header : ndarray and Header, or None
        The master in force; None for the first master of its kind (then VALID follows
        the residual check, and the difference values are absent with errorcode 3).
    limits : Limits, optional
        Defaults to :data:`DEFAULT_LIMITS` of the type.
    mask : ndarray of bool, optional
        Bad pixels (True) left out of every statistic.
    im_name, origin, telescope : str, optional
        IM_NAME, ORIGIN and the TELESCOP used when the header has none.
    residual : ResidualCheck, optional
        The cp_verify-style check, reported beside the statistics.

    Returns
    -------
    ValidationReport

    Raises
    ------
    HeaderMismatch
        If type, instrument, filter or shape differ (checked before any statistic).
    """
    caltype = _header_type(candidate_header)
    if reference is not None:
        problems = compare_headers(
            candidate_header, reference_header or fits.Header(), candidate.shape, reference.shape
        )
        if problems:
            raise HeaderMismatch("; ".join(problems))
    elif caltype not in CALIBRATION_TYPES:
        raise HeaderMismatch(
            f"candidate type {candidate_header.get('IMAGETYP')!r} is not bias, dark or flat"
        )
    limits = limits or DEFAULT_LIMITS[caltype]
    stats = image_statistics(candidate, mask)
    diff_stats, counts, edges, reasons = None, None, None, []
    if reference is not None:
        values = _finite(difference_image(candidate, reference, caltype), mask)
        diff_stats = _stats_of(values)
        counts, edges = difference_histogram(values, diff_stats.median, diff_stats.rms)
        del values
        if not _within(diff_stats.mean, limits.meandiff):
            reasons.append(f"MEANDIFF {diff_stats.mean:.6g} outside {list(limits.meandiff)}")
        if not _within(diff_stats.rms, limits.rmsdiff):
            reasons.append(f"RMSDIFF {diff_stats.rms:.6g} outside {list(limits.rmsdiff)}")
    elif residual is None or not residual.passed:
        reasons.append("no reference master, and no passing residual check")
    if stats.n_pixels == 0:
        reasons.append("the candidate has no finite pixel")
    return ValidationReport(
        im_name=im_name,
        caltype=caltype,
        date=str(candidate_header.get("DATE-OBS", "")),
        origin=origin,
        telescop=str(candidate_header.get("TELESCOP") or telescope),
        instrume=str(candidate_header.get("INSTRUME", "")),
        filter=str(candidate_header.get("FILTER", "")),
        mean=stats.mean,
        median=stats.median,
        rms=stats.rms,
        meandiff=diff_stats.mean if diff_stats else None,
        mediandif=diff_stats.median if diff_stats else None,
        rmsdiff=diff_stats.rms if diff_stats else None,
        valid=not reasons,
        limits=limits,
        reasons=tuple(reasons),
        histogram_counts=None if counts is None else tuple(int(c) for c in counts),
        histogram_edges=None if edges is None else tuple(float(e) for e in edges),
        residual=residual,
        unit=str(candidate_header.get("BUNIT", "")),
    )
