"""Validating a candidate master against the reference master of its kind.

The procedure of the design notes ("Plan calibration", step 2): check the headers
(instrument, filter, type, binning, shape) first, then the statistics of the candidate
(MEAN, MEDIAN, RMS) and of the pixel-by-pixel difference new − ref (MEANDIFF, MEDIANDIF,
RMSDIFF; for flats the ratio new/ref, centred on 1), and VALID when MEANDIFF and
RMSDIFF lie within the limits of the type and the CCD temperatures agree. RMS is the
root mean square deviation from the mean (the standard deviation of the pixel values).
NaN pixels and pixels of a bad-pixel mask are left out of every statistic.

The limits are :mod:`.limits`, the numbers :mod:`.statistics`, the header checks
:mod:`.headers`.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from astropy.io import fits

from analysis.calibration.frames import CALIBRATION_TYPES
from analysis.calibration.headers import (
    BINNING_KEYS,
    TEMPERATURE_KEY,
    HeaderMismatch,
    ccd_temperature,
    compare_headers,
    header_type,
    temperature_problems,
)
from analysis.calibration.limits import DEFAULT_LIMITS, Limits
from analysis.calibration.report import ValidationReport
from analysis.calibration.statistics import (
    Statistics,
    difference_statistics,
    image_statistics,
    quadrant_levels,
)
from analysis.calibration.verify import ResidualCheck


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
    diff_stats, counts, edges = difference_statistics(candidate, reference, caltype, mask)
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
        temperature=ccd_temperature(candidate_header, temperature_key),
        reference_temperature=ccd_temperature(reference_header, temperature_key),
    )
