"""What a calibration frame says about itself, and the checks a series must pass.

A frame is described by a :class:`FrameInfo` (read from its header and a sample of
its pixels by the data-access layer); :func:`check_frames` keeps the frames fit for
one master and gives every other one a reason, in the manner of BANZAI's stages: one
bad frame is left out and logged, the series goes on.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: Calibration types a master may be built for.
CALIBRATION_TYPES: tuple[str, ...] = ("bias", "dark", "flat")

# IMAGETYP spellings in the wild (MaxIm DL, ESO, IRAF, TCS), lower-cased, to our types.
_TYPE_WORDS = {
    "bias": "bias",
    "zero": "bias",
    "bias frame": "bias",
    "offset": "bias",
    "dark": "dark",
    "dark frame": "dark",
    "flat": "flat",
    "flat field": "flat",
    "flat frame": "flat",
    "flatfield": "flat",
    "skyflat": "flat",
    "sky flat": "flat",
    "domeflat": "flat",
    "dome flat": "flat",
    "twflat": "flat",
    "twilight flat": "flat",
    "light": "light",
    "light frame": "light",
    "object": "light",
    "science": "light",
    "master bias": "bias",
    "master dark": "dark",
    "master flat": "flat",
}


def normalise_type(value: object) -> str | None:
    """The calibration type an IMAGETYP value names (``bias``, ``dark``, ``flat``,
    ``light``), or None when it names none of them.

    Examples
    --------
    >>> normalise_type("Dark Frame"), normalise_type("ZERO"), normalise_type("Sky Flat")
    ('dark', 'bias', 'flat')
    """
    if value is None:
        return None
    text = re.sub(r"[\s_\-]+", " ", str(value).strip().lower())
    return _TYPE_WORDS.get(text)


@dataclass(frozen=True)
class FrameInfo:
    """One raw frame as the checks see it.

    Attributes
    ----------
    name : str
        The file name, for reasons and provenance.
    shape : tuple of int
        (ny, nx) in pixels.
    caltype : str or None
        Type from the header (see :func:`normalise_type`).
    instrument, filter : str
        INSTRUME and FILTER ("" when absent).
    exptime : float
        Exposure time in seconds (NaN when absent).
    date : str
        DATE-OBS, ISO 8601 ("" when absent).
    median : float
        Median of a sample of the pixels, ADU (NaN when no pixel is finite).
    saturated_fraction : float
        Fraction of the sampled pixels at or above the saturation level.
    finite_fraction : float
        Fraction of the sampled pixels that are finite.
    temperature : float
        CCD temperature, °C (NaN when the header has none).
    binning : (int, int) or None
        Binning (x, y) in pixels (None when the header has none).
    origin, telescope : str
        ORIGIN and TELESCOP ("" when absent).
    """

    name: str
    shape: tuple[int, int]
    caltype: str | None
    instrument: str = ""
    filter: str = ""
    exptime: float = math.nan
    date: str = ""
    median: float = math.nan
    saturated_fraction: float = 0.0
    finite_fraction: float = 1.0
    temperature: float = math.nan
    binning: tuple[int, int] | None = None
    origin: str = ""
    telescope: str = ""


@dataclass(frozen=True)
class SampleLevels:
    """What a sample of a frame's pixels says: its median (ADU, NaN when no pixel is
    finite), and the fractions of its pixels at or above saturation and finite."""

    median: float
    saturated_fraction: float
    finite_fraction: float


def sample_levels(sample: np.ndarray, saturation_level: float) -> SampleLevels:
    """The :class:`SampleLevels` of a sample of pixels (ADU).

    Raw counts (uint8 or uint16) are all finite and their median is taken from their
    histogram, one pass without a sort (a tenth of ``np.median``'s time on 64 rows of a
    DDRAGO frame); it is ``np.median``'s, the mean of the two middle values for an even
    count.
    """
    n = sample.size
    if sample.dtype in (np.uint8, np.uint16):
        saturated = np.count_nonzero(sample >= saturation_level)
        return SampleLevels(_counts_median(sample), saturated / max(1, n), 1.0 if n else 0.0)
    finite = sample[np.isfinite(sample)]
    return SampleLevels(
        float(np.median(finite)) if finite.size else math.nan,
        float(np.count_nonzero(finite >= saturation_level)) / max(1, n),
        finite.size / max(1, n),
    )


def _counts_median(counts: np.ndarray) -> float:
    """np.median of unsigned integer counts, from their histogram."""
    if counts.size == 0:
        return math.nan
    cumulative = np.cumsum(np.bincount(counts.reshape(-1)))
    n = counts.size
    low, high = (int(np.searchsorted(cumulative, r, side="right")) for r in ((n - 1) // 2, n // 2))
    return (low + high) / 2


@dataclass(frozen=True)
class FrameRules:
    """The rules a series must follow (from ``[calibration]`` in ``gic.toml``).

    Attributes
    ----------
    min_frames : int
        Fewest good frames a master may be built from.
    max_bias_exptime : float
        Longest exposure a bias may have, s.
    max_saturated_fraction : float
        Largest fraction of saturated pixels a frame may hold.
    same_exptime_types : tuple of str
        Types whose frames must share one exposure time (darks kept at one exposure time).
    filter_free_types : tuple of str
        Types whose frames may come with any filter (shutter closed).
    temperature_tolerance : float or None
        Largest distance (°C) of a frame's CCD temperature from the series' median;
        None: not checked.
    temperature_key : str
        The header keyword of the temperature, for the reasons.
    """

    min_frames: int = 3
    max_bias_exptime: float = 0.0
    max_saturated_fraction: float = 0.01
    same_exptime_types: tuple[str, ...] = ()
    filter_free_types: tuple[str, ...] = ("bias", "dark")
    temperature_tolerance: float | None = None
    temperature_key: str = "CCD-TEMP"


@dataclass(frozen=True)
class FrameSelection:
    """The outcome of :func:`check_frames`: the good frames and the reasons of the others."""

    good: tuple[FrameInfo, ...]
    rejected: tuple[tuple[str, str], ...] = field(default=())

    @property
    def enough(self) -> bool:
        return self.problem is None

    problem: str | None = None


def _frame_problem(frame: FrameInfo, caltype: str, rules: FrameRules) -> str | None:
    """The first rule a frame breaks on its own, or None."""
    if frame.caltype != caltype:
        return f"type is '{frame.caltype or 'unknown'}', expected '{caltype}'"
    if frame.finite_fraction == 0:
        return "every pixel is NaN"
    if caltype == "bias" and not frame.exptime <= rules.max_bias_exptime:
        return f"exposure {frame.exptime} s, a bias must not exceed {rules.max_bias_exptime} s"
    if caltype in ("dark", "flat") and not frame.exptime > 0:
        return f"exposure {frame.exptime} s, a {caltype} needs a positive exposure time"
    if frame.saturated_fraction > rules.max_saturated_fraction:
        return (
            f"{100 * frame.saturated_fraction:.2f}% of pixels saturated, more than "
            f"{100 * rules.max_saturated_fraction:.2f}%"
        )
    return None


def check_frames(frames: Sequence[FrameInfo], caltype: str, rules: FrameRules) -> FrameSelection:
    """Keep the frames fit for one master of ``caltype`` and give each other one a reason.

    Each frame must have the expected type, a finite pixel, an exposure time allowed for
    its type and few saturated pixels; then the good frames must agree with the majority
    on shape, instrument, binning and filter (filter only for types not in
    ``rules.filter_free_types``) and, for ``rules.same_exptime_types``, exposure time;
    last, when the frames give a CCD temperature, each must lie within
    ``rules.temperature_tolerance`` of the series' median temperature.

    Parameters
    ----------
    frames : sequence of FrameInfo
    caltype : {"bias", "dark", "flat"}
    rules : FrameRules

    Returns
    -------
    FrameSelection
        ``good`` frames in the given order, ``rejected`` as (name, reason), and
        ``problem`` (None when enough frames are left).
    """
    if caltype not in CALIBRATION_TYPES:
        raise ValueError(
            f"calibration type '{caltype}' is not one of {', '.join(CALIBRATION_TYPES)}"
        )
    rejected: list[tuple[str, str]] = []
    good: list[FrameInfo] = []
    for frame in frames:
        problem = _frame_problem(frame, caltype, rules)
        if problem:
            rejected.append((frame.name, problem))
        else:
            good.append(frame)
    checks = [
        ("shape", lambda f: f.shape),
        ("instrument", lambda f: f.instrument),
        ("binning", lambda f: f.binning),
    ]
    if caltype not in rules.filter_free_types:
        checks.append(("filter", lambda f: f.filter))
    if caltype in rules.same_exptime_types:
        checks.append(("exposure time", lambda f: f.exptime))
    for what, key in checks:
        if not good:
            break
        majority = Counter(key(f) for f in good).most_common(1)[0][0]
        for frame in [f for f in good if key(f) != majority]:
            rejected.append(
                (frame.name, f"{what} {key(frame)!r} differs from the series' {majority!r}")
            )
        good = [f for f in good if key(f) == majority]
    if rules.temperature_tolerance is not None:
        good = _temperature_check(good, rules, rejected)
    problem = None
    if len(good) < rules.min_frames:
        problem = (
            f"{len(good)} good {caltype} frame(s) of {len(frames)}, "
            f"fewer than the minimum of {rules.min_frames}"
        )
    return FrameSelection(good=tuple(good), rejected=tuple(rejected), problem=problem)


def _temperature_check(
    good: list[FrameInfo], rules: FrameRules, rejected: list[tuple[str, str]]
) -> list[FrameInfo]:
    """The frames within the tolerance of the series' median CCD temperature; the others
    (and, when the series has temperatures, the frames without one) go to ``rejected``."""
    known = [f.temperature for f in good if math.isfinite(f.temperature)]
    if not known:
        return good
    median = statistics.median(known)
    key, tolerance = rules.temperature_key, rules.temperature_tolerance
    kept = []
    for frame in good:
        if not math.isfinite(frame.temperature):
            rejected.append((frame.name, f"no {key}, while the series' frames have one"))
        elif abs(frame.temperature - median) > tolerance:
            rejected.append(
                (
                    frame.name,
                    f"{key} {frame.temperature:g} °C, {abs(frame.temperature - median):.3g} °C "
                    f"from the series' median {median:g} °C (tolerance {tolerance:g} °C)",
                )
            )
        else:
            kept.append(frame)
    return kept
