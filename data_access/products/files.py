"""Product files on disk: the descriptor library, the TSV compiler's outputs, FITS bytes.

The shipped descriptors are compiled from the TSV files in
``data_access/products/descriptors/`` (``gft_primary.tsv`` is the primary header all
seven share, imported by each) into ``data_access/products/descriptors/json/``; a test
checks that the JSON matches its TSV. ``gic products compile`` calls
:func:`compile_descriptor_files`.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning

from analysis.limits import DocumentLimitError, load_json, size_problem
from analysis.products.descriptor import MAX_DESCRIPTOR_CHARS, DescriptorError, ProductDescriptor
from analysis.products.layout import template_product
from analysis.products.photometry import (
    MAX_PHOTOMETRY_CHARS,
    Photometry,
    PhotometryError,
    parse_photometry_csv,
)
from analysis.products.tsv import compile_import_tsv, compile_product_tsv
from data_access.fits_frames import fits_structure_problem
from data_access.safe_files import write_atomic

SHIPPED_TSV_DIR = Path(__file__).resolve().parent / "descriptors"
SHIPPED_JSON_DIR = SHIPPED_TSV_DIR / "json"
MAX_PRODUCT_BYTES = 64 * 1024 * 1024


class ProductFileError(ValueError):
    """A product file that cannot be read; the message names the file."""


class DescriptorLibrary:
    """The product descriptors (JSON) of a folder, by card.

    Parameters
    ----------
    folder : Path, optional
        Folder of ``<CARD>.json`` descriptors; the shipped ones by default.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder or SHIPPED_JSON_DIR)
        self._descriptors: dict[str, ProductDescriptor] = {}
        for path in sorted(self.folder.glob("*.json")):
            if path.name.startswith("sdb_upload_"):
                continue
            try:
                data = load_json(path.read_bytes(), max_bytes=MAX_DESCRIPTOR_CHARS)
            except DocumentLimitError as exc:
                raise DescriptorError(f"{path}: {exc}") from exc
            except json.JSONDecodeError as exc:
                raise DescriptorError(f"{path}: not valid JSON: {exc}") from exc
            descriptor = ProductDescriptor.from_dict(data, source=str(path))
            self._descriptors[descriptor.card] = descriptor

    def __getitem__(self, card: str) -> ProductDescriptor:
        try:
            return self._descriptors[card]
        except KeyError:
            raise KeyError(f"no descriptor for card {card!r} in {self.folder}") from None

    def __contains__(self, card: object) -> bool:
        return card in self._descriptors

    def cards(self) -> list[str]:
        return sorted(self._descriptors)

    def as_dict(self) -> dict[str, ProductDescriptor]:
        return dict(self._descriptors)

    def for_file(self, hdul: fits.HDUList, path: str) -> ProductDescriptor:
        """The descriptor of a product file, found by its primary CARD keyword."""
        card = hdul[0].header.get("CARD")
        if not card:
            raise ProductFileError(f"{path}: no CARD keyword in the primary header")
        if card not in self:
            raise ProductFileError(
                f"{path}: CARD {card!r} has no descriptor ({', '.join(self.cards())})"
            )
        return self[card]


@dataclass(frozen=True)
class CompiledFile:
    """What compiling one TSV wrote (``kind``: product, import, keyword set)."""

    source: Path
    kind: str
    outputs: tuple[Path, ...]


def _kind(text: str) -> str:
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        head = line.split("\t")[0].strip().lower()
        if head == "name" and "format" in line.lower():
            return "import"
        return (
            "product"
            if head in ("card", "description", "data_level", "programs", "unicity", "[primaryhdu]")
            else "keyword set"
        )
    raise DescriptorError("empty file")


def _imports_beside(tsv: Path):
    def resolve(name: str) -> str:
        path = tsv.parent / f"{name}.tsv"
        if Path(name).name != name or not path.is_file():
            raise FileNotFoundError(name)
        return path.read_text(encoding="utf-8")

    return resolve


def compile_descriptor_file(tsv: Path, output_dir: Path) -> CompiledFile:
    """Compile one TSV: a product writes ``<CARD>.json`` and the empty template
    ``<CARD>.fits``; an import metadata TSV writes ``sdb_upload_<name>.json``; a shared
    keyword set is only checked (the products that import it carry it).

    Raises
    ------
    DescriptorError
        With the compiler's message (file, line, keyword); nothing is written then.
    """
    tsv = Path(tsv)
    if too_large := size_problem(tsv.stat().st_size, MAX_DESCRIPTOR_CHARS):
        raise DescriptorError(f"{tsv}: {too_large}")
    try:
        text = tsv.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DescriptorError(f"{tsv}: not UTF-8 text: {exc}") from None
    try:
        kind = _kind(text)
    except DescriptorError as exc:
        raise DescriptorError(f"{tsv}: {exc}") from None
    if kind == "import":
        document = compile_import_tsv(text, name=tsv.stem, source=str(tsv))
        out = write_atomic(output_dir, f"sdb_upload_{tsv.stem}.json", _json_bytes(document))
        return CompiledFile(tsv, kind, (out,))
    if kind == "keyword set":
        wrapped = (
            "card\t_\ndescription\t_\ndata_level\t_\n[PrimaryHDU]\n"
            f"[imported keywords]\t{tsv.stem}\n"
        )
        compile_product_tsv(wrapped, source=str(tsv), imports=_imports_beside(tsv))
        return CompiledFile(tsv, kind, ())
    descriptor = compile_product_tsv(text, source=str(tsv), imports=_imports_beside(tsv))
    template = fits_bytes(template_product(descriptor))
    outputs = (
        write_atomic(output_dir, f"{descriptor.card}.json", _json_bytes(descriptor.to_dict())),
        write_atomic(output_dir, f"{descriptor.card}.fits", template),
    )
    return CompiledFile(tsv, kind, outputs)


def compile_descriptor_files(tsvs: list[Path], output_dir: Path) -> list[CompiledFile]:
    """Compile every TSV (see :func:`compile_descriptor_file`); the first error stops."""
    return [compile_descriptor_file(Path(t), Path(output_dir)) for t in tsvs]


def _json_bytes(document: dict) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def fits_bytes(hdul: fits.HDUList) -> bytes:
    """The bytes of a FITS file, with CHECKSUM and DATASUM in every header."""
    buffer = io.BytesIO()
    hdul.writeto(buffer, checksum=True)
    return buffer.getvalue()


def read_fits_bytes(content: bytes, name: str) -> fits.HDUList:
    """Open FITS bytes fully in memory.

    Raises
    ------
    ProductFileError
        If the bytes are not a readable FITS file or are too large; names ``name``.
    """
    if len(content) > MAX_PRODUCT_BYTES:
        raise ProductFileError(f"{name}: {len(content)} bytes, larger than {MAX_PRODUCT_BYTES}")
    problem = fits_structure_problem(io.BytesIO(content))
    if problem:
        raise ProductFileError(f"{name}: not a readable FITS file: {problem}")
    try:
        with warnings.catch_warnings():
            # astropy's warnings on non-standard cards: verify("exception") decides below
            warnings.simplefilter("ignore", AstropyUserWarning)
            hdul = fits.open(io.BytesIO(content), memmap=False, lazy_load_hdus=False)
            hdul.verify("exception")
            for hdu in hdul:
                _ = hdu.data
    except (OSError, ValueError, TypeError, IndexError, KeyError, fits.VerifyError) as exc:
        raise ProductFileError(f"{name}: not a readable FITS file: {exc}") from exc
    return hdul


def read_product_file(path: Path) -> fits.HDUList:
    """Read a product FITS file (see :func:`read_fits_bytes`)."""
    path = Path(path)
    return read_fits_bytes(path.read_bytes(), str(path))


def read_photometry_file(path: Path) -> Photometry:
    """Read a photometry CSV (see :mod:`analysis.products.photometry`).

    Raises
    ------
    PhotometryError
        Naming the file, the row and the column.
    """
    path = Path(path)
    if too_large := size_problem(path.stat().st_size, MAX_PHOTOMETRY_CHARS):
        raise PhotometryError(f"{path}: {too_large}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PhotometryError(f"{path}: not UTF-8 text: {exc}") from exc
    return parse_photometry_csv(text, source=str(path))
