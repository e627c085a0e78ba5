"""The concordance JSON/FITS: a product file checked against its descriptor.

Every deviation is reported, not only the first: a missing extension, keyword or
column; a keyword of the wrong type or unit; a column of the wrong format or unit; a
value outside its allowed range; a required value left empty; a NaN anywhere; a
keyword the descriptor does not know.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.io import fits

from analysis.products.descriptor import COLUMN_FORMAT, Extension, Keyword, ProductDescriptor
from analysis.products.layout import keyword_comment

STRUCTURAL = {
    "SIMPLE",
    "BITPIX",
    "NAXIS",
    "NAXIS1",
    "NAXIS2",
    "EXTEND",
    "XTENSION",
    "PCOUNT",
    "GCOUNT",
    "TFIELDS",
    "EXTNAME",
    "CHECKSUM",
    "DATASUM",
    "COMMENT",
    "HISTORY",
    "",
}
COLUMN_KEYS = ("TTYPE", "TFORM", "TUNIT", "TNULL", "TDISP", "TSCAL", "TZERO", "TDIM")


@dataclass(frozen=True)
class Deviation:
    """One way a file departs from its descriptor."""

    extension: str
    keyword: str
    problem: str

    def __str__(self) -> str:
        return f"{self.extension}: {self.keyword}: {self.problem}"


@dataclass(frozen=True)
class ValidationReport:
    """Every deviation of one product file from its descriptor (empty when it conforms)."""

    card: str
    deviations: tuple[Deviation, ...]

    @property
    def valid(self) -> bool:
        return not self.deviations

    def to_dict(self) -> dict[str, Any]:
        return {
            "card": self.card,
            "valid": self.valid,
            "deviations": [
                {"extension": d.extension, "keyword": d.keyword, "problem": d.problem}
                for d in self.deviations
            ],
        }


def _type_problem(keyword: Keyword, value: Any) -> str | None:
    expected = keyword.data_type
    ok = {
        "string": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
    }[expected]
    if not ok:
        return f"is {type(value).__name__} {value!r}, expected {expected}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"is {value!r}; NaN and infinities are not allowed"
    return None


def _check_header(header: fits.Header, ext: Extension, required: set[str]) -> list[Deviation]:
    found: list[Deviation] = []
    for keyword in ext.keywords:
        if keyword.name not in header:
            found.append(Deviation(ext.name, keyword.name, "missing"))
            continue
        value = header[keyword.name]
        problem = _type_problem(keyword, value)
        if problem is None and (keyword.required or keyword.name in required) and value == "":
            problem = "required value is empty"
        if problem is None and value != "":
            problem = keyword.check_value(value)
        if (
            problem is None
            and keyword.unit
            and not header.comments[keyword.name].startswith(f"[{keyword.unit}]")
        ):
            problem = (
                f"unit should be [{keyword.unit}] at the start of the comment "
                f"({keyword_comment(keyword)!r}), got {header.comments[keyword.name]!r}"
            )
        if problem:
            found.append(Deviation(ext.name, keyword.name, problem))
    known = {k.name for k in ext.keywords}
    for name in header:
        if name in known or name in STRUCTURAL or name.rstrip("0123456789") in COLUMN_KEYS:
            continue
        found.append(Deviation(ext.name, name, "not in the descriptor"))
    return found


def _check_columns(hdu: fits.BinTableHDU, ext: Extension) -> list[Deviation]:
    found: list[Deviation] = []
    columns = {c.name: c for c in hdu.columns}
    for expected in ext.columns:
        column = columns.get(expected.name)
        if column is None:
            found.append(Deviation(ext.name, expected.name, "column missing"))
            continue
        if _normal_format(column.format) != _normal_format(expected.data_type):
            found.append(
                Deviation(
                    ext.name,
                    expected.name,
                    f"format {column.format}, expected {expected.data_type}",
                )
            )
        if (column.unit or "") != expected.unit:
            found.append(
                Deviation(
                    ext.name,
                    expected.name,
                    f"unit {column.unit or ''!r}, expected {expected.unit!r}",
                )
            )
        found += _check_cells(hdu.data[expected.name] if hdu.data is not None else [], expected)
    for name in columns:
        if name not in {c.name for c in ext.columns}:
            found.append(Deviation(ext.name, name, "column not in the descriptor"))
    return found


def _check_cells(values: Any, column: Keyword) -> list[Deviation]:
    array = np.asarray(values)
    if array.size == 0:
        return []
    if array.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(array))
        if bad.size:
            return [
                Deviation(
                    column.extension,
                    column.name,
                    f"NaN or inf in {bad.size} row(s), first row {bad[0] + 1}",
                )
            ]
    if column.allowed:
        for row, value in enumerate(array.tolist(), start=1):
            if (problem := column.check_value(value)) is not None:
                return [Deviation(column.extension, column.name, f"row {row}: {problem}")]
    return []


def _normal_format(tform: str) -> str:
    match = COLUMN_FORMAT.match(str(tform).strip())
    if not match:
        return str(tform)
    repeat = match["repeat"] or "1"
    return f"{repeat}{match['code']}"


def validate_product(
    hdul: fits.HDUList, descriptor: ProductDescriptor, *, template: bool = False
) -> ValidationReport:
    """Check a product file against its descriptor (the notes' concordance JSON/FITS).

    Parameters
    ----------
    hdul : astropy.io.fits.HDUList
        The product as read (or as built).
    descriptor : ProductDescriptor
    template : bool, optional
        Check an empty template: the unicity keywords (BURST_ID...) may then be empty,
        which a product may not.

    Returns
    -------
    ValidationReport
        Every deviation; ``valid`` when there is none.
    """
    found: list[Deviation] = []
    required = set() if template else set(descriptor.unicity)
    found += _check_header(hdul[0].header, descriptor.primary, required)
    card = hdul[0].header.get("CARD")
    if "CARD" in hdul[0].header and card != descriptor.card:
        found.append(
            Deviation(descriptor.primary.name, "CARD", f"is {card!r}, expected {descriptor.card!r}")
        )
    names = [hdu.name for hdu in hdul[1:]]
    for ext in descriptor.tables:
        if ext.name not in names:
            found.append(Deviation(ext.name, "EXTNAME", "extension missing"))
            continue
        hdu = hdul[ext.name]
        if not isinstance(hdu, fits.BinTableHDU):
            found.append(
                Deviation(ext.name, "XTENSION", f"is {type(hdu).__name__}, expected BINTABLE")
            )
            continue
        found += _check_header(hdu.header, ext, required)
        found += _check_columns(hdu, ext)
    for name in names:
        if name not in {e.name for e in descriptor.tables}:
            found.append(Deviation(name, "EXTNAME", "extension not in the descriptor"))
    return ValidationReport(descriptor.card, tuple(found))
