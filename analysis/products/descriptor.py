"""Product descriptors: what a GFT product file holds, keyword by keyword.

A descriptor is modelled on the SVOM science center's product cards: the card name
(``DT_GFT_FGFT``), a description, the data level, the programs, the unicity rule
(the keywords that identify one product, e.g. ``[BURST_ID, MY_VERS]``) and, for each
extension, its header keywords and table columns. Each keyword carries its name,
description, extension, data type, unit, default, allowed range and whether the
science database (``db``) and the burst advocate (``ba``) search on it.

Descriptors are written as JSON (:meth:`ProductDescriptor.to_dict`) and read back with
:meth:`ProductDescriptor.from_dict`; they are compiled from TSV files by
:func:`analysis.products.tsv.compile_product_tsv`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

PRIMARY = "PrimaryHDU"
SCHEMA = "gic-product-descriptor/1"

KEYWORD_TYPES = ("string", "int", "float", "bool")
#: Largest descriptor read (TSV or JSON), in characters (a descriptor is about 15 kB).
MAX_DESCRIPTOR_CHARS = 1024 * 1024
"""Data types of header keywords."""

COLUMN_FORMAT = re.compile(r"^(?P<repeat>\d*)(?P<code>[LBIJKED]|A)$")
"""TFORM of a table column: ``J``, ``D``, ``E``, ``I``, ``K``, ``L`` or ``NA`` (e.g. ``50A``)."""

COMMON_PRIMARY_KEYWORDS = (
    "ORIGIN",
    "TELESCOP",
    "INSTRUME",
    "CREATOR",
    "CARD",
    "PROGRAM",
    "DSTREAM",
    "PRDM_VER",
    "PROC_VER",
    "PIP_VER",
    "MY_VERS",
    "TIMESYS",
    "MJDREFI",
    "MJDREFF",
)
"""Primary keywords every GFT product carries (the SVOM product cards' common header)."""


class DescriptorError(ValueError):
    """A descriptor (or its TSV) that cannot be used; the message names the file, the line
    and the keyword."""


@dataclass(frozen=True)
class Keyword:
    """One header keyword or table column of a product.

    Attributes
    ----------
    name : str
        FITS keyword (at most 8 characters) or column name (TTYPE).
    description : str
    extension : str
        ``PrimaryHDU`` or the extension name (EXTNAME).
    data_type : str
        ``string``, ``int``, ``float`` or ``bool`` for a keyword; the TFORM for a column
        (``50A``, ``J``, ``D``...).
    unit : str
        Unit (FITS/VOUnit spelling), '' when dimensionless.
    default : str | int | float | bool
        The value a template carries; '' for none.
    allowed : str
        Allowed values: ``LO:HI`` (either side may be empty) or ``A|B|C``; '' for any.
    db_search, ba_search : bool
        Whether the science database and the burst advocate search on it.
    column : int
        1-based column number in its table (``[col#N]``); 0 for a header keyword.
    imported_from : str
        The shared keyword set it comes from (``[imported keywords]``), '' when local.
    """

    name: str
    description: str
    extension: str
    data_type: str
    unit: str = ""
    default: Any = ""
    allowed: str = ""
    db_search: bool = False
    ba_search: bool = False
    column: int = 0
    imported_from: str = ""

    @property
    def is_column(self) -> bool:
        return self.column > 0

    @property
    def required(self) -> bool:
        """A keyword with a default must carry a value (not '')."""
        return self.default != ""

    def check_value(self, value: Any) -> str | None:
        """Why ``value`` is not allowed for this keyword, or None when it is."""
        return check_allowed(value, self.allowed, self.data_type)


@dataclass(frozen=True)
class Extension:
    """One HDU of a product: the primary header or a binary table."""

    name: str
    keywords: tuple[Keyword, ...] = ()
    columns: tuple[Keyword, ...] = ()

    @property
    def is_primary(self) -> bool:
        return self.name == PRIMARY


@dataclass(frozen=True)
class ProductDescriptor:
    """The description of one product (one SVOM product card)."""

    card: str
    description: str
    data_level: str
    programs: tuple[str, ...]
    unicity: tuple[str, ...]
    extensions: tuple[Extension, ...] = field(default=())

    @property
    def primary(self) -> Extension:
        return self.extensions[0]

    @property
    def tables(self) -> tuple[Extension, ...]:
        return self.extensions[1:]

    def extension(self, name: str) -> Extension:
        """The extension called ``name``; KeyError naming the card when absent."""
        for ext in self.extensions:
            if ext.name == name:
                return ext
        raise KeyError(f"{self.card}: no extension {name!r}")

    def keyword(self, name: str) -> Keyword:
        """A header keyword (any extension) or column called ``name``."""
        for ext in self.extensions:
            for kw in (*ext.keywords, *ext.columns):
                if kw.name == name:
                    return kw
        raise KeyError(f"{self.card}: no keyword or column {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``$schema``, card, ..., extensions with keywords and columns)."""
        return {
            "$schema": SCHEMA,
            "card": self.card,
            "description": self.description,
            "data_level": self.data_level,
            "programs": list(self.programs),
            "unicity": list(self.unicity),
            "extensions": [
                {
                    "name": ext.name,
                    "type": "primary" if ext.is_primary else "bintable",
                    "keywords": [_keyword_dict(k) for k in ext.keywords],
                    "columns": [_keyword_dict(k) for k in ext.columns],
                }
                for ext in self.extensions
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "<descriptor>") -> ProductDescriptor:
        """Read the JSON form back.

        Raises
        ------
        DescriptorError
            If a field is missing or of the wrong kind; the message names ``source``.
        """
        try:
            extensions = tuple(
                Extension(
                    name=ext["name"],
                    keywords=tuple(Keyword(**_keyword_args(k)) for k in ext["keywords"]),
                    columns=tuple(Keyword(**_keyword_args(k)) for k in ext["columns"]),
                )
                for ext in data["extensions"]
            )
            descriptor = cls(
                card=data["card"],
                description=data["description"],
                data_level=data["data_level"],
                programs=tuple(data["programs"]),
                unicity=tuple(data["unicity"]),
                extensions=extensions,
            )
        except (KeyError, TypeError) as exc:
            raise DescriptorError(
                f"{source}: not a product descriptor: missing or bad {exc}"
            ) from exc
        if not extensions or not extensions[0].is_primary:
            raise DescriptorError(f"{source}: the first extension must be {PRIMARY}")
        return descriptor


def _keyword_dict(keyword: Keyword) -> dict[str, Any]:
    data = asdict(keyword)
    if not keyword.is_column:
        data.pop("column")
    return data


def _keyword_args(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "column": data.get("column", 0)}


def column_width(data_type: str) -> int:
    """The character width of a string column (``50A`` → 50); 0 for other formats."""
    match = COLUMN_FORMAT.match(data_type)
    if match and match["code"] == "A":
        return int(match["repeat"] or 1)
    return 0


def _as_number(value: Any, data_type: str) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def check_allowed(value: Any, allowed: str, data_type: str) -> str | None:
    """Why ``value`` falls outside ``allowed`` (``LO:HI`` or ``A|B``), or None if inside.

    Examples
    --------
    >>> check_allowed(1, "0|1", "int") is None
    True
    >>> check_allowed(-1.0, "0:", "float")
    'value -1.0 is below 0'
    """
    if not allowed:
        return None
    if hasattr(value, "item"):  # numpy scalars from a FITS table
        value = value.item()
    if ":" in allowed and "|" not in allowed:
        number = _as_number(value, data_type)
        if number is None:
            return f"value {value!r} is not a number (allowed {allowed})"
        low, _, high = allowed.partition(":")
        if low and number < float(low):
            return f"value {value!r} is below {low}"
        if high and number > float(high):
            return f"value {value!r} is above {high}"
        return None
    choices = allowed.split("|")
    shown = str(int(value)) if isinstance(value, bool | int) else str(value).strip()
    if shown not in choices:
        return f"value {value!r} is not one of {'|'.join(choices)}"
    return None
