"""Validating a candidate master against the reference master of its kind.

The procedure of the design notes ("Plan calibration", step 2): check the headers
(instrument, filter, type, binning, shape) first, then the statistics of the candidate
(MEAN, MEDIAN, RMS) and of the pixel-by-pixel difference new − ref (MEANDIFF, MEDIANDIF,
RMSDIFF; for flats the ratio new/ref, centred on 1), and VALID when MEANDIFF and
RMSDIFF lie within the limits of the type and the CCD temperatures agree. RMS is the
root mean square deviation from the mean (the standard deviation of the pixel values).
NaN pixels and pixels of a bad-pixel mask are left out of every statistic.

A limit is absolute (in the difference's unit), relative (a fraction of the reference's
level, its MEAN: a dark of 0.03 ADU/s is judged by its own size, not by a window of
±2 ADU/s) or in units of the reference's noise (its RMS); :meth:`Limits.resolve` turns
it into the difference's unit once the reference is known.

The same header checks serve the masters a build subtracts (:func:`correction_problems`):
a dark given as the bias, or a bias of another camera, binning or shape, is refused.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from analysis.calibration.frames import CALIBRATION_TYPES, FrameInfo, normalise_type
from analysis.calibration.report import ValidationReport
from analysis.calibration.verify import ResidualCheck

#: Bins of the difference histogram, and its half-width in RMSDIFF units around MEDIANDIF.
HISTOGRAM_BINS = 200
HISTOGRAM_HALF_WIDTH_RMS = 6.0

_CHUNK = 1 << 20

#: How a limit is read: in the difference's unit, × the reference's MEAN, × its RMS.
LIMIT_MODES: tuple[str, ...] = ("absolute", "relative", "noise")

#: Header keywords of the binning (x, y) and of the CCD temperature (°C), by default.
BINNING_KEYS = ("XBINNING", "YBINNING")
TEMPERATURE_KEY = "CCD-TEMP"

#: Header keywords a master keeps the CCD temperature of the bias and dark it subtracted in.
CORRECTION_TEMPERATURE_KEYS = {"bias": "BIASTEMP", "dark": "DARKTEMP"}


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
    meandiff_mode, rmsdiff_mode : {"absolute", "relative", "noise"}
        How each range is read (see :data:`LIMIT_MODES`): in the difference's unit, as a
        fraction of the reference's MEAN, or in units of the reference's RMS.
    """

    meandiff: tuple[float, float]
    rmsdiff: tuple[float, float]
    meandiff_mode: str = "absolute"
    rmsdiff_mode: str = "absolute"

    def __post_init__(self) -> None:
        for mode in (self.meandiff_mode, self.rmsdiff_mode):
            if mode not in LIMIT_MODES:
                raise ValueError(f"limit mode '{mode}' is not one of {', '.join(LIMIT_MODES)}")

    @property
    def absolute(self) -> bool:
        """Whether both ranges are in the difference's unit already."""
        return self.meandiff_mode == self.rmsdiff_mode == "absolute"

    def resolve(self, level: float, noise: float) -> Limits:
        """The ranges in the difference's unit, for a reference of MEAN ``level`` and RMS
        ``noise``; NaN bounds when the scale a mode needs is not a positive number."""
        scales = {"absolute": 1.0, "relative": abs(level), "noise": noise}

        def scaled(bounds: tuple[float, float], mode: str) -> tuple[float, float]:
            scale = scales[mode]
            if not (math.isfinite(scale) and scale > 0):
                return (math.nan, math.nan)
            return (bounds[0] * scale, bounds[1] * scale)

        return Limits(
            meandiff=scaled(self.meandiff, self.meandiff_mode),
            rmsdiff=scaled(self.rmsdiff, self.rmsdiff_mode),
        )

    def describe(self) -> dict[str, list]:
        """``{"meandiff": [low, high, mode], "rmsdiff": [...]}``, for reports and pages."""
        return {
            "meandiff": [*self.meandiff, self.meandiff_mode],
            "rmsdiff": [*self.rmsdiff, self.rmsdiff_mode],
        }


#: Defaults. Bias: the notes' Mean in [-2, 2] and RMS in [0, 3] ADU (an offset of the
#: level is absolute). Dark: a change of the mean dark current by more than 20 % of the
#: reference's (a window in ADU/s is blind to a dark of 0.03 ADU/s), and a difference
#: whose scatter exceeds 3 × the reference's RMS (two masters of equal noise give √2).
#: Flats (ratio new/ref): a mean within 1 % of 1 (a change of the overall response or a
#: wrong normalisation) and a pixel-to-pixel scatter of at most 2 % (ten flats at 10⁴ e⁻
#: give ~0.4 %; new dust or a shifted vignetting exceeds 2 %).
DEFAULT_LIMITS: dict[str, Limits] = {
    "bias": Limits(meandiff=(-2.0, 2.0), rmsdiff=(0.0, 3.0)),
    "dark": Limits(
        meandiff=(-0.2, 0.2), rmsdiff=(0.0, 3.0), meandiff_mode="relative", rmsdiff_mode="noise"
    ),
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
    return _stats_of(_finite(data, mask))


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
            levels.append(exact_median(_finite(part, part_mask)))
    return tuple(levels)


def header_type(header: fits.Header, type_key: str = "IMAGETYP") -> str | None:
    """A master's type: CALTYPE, else the type keyword, else IMAGETYP (see normalise_type)."""
    for key in ("CALTYPE", type_key, "IMAGETYP"):
        found = normalise_type(header.get(key))
        if found:
            return found
    return None


def binning_of(header: fits.Header, keys: tuple[str, str] = BINNING_KEYS) -> tuple[int, int] | None:
    """The binning (x, y) a header gives, or None when a keyword is absent or not a number."""
    try:
        values = tuple(int(float(header[key])) for key in keys)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    return values  # type: ignore[return-value]


def _temperature(header: fits.Header | None, key: str) -> float | None:
    try:
        value = float(header[key]) if header is not None and key in header else math.nan
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _show_binning(binning: tuple[int, int]) -> str:
    return f"{binning[0]}x{binning[1]}"


def correction_problems(
    header: fits.Header,
    shape: tuple[int, ...],
    caltype: str,
    series: FrameInfo,
    *,
    type_key: str = "IMAGETYP",
    instrument_key: str = "INSTRUME",
    binning_keys: tuple[str, str] = BINNING_KEYS,
) -> tuple[list[str], list[str]]:
    """Why a master given to subtract does not suit a series, and what could not be checked.

    Parameters
    ----------
    header, shape : Header and tuple
        The master's (e.g. the file given as ``--bias``).
    caltype : {"bias", "dark"}
        What it is given as.
    series : FrameInfo
        A good frame of the series (instrument, binning, shape).
    type_key, instrument_key, binning_keys : str, optional
        The header keywords (``[calibration]``); INSTRUME is read when the instrument
        keyword is absent.

    Returns
    -------
    (problems, unchecked)
        ``problems`` name both values (the master's, the frames'); any one refuses the
        master. ``unchecked`` says what the master's header does not give.
    """
    problems, unchecked = [], []
    given = header_type(header, type_key)
    if given != caltype:
        problems.append(
            f"{type_key} {header.get(type_key, header.get('IMAGETYP'))!r} is "
            f"{'a ' + given if given else 'no calibration type'}, expected a {caltype}"
        )
    instrument = header.get(instrument_key, header.get("INSTRUME"))
    if instrument is None:
        unchecked.append(f"the master {caltype} has no {instrument_key}: instrument not checked")
    elif str(instrument).strip() != series.instrument:
        problems.append(
            f"{instrument_key} {str(instrument).strip()!r} in the master {caltype}, "
            f"{series.instrument!r} in the frames"
        )
    binning = binning_of(header, binning_keys)
    if binning is None and series.binning is not None:
        unchecked.append(f"the master {caltype} has no binning: binning not checked")
    elif binning is not None and series.binning is not None and binning != series.binning:
        problems.append(
            f"binning {_show_binning(binning)} in the master {caltype}, "
            f"{_show_binning(series.binning)} in the frames"
        )
    if tuple(shape) != tuple(series.shape):
        problems.append(
            f"shape {tuple(shape)} in the master {caltype}, {tuple(series.shape)} in the frames"
        )
    return problems, unchecked


def compare_headers(
    candidate: fits.Header,
    reference: fits.Header,
    candidate_shape: tuple[int, ...],
    reference_shape: tuple[int, ...],
    *,
    binning_keys: tuple[str, str] = BINNING_KEYS,
) -> list[str]:
    """How candidate and reference differ in type, instrument, filter, binning (when both
    give one) and shape ([] if alike)."""
    problems = []
    pairs = [
        ("type", header_type(candidate), header_type(reference)),
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
    new_binning, ref_binning = (
        binning_of(candidate, binning_keys),
        binning_of(reference, binning_keys),
    )
    if new_binning is not None and ref_binning is not None:
        pairs.append(("binning", _show_binning(new_binning), _show_binning(ref_binning)))
    for what, new, ref in pairs:
        if new != ref:
            problems.append(f"{what} {new!r} in the candidate, {ref!r} in the reference")
    if header_type(candidate) not in CALIBRATION_TYPES:
        problems.append(f"candidate type {candidate.get('IMAGETYP')!r} is not bias, dark or flat")
    return problems


def temperature_problems(
    header: fits.Header,
    reference_header: fits.Header | None = None,
    *,
    key: str = TEMPERATURE_KEY,
    tolerance: float,
) -> list[str]:
    """Where a master's CCD temperature (``key``, °C) is more than ``tolerance`` from that of
    its reference, or from the bias and dark it subtracted (BIASTEMP, DARKTEMP); [] when
    they agree or a temperature is unknown."""
    own = _temperature(header, key)
    if own is None:
        return []
    others = [("the reference", _temperature(reference_header, key))]
    others += [
        (f"the master {kind} subtracted ({card})", _temperature(header, card))
        for kind, card in CORRECTION_TEMPERATURE_KEYS.items()
    ]
    return [
        f"{key} {own:g} °C here, {other:g} °C in {what}: {abs(own - other):.3g} °C apart, "
        f"more than the tolerance of {tolerance:g} °C"
        for what, other in others
        if other is not None and abs(own - other) > tolerance
    ]


def _within(value: float, bounds: tuple[float, float]) -> bool:
    return math.isfinite(value) and bounds[0] <= value <= bounds[1]


def _text(header: fits.Header, key: str, fallback: str | None) -> str:
    """A header's text value, else the fallback (the configuration's), else ''."""
    value = str(header.get(key) or "").strip()
    return value or (fallback or "")


def _own_statistics(candidate, mask) -> tuple[Statistics, tuple[float, ...] | None]:
    """The candidate's MEAN, MEDIAN, RMS and its quadrants' levels."""
    stats = image_statistics(candidate, mask)
    return stats, quadrant_levels(candidate, mask) if stats.n_pixels else None


def _differences(candidate, reference, caltype, mask, rule: Limits):
    """Statistics and histogram of the difference, the limits in its unit, the reasons."""
    values = _finite(difference_image(candidate, reference, caltype), mask)
    diff_stats = _stats_of(values)
    counts, edges = difference_histogram(values, diff_stats.median, diff_stats.rms)
    del values
    ref_stats = None if rule.absolute else image_statistics(reference, mask)
    limits = rule if ref_stats is None else rule.resolve(ref_stats.mean, ref_stats.rms)
    reasons = []
    for name, value, bounds, mode in (
        ("MEANDIFF", diff_stats.mean, limits.meandiff, rule.meandiff_mode),
        ("RMSDIFF", diff_stats.rms, limits.rmsdiff, rule.rmsdiff_mode),
    ):
        if not all(math.isfinite(b) for b in bounds):
            scale = "level (MEAN)" if mode == "relative" else "noise (RMS)"
            reasons.append(f"{name} limit is {mode}, and the reference's {scale} is not positive")
        elif not _within(value, bounds):
            shown = f"[{bounds[0]:.6g}, {bounds[1]:.6g}]"
            reasons.append(f"{name} {value:.6g} outside {shown}{_rule_note(rule, name)}")
    return diff_stats, counts, edges, limits, ref_stats, reasons


def _rule_note(rule: Limits, name: str) -> str:
    """' (±20 % of the reference's MEAN)'-like words for a limit that is not absolute."""
    mode = rule.meandiff_mode if name == "MEANDIFF" else rule.rmsdiff_mode
    bounds = rule.meandiff if name == "MEANDIFF" else rule.rmsdiff
    if mode == "relative":
        return f" ({bounds[0]:g} to {bounds[1]:g} × the reference's MEAN)"
    if mode == "noise":
        return f" ({bounds[0]:g} to {bounds[1]:g} × the reference's RMS)"
    return ""


def validate_master(
    candidate: np.ndarray,
    candidate_header: fits.Header,
    reference: np.ndarray | None,
    reference_header: fits.Header | None,
    *,
    limits: Limits | None = None,
    mask: np.ndarray | None = None,
    im_name: str = "",
    origin: str | None = None,
    telescope: str | None = None,
    residual: ResidualCheck | None = None,
    temperature_key: str = TEMPERATURE_KEY,
    temperature_tolerance: float | None = None,
    binning_keys: tuple[str, str] = BINNING_KEYS,
) -> ValidationReport:
    """Compare a candidate master with the reference (the master in force).

    Parameters
    ----------
    candidate : ndarray, shape (ny, nx)
    candidate_header : Header
        Gives CALTYPE/IMAGETYP, INSTRUME, FILTER, DATE-OBS (first frame), ORIGIN,
        TELESCOP, the binning and the CCD temperature.
    reference, reference_header : ndarray and Header, or None
        The master in force; None for the first master of its kind (then VALID follows
        the residual check, and the difference values are absent with errorcode 3).
    limits : Limits, optional
        Defaults to :data:`DEFAULT_LIMITS` of the type; relative and noise limits are
        resolved against the reference (the report keeps both).
    mask : ndarray of bool, optional
        Bad pixels (True) left out of every statistic.
    im_name : str, optional
        IM_NAME.
    origin, telescope : str, optional
        ORIGIN and TELESCOP when the candidate's header has none (the configuration's).
    residual : ResidualCheck, optional
        The cp_verify-style check, reported beside the statistics.
    temperature_key : str, optional
        Keyword of the CCD temperature (°C) in both headers.
    temperature_tolerance : float, optional
        Largest difference (°C) of the candidate's temperature from the reference's and
        from the masters it subtracted (BIASTEMP, DARKTEMP); beyond it the report is
        invalid and says why. None: not checked.
    binning_keys : (str, str), optional

    Returns
    -------
    ValidationReport

    Raises
    ------
    HeaderMismatch
        If type, instrument, filter, binning or shape differ (checked before any statistic).
    """
    caltype = header_type(candidate_header)
    if reference is not None:
        problems = compare_headers(
            candidate_header,
            reference_header or fits.Header(),
            candidate.shape,
            reference.shape,
            binning_keys=binning_keys,
        )
        if problems:
            raise HeaderMismatch("; ".join(problems))
    elif caltype not in CALIBRATION_TYPES:
        raise HeaderMismatch(
            f"candidate type {candidate_header.get('IMAGETYP')!r} is not bias, dark or flat"
        )
    rule = limits or DEFAULT_LIMITS[caltype]
    diff_stats, counts, edges, ref_stats, reasons = None, None, None, None, []
    resolved = rule if rule.absolute else None
    with ThreadPoolExecutor(max_workers=1) as pool:  # the candidate's own numbers beside
        own = pool.submit(_own_statistics, candidate, mask)
        if reference is not None:
            diff_stats, counts, edges, resolved, ref_stats, reasons = _differences(
                candidate, reference, caltype, mask, rule
            )
        elif residual is None or not residual.passed:
            reasons.append("no reference master, and no passing residual check")
        stats, quadrants = own.result()
    if stats.n_pixels == 0:
        reasons.append("the candidate has no finite pixel")
    if temperature_tolerance is not None:
        reasons += temperature_problems(
            candidate_header,
            reference_header if reference is not None else None,
            key=temperature_key,
            tolerance=temperature_tolerance,
        )
    return ValidationReport(
        im_name=im_name,
        caltype=caltype,
        date=str(candidate_header.get("DATE-OBS", "")),
        origin=_text(candidate_header, "ORIGIN", origin),
        telescop=_text(candidate_header, "TELESCOP", telescope),
        instrume=str(candidate_header.get("INSTRUME", "")),
        filter=str(candidate_header.get("FILTER", "")),
        mean=stats.mean,
        median=stats.median,
        rms=stats.rms,
        meandiff=diff_stats.mean if diff_stats else None,
        mediandif=diff_stats.median if diff_stats else None,
        rmsdiff=diff_stats.rms if diff_stats else None,
        valid=not reasons,
        limits=resolved,
        reasons=tuple(reasons),
        histogram_counts=None if counts is None else tuple(int(c) for c in counts),
        histogram_edges=None if edges is None else tuple(float(e) for e in edges),
        residual=residual,
        unit=str(candidate_header.get("BUNIT", "")),
        limit_rule=None if rule.absolute else rule,
        reference_level=None if ref_stats is None else ref_stats.mean,
        reference_noise=None if ref_stats is None else ref_stats.rms,
        quadrants=quadrants,
        temperature=_temperature(candidate_header, temperature_key),
        reference_temperature=_temperature(reference_header, temperature_key),
    )
