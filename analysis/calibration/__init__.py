"""Calibration masters: frame checks, combining, building, validating and reporting.

Split by noun: :mod:`.frames` (what a frame says, the checks a series passes),
:mod:`.combine` (median and sigma-clipped mean of a stack of rows), :mod:`.masters`
(bias, dark and flat built block by block), :mod:`.validate` (candidate against
reference, with :mod:`.limits`, :mod:`.statistics` and :mod:`.headers`), :mod:`.verify`
(the master applied to its own frames) and :mod:`.report` (the notes' JSON). Arrays,
headers and records in; new objects out; no file is read here.
"""

from analysis.calibration.combine import METHODS, combine_rows, median_rows
from analysis.calibration.frames import (
    CALIBRATION_TYPES,
    FrameInfo,
    FrameRules,
    FrameSelection,
    check_frames,
    normalise_type,
)
from analysis.calibration.headers import (
    HeaderMismatch,
    binning_of,
    correction_problems,
    header_type,
    temperature_problems,
)
from analysis.calibration.limits import DEFAULT_LIMITS, LIMIT_MODES, Limits
from analysis.calibration.masters import Corrections, Master, build_master, software_version
from analysis.calibration.report import (
    ERRORCODES,
    REPORT_KEYS,
    ValidationReport,
    report_from_dict,
)
from analysis.calibration.statistics import (
    Statistics,
    difference_histogram,
    difference_image,
    image_statistics,
    quadrant_levels,
)
from analysis.calibration.validate import validate_master
from analysis.calibration.verify import ResidualCheck, residual_check, verify_master

__all__ = [
    "CALIBRATION_TYPES",
    "DEFAULT_LIMITS",
    "ERRORCODES",
    "LIMIT_MODES",
    "METHODS",
    "REPORT_KEYS",
    "Corrections",
    "FrameInfo",
    "FrameRules",
    "FrameSelection",
    "HeaderMismatch",
    "Limits",
    "Master",
    "ResidualCheck",
    "Statistics",
    "ValidationReport",
    "binning_of",
    "build_master",
    "check_frames",
    "combine_rows",
    "correction_problems",
    "difference_histogram",
    "difference_image",
    "header_type",
    "image_statistics",
    "median_rows",
    "normalise_type",
    "quadrant_levels",
    "report_from_dict",
    "residual_check",
    "software_version",
    "temperature_problems",
    "validate_master",
    "verify_master",
]
