"""What a master's header says, and whether two masters are of the same kind.

Type, instrument, filter, binning, shape and CCD temperature of a candidate against its
reference (:func:`compare_headers`, :func:`temperature_problems`), and of a master a build
subtracts against the series (:func:`correction_problems`): a dark given as the bias, or a
bias of another camera, binning or shape, is refused.
"""

from __future__ import annotations

import math

from astropy.io import fits

from analysis.calibration.frames import CALIBRATION_TYPES, FrameInfo, normalise_type

#: Header keywords of the binning (x, y) and of the CCD temperature (°C), by default.
BINNING_KEYS = ("XBINNING", "YBINNING")
TEMPERATURE_KEY = "CCD-TEMP"

#: Header keywords a master keeps the CCD temperature of the bias and dark it subtracted in.
CORRECTION_TEMPERATURE_KEYS = {"bias": "BIASTEMP", "dark": "DARKTEMP"}


class HeaderMismatch(ValueError):
    """Candidate and reference are not masters of the same kind; the message says how."""


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


def ccd_temperature(header: fits.Header | None, key: str) -> float | None:
    """The temperature (°C) under ``key``; None when absent, not a number or not finite."""
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
    own = ccd_temperature(header, key)
    if own is None:
        return []
    others = [("the reference", ccd_temperature(reference_header, key))]
    others += [
        (f"the master {kind} subtracted ({card})", ccd_temperature(header, card))
        for kind, card in CORRECTION_TEMPERATURE_KEYS.items()
    ]
    return [
        f"{key} {own:g} °C here, {other:g} °C in {what}: {abs(own - other):.3g} °C apart, "
        f"more than the tolerance of {tolerance:g} °C"
        for what, other in others
        if other is not None and abs(own - other) > tolerance
    ]
