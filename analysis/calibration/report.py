"""The validation report, in the JSON of the design notes' "Data transfert to GIC".

::

    {"IM_NAME": ..., "TYPE": "bias"|"dark"|"flat", "DATE": <DATE-OBS of the 1st frame>,
     "ORIGIN": "OAN/SPM", "TELESCOP": "COLIBRI", "INSTRUME": ..., "FILTER": ...,
     "MEAN": {"name": "MEAN", "value": 1000.2, "type": "float", "unit": "ADU", "errorcode": 0},
     "MEDIAN": {...}, "RMS": {...}, "MEANDIFF": {...}, "MEDIANDIF": {...}, "RMSDIFF": {...},
     "VALID": {"name": "VALID", "value": true, "type": "bool", "unit": "", "errorcode": 0}}

``errorcode`` (see :data:`ERRORCODES`): 0 the value is good; 1 it lies outside the
limits (MEANDIFF, RMSDIFF; VALID false); 2 it could not be computed (no finite
pixel; value null); 3 there was no reference master (the three differences; value null).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analysis.calibration.frames import CALIBRATION_TYPES

if TYPE_CHECKING:
    from analysis.calibration.limits import Limits
    from analysis.calibration.verify import ResidualCheck

#: The report's keys, in the order of the notes.
REPORT_KEYS: tuple[str, ...] = (
    "IM_NAME",
    "TYPE",
    "DATE",
    "ORIGIN",
    "TELESCOP",
    "INSTRUME",
    "FILTER",
    "MEAN",
    "MEDIAN",
    "RMS",
    "MEANDIFF",
    "MEDIANDIF",
    "RMSDIFF",
    "VALID",
)
#: The keys that are ``{"name", "value", "type", "unit", "errorcode"}`` objects.
QUANTITY_KEYS: tuple[str, ...] = REPORT_KEYS[7:]
QUANTITY_FIELDS: tuple[str, ...] = ("name", "value", "type", "unit", "errorcode")

ERRORCODES: dict[int, str] = {
    0: "good",
    1: "outside the limits",
    2: "not computable (no finite pixel)",
    3: "no reference master to compare with",
}


@dataclass(frozen=True)
class ValidationReport:
    """A candidate master's statistics and verdict (see the module docstring for the JSON).

    ``meandiff``, ``mediandif`` and ``rmsdiff`` are None without a reference; for flats
    they describe the ratio new/ref. ``limits`` (in the difference's unit), ``reasons``,
    the histogram, the residual check, the limits as configured when they are relative
    (``limit_rule``, with the reference's MEAN and RMS they were scaled by), the quadrants'
    levels and the CCD temperatures (°C) of candidate and reference travel beside the
    notes' JSON (in the cache), not inside it.
    """

    im_name: str
    caltype: str
    date: str
    origin: str
    telescop: str
    instrume: str
    filter: str
    mean: float
    median: float
    rms: float
    meandiff: float | None
    mediandif: float | None
    rmsdiff: float | None
    valid: bool
    limits: Limits | None = None
    reasons: tuple[str, ...] = ()
    histogram_counts: tuple[int, ...] | None = None
    histogram_edges: tuple[float, ...] | None = None
    residual: ResidualCheck | None = None
    unit: str = ""
    limit_rule: Limits | None = None
    reference_level: float | None = None
    reference_noise: float | None = None
    quadrants: tuple[float, ...] | None = None
    temperature: float | None = None
    reference_temperature: float | None = None

    @property
    def quadrant_spread(self) -> float | None:
        """Highest minus lowest of the quadrants' medians (the master's unit), or None."""
        if not self.quadrants or not all(math.isfinite(q) for q in self.quadrants):
            return None
        return max(self.quadrants) - min(self.quadrants)

    def _errorcode(self, key: str, value: float | None) -> int:
        if key in ("MEANDIFF", "MEDIANDIF", "RMSDIFF") and value is None:
            return 3
        if value is None or not math.isfinite(value):
            return 2
        if self.limits is not None and key in ("MEANDIFF", "RMSDIFF"):
            low, high = self.limits.meandiff if key == "MEANDIFF" else self.limits.rmsdiff
            return 0 if low <= value <= high else 1
        return 0

    def to_dict(self) -> dict[str, Any]:
        """The report as the notes' JSON object (keys in :data:`REPORT_KEYS` order)."""
        diff_unit = "ratio" if self.caltype == "flat" else self.unit
        out: dict[str, Any] = {
            "IM_NAME": self.im_name,
            "TYPE": self.caltype,
            "DATE": self.date,
            "ORIGIN": self.origin,
            "TELESCOP": self.telescop,
            "INSTRUME": self.instrume,
            "FILTER": self.filter,
        }
        for key, value, unit in (
            ("MEAN", self.mean, self.unit),
            ("MEDIAN", self.median, self.unit),
            ("RMS", self.rms, self.unit),
            ("MEANDIFF", self.meandiff, diff_unit),
            ("MEDIANDIF", self.mediandif, diff_unit),
            ("RMSDIFF", self.rmsdiff, diff_unit),
        ):
            code = self._errorcode(key, value)
            shown = None if value is None or not math.isfinite(value) else float(value)
            out[key] = {
                "name": key,
                "value": shown,
                "type": "float",
                "unit": unit,
                "errorcode": code,
            }
        out["VALID"] = {
            "name": "VALID",
            "value": bool(self.valid),
            "type": "bool",
            "unit": "",
            "errorcode": 0 if self.valid else 1,
        }
        return out


def _quantity(data: dict, key: str) -> dict:
    item = data[key]
    if not isinstance(item, dict) or set(item) != set(QUANTITY_FIELDS):
        raise ValueError(
            f"{key} must be an object with keys {', '.join(QUANTITY_FIELDS)}, got {item!r}"
        )
    if item["name"] != key:
        raise ValueError(f"{key}.name is {item['name']!r}, expected {key!r}")
    if not isinstance(item["errorcode"], int) or isinstance(item["errorcode"], bool):
        raise ValueError(f"{key}.errorcode must be an integer, got {item['errorcode']!r}")
    return item


def _number(data: dict, key: str) -> float | None:
    value = _quantity(data, key)["value"]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key}.value must be a number or null, got {value!r}")
    try:
        return float(value)
    except OverflowError:  # an integer beyond any float (10**400 is valid JSON)
        raise ValueError(f"{key}.value {value} is too large for a float") from None


def report_from_dict(data: Any) -> ValidationReport:
    """Read a report in the notes' JSON format (as produced by TCS or by :meth:`to_dict`).

    Raises
    ------
    ValueError
        If a key is missing or unknown, or a value has the wrong type; names the key.
    """
    if not isinstance(data, dict):
        raise ValueError(f"a report must be a JSON object, got {type(data).__name__}")
    missing = [k for k in REPORT_KEYS if k not in data]
    if missing:
        raise ValueError(f"missing key(s) {', '.join(missing)}")
    extra = [k for k in data if k not in REPORT_KEYS]
    if extra:
        raise ValueError(f"unknown key(s) {', '.join(extra)}; expected {', '.join(REPORT_KEYS)}")
    for key in REPORT_KEYS[:7]:
        if not isinstance(data[key], str):
            raise ValueError(f"{key} must be a string, got {data[key]!r}")
    caltype = data["TYPE"].strip().lower()
    if caltype not in CALIBRATION_TYPES:
        raise ValueError(f"TYPE {data['TYPE']!r} is not one of {', '.join(CALIBRATION_TYPES)}")
    valid = _quantity(data, "VALID")["value"]
    if not isinstance(valid, bool):
        raise ValueError(f"VALID.value must be true or false, got {valid!r}")
    numbers = {k: _number(data, k) for k in QUANTITY_KEYS[:-1]}
    return ValidationReport(
        im_name=data["IM_NAME"],
        caltype=caltype,
        date=data["DATE"],
        origin=data["ORIGIN"],
        telescop=data["TELESCOP"],
        instrume=data["INSTRUME"],
        filter=data["FILTER"],
        mean=math.nan if numbers["MEAN"] is None else numbers["MEAN"],
        median=math.nan if numbers["MEDIAN"] is None else numbers["MEDIAN"],
        rms=math.nan if numbers["RMS"] is None else numbers["RMS"],
        meandiff=numbers["MEANDIFF"],
        mediandif=numbers["MEDIANDIF"],
        rmsdiff=numbers["RMSDIFF"],
        valid=valid,
        unit=str(data["MEAN"]["unit"]),
    )
