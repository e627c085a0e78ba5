"""A burst's photometry table and the burst itself, as the product builders take them.

The photometry CSV (one row per image and filter) has at least the columns::

    image_id,filter,t_start,t_end,exptime,mag,mag_err,limit_mag,detected,ra,dec

``t_start``/``t_end`` ISO 8601 UTC (``2026-03-05T04:12:30.5``), ``exptime`` in seconds,
``mag``/``mag_err``/``limit_mag`` AB magnitudes, ``detected`` 1 or 0, ``ra``/``dec`` of
the counterpart in degrees (ICRS; may be empty when not detected). Optional columns:
``instrument`` (DDRAGO1, DDRAGO2, CAGIRE; default FGFT), ``obs_id`` (GFT_OBID) and
``pos_err`` (the detection's position error in arcsec, from its centroid; empty: unknown,
then PO's POSERR comes from the positions' scatter and the astrometric fit, see
:mod:`analysis.products.position`).
For a non-detection, ``mag`` and ``mag_err`` may be empty. An empty ``limit_mag`` is an
unknown limit (0 in the products, their "none"). Refused: a detection with ``mag_err`` 0
(in compiled catalogues an upper limit or an unknown error: give the error, or
``detected`` 0 for a limit) and an ``image_id`` given twice; the message names the rows.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from astropy.time import Time
from erfa import ErfaWarning  # pyerfa: astropy's own time library

from analysis.limits import size_problem

REQUIRED_COLUMNS = (
    "image_id",
    "filter",
    "t_start",
    "t_end",
    "exptime",
    "mag",
    "mag_err",
    "limit_mag",
    "detected",
    "ra",
    "dec",
)
OPTIONAL_COLUMNS = ("instrument", "obs_id", "pos_err")
#: Largest photometry table read, in characters (a burst's table is a few kB).
MAX_PHOTOMETRY_CHARS = 16 * 1024 * 1024
IMAGEID_WIDTH = 50
UNKNOWN_LIMIT = 0.0
"""``limit_mag`` of a row whose limit is not known (empty in the CSV)."""


class PhotometryError(ValueError):
    """A photometry table that cannot be used; the message names the file, row and column."""


@dataclass(frozen=True)
class Burst:
    """The burst a product belongs to, as its alert gives it.

    Attributes
    ----------
    burst_id : str
        SVOM burst ID (``sb26030512``).
    t0 : astropy.time.Time
        Trigger time T0 (UTC).
    ra_deg, dec_deg : float
        Alert position, degrees (ICRS).
    error_deg : float
        Alert error radius, degrees.
    """

    burst_id: str
    t0: Time
    ra_deg: float
    dec_deg: float
    error_deg: float = 0.0

    def __post_init__(self) -> None:
        if not self.burst_id:
            raise ValueError("a burst needs a burst ID")
        for name in ("ra_deg", "dec_deg", "error_deg"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"burst {self.burst_id}: {name} is not a finite number")
        if not 0.0 <= self.ra_deg < 360.0 or not -90.0 <= self.dec_deg <= 90.0:
            raise ValueError(
                f"burst {self.burst_id}: position ({self.ra_deg}, {self.dec_deg}) is outside "
                "0 <= RA < 360, -90 <= Dec <= 90 degrees"
            )


@dataclass(frozen=True)
class Photometry:
    """One burst's measurements, one entry per image and filter (numpy arrays, equal length).

    ``t_start``/``t_end`` are :class:`~astropy.time.Time` (UTC); magnitudes AB; ``mag`` and
    ``mag_err`` are 0 for a non-detection; ``ra``/``dec`` degrees, 0 when not detected;
    ``pos_err`` arcsec, NaN when unknown.
    """

    image_id: np.ndarray
    filter: np.ndarray
    t_start: Time
    t_end: Time
    exptime: np.ndarray
    mag: np.ndarray
    mag_err: np.ndarray
    limit_mag: np.ndarray
    detected: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    instrument: np.ndarray
    obs_id: np.ndarray
    pos_err: np.ndarray

    def __len__(self) -> int:
        return len(self.image_id)

    def since_t0(self, t0: Time) -> np.ndarray:
        """Mid-exposure time after T0, seconds."""
        mid = self.t_start + (self.t_end - self.t_start) * 0.5
        return np.asarray((mid - t0).to_value("s"), dtype=float)

    def start_since_t0(self, t0: Time) -> np.ndarray:
        """Start of exposure after T0, seconds (the notes' DELTAT = Tstart - T0)."""
        return np.asarray((self.t_start - t0).to_value("s"), dtype=float)

    def filters(self) -> list[str]:
        """The filters present, in order of first appearance."""
        return list(dict.fromkeys(self.filter.tolist()))

    def take(self, mask: np.ndarray) -> Photometry:
        """The rows where ``mask`` is true (or the indices given), as a new table."""
        return Photometry(**{name: getattr(self, name)[mask] for name in self.__dataclass_fields__})


def _number(value: str, column: str, where: str, *, empty: float | None = None) -> float:
    if value.strip() == "" and empty is not None:
        return empty
    try:
        number = float(value)
    except ValueError:
        raise PhotometryError(f"{where}: column {column} value {value!r} is not a number") from None
    if not math.isfinite(number):
        raise PhotometryError(f"{where}: column {column} value {value!r} is not finite")
    return number


def _row(record: dict[str, str], where: str) -> dict:
    detected = record["detected"].strip()
    if detected not in ("0", "1"):
        raise PhotometryError(f"{where}: column detected value {detected!r} is not 1 or 0")
    seen = detected == "1"
    image_id = record["image_id"].strip()
    if not image_id or len(image_id) > IMAGEID_WIDTH:
        raise PhotometryError(f"{where}: column image_id must have 1 to {IMAGEID_WIDTH} characters")
    if not record["filter"].strip():
        raise PhotometryError(f"{where}: column filter is empty")
    empty = None if seen else 0.0
    row = {
        "image_id": image_id,
        "filter": record["filter"].strip(),
        "t_start": record["t_start"].strip(),
        "t_end": record["t_end"].strip(),
        "exptime": _number(record["exptime"], "exptime", where),
        "mag": _number(record["mag"], "mag", where, empty=empty),
        "mag_err": _number(record["mag_err"], "mag_err", where, empty=empty),
        "limit_mag": _number(record["limit_mag"], "limit_mag", where, empty=UNKNOWN_LIMIT),
        "detected": int(seen),
        "ra": _number(record["ra"], "ra", where, empty=empty),
        "dec": _number(record["dec"], "dec", where, empty=empty),
        "instrument": (record.get("instrument") or "FGFT").strip(),
        "obs_id": (record.get("obs_id") or "").strip(),
        "pos_err": _number(record.get("pos_err") or "", "pos_err", where, empty=math.nan),
    }
    if row["exptime"] < 0 or (seen and row["mag_err"] < 0):
        raise PhotometryError(f"{where}: exptime and mag_err must not be negative")
    if not row["pos_err"] > 0 and not math.isnan(row["pos_err"]):
        raise PhotometryError(f"{where}: pos_err must be positive (arcsec), or empty if unknown")
    return row


def _times(values: list[str], column: str, source: str) -> Time:
    for row, value in enumerate(values, start=2):
        with warnings.catch_warnings():
            # a year UTC cannot describe (no leap-second table: before 1960, far future)
            warnings.simplefilter("error", ErfaWarning)
            try:
                Time(value, format="isot", scale="utc")
            except (ValueError, ErfaWarning):
                raise PhotometryError(
                    f"{source}, row {row}: column {column} value {value!r} is not an ISO UTC "
                    "time (YYYY-MM-DDTHH:MM:SS, a year UTC covers)"
                ) from None
    try:  # each value reads alone, but numpy may read them otherwise together (NUL bytes)
        return Time(values, format="isot", scale="utc")
    except ValueError as exc:
        raise PhotometryError(f"{source}: column {column} is not ISO UTC times: {exc}") from None


def _records(reader: csv.DictReader, source: str) -> list[dict]:
    """Every row of the CSV read, checked for its columns and converted (see :func:`_row`)."""
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise PhotometryError(
            f"{source}: missing column(s) {', '.join(missing)}; expected at "
            f"least {','.join(REQUIRED_COLUMNS)}"
        )
    rows = []
    for number, record in enumerate(reader, start=2):
        if None in record.values() or None in record:
            raise PhotometryError(f"{source}, row {number}: wrong number of fields")
        rows.append(_row(record, f"{source}, row {number}"))
    return rows


def _row_list(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:20])
    return shown + (f" and {len(numbers) - 20} more" if len(numbers) > 20 else "")


def _check_rows(rows: list[dict], source: str) -> None:
    """Refuse detections without an error and image IDs given twice (rows counted from 2)."""
    zero = [n for n, r in enumerate(rows, start=2) if r["detected"] and r["mag_err"] == 0]
    if zero:
        raise PhotometryError(
            f"{source}, row(s) {_row_list(zero)}: mag_err 0 on a detection (an upper limit or "
            "an unknown error); give the error, or detected 0 for a limit"
        )
    first: dict[str, int] = {}
    repeated = []
    for number, row in enumerate(rows, start=2):
        if row["image_id"] in first:
            repeated.append(f"{row['image_id']!r} (rows {first[row['image_id']]} and {number})")
        first.setdefault(row["image_id"], number)
    if repeated:
        raise PhotometryError(f"{source}: image_id given twice: {'; '.join(repeated[:10])}")


def parse_photometry_csv(text: str, *, source: str = "<photometry>") -> Photometry:
    """Read a photometry CSV (see the module docstring) into a :class:`Photometry`.

    Parameters
    ----------
    text : str
        The CSV, with a header row.
    source : str, optional
        The file name, quoted in every error.

    Raises
    ------
    PhotometryError
        A table larger than :data:`MAX_PHOTOMETRY_CHARS` or that is not CSV, a missing
        column, an empty table, or a row with a value that is not of its kind; the message
        names ``source``, the row (counting the header as row 1) and the column.
    """
    if too_large := size_problem(len(text), MAX_PHOTOMETRY_CHARS):
        raise PhotometryError(f"{source}: {too_large}")
    reader = csv.DictReader(io.StringIO(text))
    try:
        rows = _records(reader, source)
    except csv.Error as exc:  # a field over csv's size limit, an unclosed quote...
        raise PhotometryError(f"{source}, line {reader.line_num}: not CSV: {exc}") from None
    if not rows:
        raise PhotometryError(f"{source}: no measurement")
    _check_rows(rows, source)
    t_start = _times([r["t_start"] for r in rows], "t_start", source)
    t_end = _times([r["t_end"] for r in rows], "t_end", source)
    if np.any((t_end - t_start).to_value("s") < 0):
        bad = int(np.flatnonzero((t_end - t_start).to_value("s") < 0)[0]) + 2
        raise PhotometryError(f"{source}, row {bad}: t_end is before t_start")
    column = lambda name, kind=None: np.asarray([r[name] for r in rows], dtype=kind)  # noqa: E731
    return Photometry(
        image_id=column("image_id", str),
        filter=column("filter", str),
        t_start=t_start,
        t_end=t_end,
        exptime=column("exptime", float),
        mag=column("mag", float),
        mag_err=column("mag_err", float),
        limit_mag=column("limit_mag", float),
        detected=column("detected", np.int16),
        ra=column("ra", float),
        dec=column("dec", float),
        instrument=column("instrument", str),
        obs_id=column("obs_id", str),
        pos_err=column("pos_err", float),
    )


def photometry_csv(photometry: Photometry) -> str:
    """The CSV text of a :class:`Photometry` (the inverse of :func:`parse_photometry_csv`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    for i in range(len(photometry)):
        seen = bool(photometry.detected[i])
        writer.writerow(
            [
                photometry.image_id[i],
                photometry.filter[i],
                photometry.t_start[i].isot,
                photometry.t_end[i].isot,
                f"{photometry.exptime[i]:g}",
                f"{photometry.mag[i]:.4f}" if seen else "",
                f"{photometry.mag_err[i]:.4f}" if seen else "",
                f"{photometry.limit_mag[i]:.3f}" if photometry.limit_mag[i] else "",
                int(seen),
                f"{photometry.ra[i]:.7f}" if seen else "",
                f"{photometry.dec[i]:.7f}" if seen else "",
                photometry.instrument[i],
                photometry.obs_id[i],
                f"{photometry.pos_err[i]:.4f}" if np.isfinite(photometry.pos_err[i]) else "",
            ]
        )
    return out.getvalue()
