"""The TSV compiler of product descriptors and of import metadata (the notes' "moulinette").

A product TSV (tab-separated, ``#`` starts a comment line)::

    card         DT_GFT_FGFT
    description  Detection time of the counterpart, one row per filter
    data_level   L2
    programs     GRB
    unicity      BURST_ID,MY_VERS
    [PrimaryHDU]
    [imported keywords]   gft_primary
    NAME  description  type  unit  default  allowed  db  ba
    [DT_GFT_FGFT]
    EXTNAME  ...
    [col#1]  FILTER  description  8A  unit  default  allowed  db  ba

A keyword row has up to eight fields: name, description, data type (``string``, ``int``,
``float``, ``bool``; a column takes its TFORM, e.g. ``50A``, ``J``, ``D``), unit, default,
allowed values (``LO:HI`` or ``A|B``), and Y/N for the science database's and the burst
advocate's searches. ``[imported keywords] NAME`` pulls in a shared keyword set (a TSV of
keyword rows only), so that a set used by several products is defined once. The
compiler refuses, with the notes' messages: a keyword present twice ("key CARD already
exist in PrimaryHDU"), a keyword longer than 8 characters ("Is not header"), a table
extension without columns ("no column found for X extension") and an invalid row.

An import metadata TSV (the notes' ``L1keysGFTMETA``) has eight columns: name,
description, format, unit, default value, expected value, remark, SdB;
:func:`compile_import_tsv` turns it into the ``sdb_upload_<name>.json`` document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis.limits import size_problem
from analysis.products.descriptor import (
    COLUMN_FORMAT,
    KEYWORD_TYPES,
    MAX_DESCRIPTOR_CHARS,
    PRIMARY,
    DescriptorError,
    Extension,
    Keyword,
    ProductDescriptor,
    check_allowed,
)

META_FIELDS = ("card", "description", "data_level", "programs", "unicity")
FLAGS = {
    "y": True,
    "yes": True,
    "1": True,
    "true": True,
    "n": False,
    "no": False,
    "0": False,
    "false": False,
    "": False,
}
HEADER_KEY = re.compile(r"^[A-Z0-9_-]{1,8}$")
COLUMN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,67}$")
COLUMN_MARK = re.compile(r"^\[col#(\d+)\]$")
IMPORT_MARK = "[imported keywords]"
#: A product card's name (DT_GFT_FGFT): it becomes part of file names, so no path in it.
CARD_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,67}$")
#: A character a FITS header cannot hold (anything but printable ASCII).
FITS_TEXT = re.compile(r"[^\x20-\x7e]")
IMPORT_FIELDS = ("name", "description", "format", "unit", "default", "expected", "remark", "sdb")

ImportResolver = Callable[[str], str] | Mapping[str, str]


@dataclass
class _Section:
    name: str
    line: int
    keywords: list[Keyword] = field(default_factory=list)
    columns: list[Keyword] = field(default_factory=list)

    def names(self) -> set[str]:
        return {k.name for k in self.keywords}


def _rows(text: str, source: str) -> list[tuple[int, list[str]]]:
    """Non-blank, non-comment lines as ``(line number, fields)``; a text larger than
    :data:`~analysis.products.descriptor.MAX_DESCRIPTOR_CHARS` is refused."""
    if too_large := size_problem(len(text), MAX_DESCRIPTOR_CHARS):
        raise DescriptorError(f"{source}: {too_large}")
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        rows.append((number, [cell.strip() for cell in line.rstrip("\r\n").split("\t")]))
    return rows


def _check_fits_text(fields: list[str], where: str) -> None:
    """Refuse a row of a product TSV holding a character a FITS header cannot (its values,
    units and descriptions all end up in headers: printable ASCII only)."""
    for cell in fields:
        bad = FITS_TEXT.search(cell)
        if bad:
            raise DescriptorError(
                f"{where}: invalid row found: {cell!r} holds {bad.group()!r}; FITS headers "
                "take printable ASCII only"
            )


def _convert_default(raw: str, data_type: str, where: str) -> Any:
    if raw == "":
        return ""
    kind = data_type
    match = COLUMN_FORMAT.match(data_type)
    if match:
        kind = {"A": "string", "L": "bool", "E": "float", "D": "float"}.get(match["code"], "int")
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            return {"T": True, "F": False, "true": True, "false": False}[raw]
    except (ValueError, KeyError):
        raise DescriptorError(
            f"{where}: invalid row found: default {raw!r} is not a {kind}"
        ) from None
    return raw


def _parse_keyword(
    fields: list[str], where: str, extension: str, *, column: int = 0, imported_from: str = ""
) -> Keyword:
    """One keyword row (``fields`` without the ``[col#N]`` mark) as a :class:`Keyword`."""
    if len(fields) > 8 or len(fields) < 3 or not fields[0] or not fields[2]:
        raise DescriptorError(
            f"{where}: invalid row found: expected name, description, data type, unit, default, "
            f"allowed, db, ba (3 to 8 tab-separated fields), got {len(fields)}: {fields!r}"
        )
    name, description, data_type, *rest = fields + [""] * (8 - len(fields))
    unit, default, allowed, db, ba = rest
    if column:
        if not COLUMN_NAME.match(name):
            raise DescriptorError(f"{where}: invalid row found: column name {name!r}")
        tform = COLUMN_FORMAT.match(data_type)
        if not tform or (tform["code"] != "A" and tform["repeat"] not in ("", "1")):
            raise DescriptorError(
                f"{where}: invalid row found: column {name} has format {data_type!r}, expected a "
                "TFORM such as 50A, I, J, K, E, D or L (a number holds one value per row)"
            )
    else:
        if not HEADER_KEY.match(name):
            raise DescriptorError(
                f"{where}: {name} Is not header: a header keyword has 1 to 8 characters "
                "among A-Z, 0-9, '-' and '_'"
            )
        if data_type not in KEYWORD_TYPES:
            raise DescriptorError(
                f"{where}: invalid row found: keyword {name} has data type {data_type!r}, "
                f"expected one of {', '.join(KEYWORD_TYPES)}"
            )
    for flag in (db, ba):
        if flag.lower() not in FLAGS:
            raise DescriptorError(
                f"{where}: invalid row found: flag {flag!r} of {name} is not Y or N"
            )
    if ":" in allowed and "|" not in allowed:
        try:
            [float(bound) for bound in allowed.split(":", 1) if bound]
        except ValueError:
            raise DescriptorError(
                f"{where}: invalid row found: allowed range {allowed!r} of {name} is not LO:HI "
                "(numbers, either may be left out)"
            ) from None
    value = _convert_default(default, data_type, where)
    if value != "" and (problem := check_allowed(value, allowed, data_type)):
        raise DescriptorError(f"{where}: invalid row found: default of {name}: {problem}")
    return Keyword(
        name=name,
        description=description,
        extension=extension,
        data_type=data_type,
        unit=unit,
        default=value,
        allowed=allowed,
        db_search=FLAGS[db.lower()],
        ba_search=FLAGS[ba.lower()],
        column=column,
        imported_from=imported_from,
    )


def _resolve(imports: ImportResolver | None, name: str, where: str) -> str:
    try:
        if imports is None:
            raise KeyError(name)
        return imports(name) if callable(imports) else imports[name]
    except (KeyError, FileNotFoundError):
        raise DescriptorError(f"{where}: imported keyword set {name!r} not found") from None


def _add_keyword(section: _Section, keyword: Keyword, where: str) -> None:
    if keyword.name in section.names():
        raise DescriptorError(f"{where}: key {keyword.name} already exist in {section.name}")
    section.keywords.append(keyword)


def _import_set(section: _Section, name: str, imports: ImportResolver | None, where: str) -> None:
    text = _resolve(imports, name, where)
    for number, fields in _rows(text, f"{where} ([imported keywords] {name})"):
        inner = f"{where} ([imported keywords] {name}, line {number})"
        _add_keyword(
            section, _parse_keyword(fields, inner, section.name, imported_from=name), inner
        )


def _add_column(section: _Section, number: int, fields: list[str], where: str) -> None:
    if section.name == PRIMARY:
        raise DescriptorError(f"{where}: invalid row found: {PRIMARY} holds no table column")
    if number != len(section.columns) + 1:
        raise DescriptorError(
            f"{where}: invalid row found: [col#{number}] where [col#{len(section.columns) + 1}] "
            f"was expected in {section.name}"
        )
    column = _parse_keyword(fields, where, section.name, column=number)
    if column.name in {c.name for c in section.columns}:
        raise DescriptorError(f"{where}: column {column.name} already exist in {section.name}")
    section.columns.append(column)


def _meta_value(meta: dict[str, str], key: str, source: str) -> str:
    if not meta.get(key):
        raise DescriptorError(f"{source}: missing '{key}' line before the first [extension]")
    return meta[key]


def compile_product_tsv(
    text: str, *, source: str = "<tsv>", imports: ImportResolver | None = None
) -> ProductDescriptor:
    """Compile a product TSV into its descriptor.

    Parameters
    ----------
    text : str
        The TSV (see the module docstring for its layout).
    source : str, optional
        The file name, quoted in every error.
    imports : mapping or callable, optional
        Shared keyword sets by name (``[imported keywords] NAME``): a mapping, or a function
        returning the set's TSV text (raising KeyError or FileNotFoundError when unknown).

    Returns
    -------
    ProductDescriptor

    Raises
    ------
    DescriptorError
        With the notes' messages, prefixed by ``source`` and the line number.
    """
    meta: dict[str, str] = {}
    sections: list[_Section] = []
    for number, fields in _rows(text, source):
        where = f"{source}, line {number}"
        _check_fits_text(fields, where)
        head = fields[0]
        if not sections and head in META_FIELDS:
            meta[head] = fields[1] if len(fields) > 1 else ""
        elif head.startswith("[") and head.endswith("]") and head.lower() == IMPORT_MARK:
            if not sections or len(fields) < 2 or not fields[1]:
                raise DescriptorError(
                    f"{where}: invalid row found: [imported keywords] needs an "
                    "extension above it and a set name"
                )
            _import_set(sections[-1], fields[1], imports, where)
        elif (mark := COLUMN_MARK.match(head)) and sections:
            _add_column(sections[-1], int(mark[1]), fields[1:], where)
        elif head.startswith("[") and head.endswith("]") and not any(fields[1:]):
            name = head[1:-1].strip()
            if not sections and name != PRIMARY:
                raise DescriptorError(
                    f"{where}: invalid row found: the first extension must be "
                    f"[{PRIMARY}], got [{name}]"
                )
            if name in {s.name for s in sections}:
                raise DescriptorError(f"{where}: invalid row found: extension {name} given twice")
            sections.append(_Section(name, number))
        elif sections:
            _add_keyword(sections[-1], _parse_keyword(fields, where, sections[-1].name), where)
        else:
            raise DescriptorError(f"{where}: invalid row found: {head!r} before [{PRIMARY}]")
    return _assemble(meta, sections, source)


def _assemble(meta: dict[str, str], sections: list[_Section], source: str) -> ProductDescriptor:
    card = _meta_value(meta, "card", source)
    if not CARD_NAME.match(card):
        raise DescriptorError(
            f"{source}: card {card!r} is not a product name (letters, digits, '_', '-'; "
            "it names the product's files)"
        )
    if not sections:
        raise DescriptorError(f"{source}: no [{PRIMARY}] section")
    for section in sections[1:]:
        if not section.columns:
            raise DescriptorError(
                f"{source}, line {section.line}: no column found for {section.name} extension"
            )
    descriptor = ProductDescriptor(
        card=card,
        description=_meta_value(meta, "description", source),
        data_level=_meta_value(meta, "data_level", source),
        programs=tuple(p.strip() for p in meta.get("programs", "").split(",") if p.strip()),
        unicity=tuple(u.strip() for u in meta.get("unicity", "").split(",") if u.strip()),
        extensions=tuple(Extension(s.name, tuple(s.keywords), tuple(s.columns)) for s in sections),
    )
    for key in descriptor.unicity:
        try:
            descriptor.keyword(key)
        except KeyError:
            raise DescriptorError(f"{source}: unicity keyword {key} is not described") from None
    return descriptor


def compile_import_tsv(text: str, *, name: str, source: str = "<tsv>") -> dict[str, Any]:
    """Compile an import metadata TSV into the ``sdb_upload_<name>.json`` document.

    Parameters
    ----------
    text : str
        Eight tab-separated columns: name, description, format, unit, default value,
        expected value, remark, SdB (Y/N); a first row of those titles is skipped.
    name : str
        The import's name (``L1keysGFTMETA``): the JSON is ``sdb_upload_<name>.json``.
    source : str, optional
        The file name, quoted in every error.

    Returns
    -------
    dict
        ``{"name", "schema": "sdb_upload", "keywords": [{name, description, format, unit,
        default, expected, remark, sdb}]}``.

    Raises
    ------
    DescriptorError
        A row without eight fields, a name given twice, an SdB flag other than Y/N.
    """
    keywords: list[dict[str, Any]] = []
    for number, fields in _rows(text, source):
        where = f"{source}, line {number}"
        if fields[0].lower() == "name" and not keywords:
            continue  # the title row
        if len(fields) < 8:
            fields = fields + [""] * (8 - len(fields)) if len(fields) >= 3 else fields
        if len(fields) != 8 or not fields[0]:
            raise DescriptorError(
                f"{where}: invalid row found: expected 8 tab-separated fields "
                f"({', '.join(IMPORT_FIELDS)}), got {len(fields)}"
            )
        row = dict(zip(IMPORT_FIELDS, fields, strict=True))
        if row["sdb"].lower() not in FLAGS:
            raise DescriptorError(
                f"{where}: invalid row found: SdB flag {row['sdb']!r} is not Y or N"
            )
        if any(k["name"] == row["name"] for k in keywords):
            raise DescriptorError(f"{where}: key {row['name']} already exist in {name}")
        keywords.append({**row, "sdb": FLAGS[row["sdb"].lower()]})
    if not keywords:
        raise DescriptorError(f"{source}: no keyword found")
    return {"name": name, "schema": "sdb_upload", "keywords": keywords}
