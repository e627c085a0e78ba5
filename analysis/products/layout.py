"""Product files laid out by their descriptor: the FITS template and the filled product.

:func:`make_product` is the one place a product's HDUs are made, so that every
builder writes what the descriptor says, in its order, with its formats and units:
header keywords carry their unit in the comment (``[deg] Right ascension``), table
columns their TFORM and TUNIT. :func:`template_product` is the empty file the TSV
compiler writes beside the JSON descriptor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from astropy.io import fits

from analysis.products.descriptor import (
    COLUMN_FORMAT,
    Extension,
    Keyword,
    ProductDescriptor,
    column_width,
)

Columns = Mapping[str, Any]


def keyword_comment(keyword: Keyword) -> str:
    """The header comment of a keyword: ``[unit] description`` (the unit only when set)."""
    text = f"[{keyword.unit}] {keyword.description}" if keyword.unit else keyword.description
    return text[:72]


def _header_value(keyword: Keyword, value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if (
        keyword.data_type == "float"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        if not np.isfinite(value):
            raise ValueError(f"{keyword.extension}: keyword {keyword.name} is {value!r}; no NaN")
        return float(value)
    return value


def _fill_header(header: fits.Header, ext: Extension, values: Mapping[str, Any]) -> None:
    for keyword in ext.keywords:
        value = values.get(keyword.name, keyword.default)
        header[keyword.name] = (_header_value(keyword, value), keyword_comment(keyword))


def _column(keyword: Keyword, values: Any, n_rows: int) -> fits.Column:
    code = COLUMN_FORMAT.match(keyword.data_type)["code"]
    if values is None:
        values = [keyword.default if keyword.default != "" else _blank(code)] * n_rows
    if code == "A":
        array = np.asarray([str(v) for v in values], dtype=f"U{column_width(keyword.data_type)}")
        too_long = [str(v) for v in values if len(str(v)) > column_width(keyword.data_type)]
        if too_long:
            raise ValueError(
                f"{keyword.extension}: column {keyword.name} ({keyword.data_type}) cannot hold "
                f"{too_long[0]!r}"
            )
    else:
        array = np.asarray(values, dtype=_dtype(code))
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise ValueError(f"{keyword.extension}: column {keyword.name} holds NaN or inf")
    return fits.Column(
        name=keyword.name, format=keyword.data_type, unit=keyword.unit or None, array=array
    )


def _blank(code: str) -> Any:
    return "" if code == "A" else (False if code == "L" else 0)


def _dtype(code: str) -> str:
    return {
        "L": "bool",
        "B": "uint8",
        "I": "int16",
        "J": "int32",
        "K": "int64",
        "E": "float32",
        "D": "float64",
    }[code]


def make_product(
    descriptor: ProductDescriptor,
    header_values: Mapping[str, Any],
    tables: Mapping[str, Columns] | None = None,
) -> fits.HDUList:
    """The product's FITS file, laid out by its descriptor.

    Parameters
    ----------
    descriptor : ProductDescriptor
    header_values : mapping
        Values of header keywords by name (any extension); a keyword not given keeps the
        descriptor's default.
    tables : mapping, optional
        For each table extension, its columns by name (sequences of equal length); a column
        not given is filled with its default. Missing tables have no rows.

    Returns
    -------
    astropy.io.fits.HDUList

    Raises
    ------
    ValueError
        If a column is unknown, columns differ in length, a value does not fit its format, or
        a float is NaN; the message names the extension and the column.
    """
    tables = tables or {}
    primary = fits.PrimaryHDU()
    _fill_header(primary.header, descriptor.primary, header_values)
    hdus: list[fits.hdu.base.ExtensionHDU | fits.PrimaryHDU] = [primary]
    for ext in descriptor.tables:
        given = dict(tables.get(ext.name, {}))
        unknown = set(given) - {c.name for c in ext.columns}
        if unknown:
            raise ValueError(f"{descriptor.card}: {ext.name} has no column {sorted(unknown)[0]}")
        lengths = {name: len(values) for name, values in given.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"{descriptor.card}: {ext.name} columns differ in length: {lengths}")
        n_rows = next(iter(lengths.values()), 0)
        columns = [_column(c, given.get(c.name), n_rows) for c in ext.columns]
        table = fits.BinTableHDU.from_columns(columns, name=ext.name)
        _fill_header(table.header, ext, header_values)
        hdus.append(table)
    return fits.HDUList(hdus)


def template_product(descriptor: ProductDescriptor) -> fits.HDUList:
    """The empty template of a product: every keyword at its default, tables without rows."""
    card = (
        {"CARD": descriptor.card}
        if any(k.name == "CARD" for k in descriptor.primary.keywords)
        else {}
    )
    return make_product(descriptor, card)
