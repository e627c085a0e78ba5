"""Product inputs, fuzzed: the TSV descriptors (through `gic products compile`'s path) and
the photometry CSV (through `gic products build`'s reader). A bad file is refused with the
module's own error naming it, and nothing is written for it."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from astropy.time import Time
from hypothesis import given
from hypothesis import strategies as st

from analysis.products import Burst
from analysis.products.descriptor import DescriptorError
from analysis.products.photometry import Photometry, PhotometryError, photometry_csv
from analysis.products.synthetic import synthetic_photometry
from data_access.products.files import compile_descriptor_file, read_photometry_file
from tests.hardening._fuzz import FUZZ, mutations

SHIPPED = Path(__file__).resolve().parents[2] / "data_access" / "products" / "descriptors"
DT = (SHIPPED / "DT_GFT_FGFT.tsv").read_bytes()
BURST = Burst("sb26030512", Time("2026-03-05T04:10:00", scale="utc"), 150.0, 20.0, 0.05)
CSV = photometry_csv(synthetic_photometry(BURST, n_images=3)).encode()
_names = itertools.count()
cells = st.text(st.characters(codec="utf-8", exclude_characters="\t\n\r"), max_size=12)


def _compile(tmp_path: Path, content: bytes) -> None:
    folder = tmp_path / f"in{next(_names):05d}"
    folder.mkdir()
    shutil.copy(SHIPPED / "gft_primary.tsv", folder)
    tsv = folder / "DT_GFT_FGFT.tsv"
    tsv.write_bytes(content)
    output = tmp_path / f"out{next(_names):05d}"
    try:
        compiled = compile_descriptor_file(tsv, output)
    except DescriptorError as exc:
        assert str(tsv) in str(exc), exc
        assert not output.exists() or not any(output.iterdir())
        return
    assert all(path.parent == output for path in compiled.outputs)


@FUZZ
@given(content=mutations(DT))
def test_a_damaged_descriptor_compiles_or_is_refused_naming_it(tmp_path, content):
    _compile(tmp_path, content)


@FUZZ
@given(row=st.lists(cells, min_size=1, max_size=9), where=st.integers(0, 40))
def test_a_hostile_row_compiles_or_is_refused_naming_it(tmp_path, row, where):
    lines = DT.decode().splitlines()
    lines.insert(min(where, len(lines)), "\t".join(row))
    _compile(tmp_path, "\n".join(lines).encode())


@pytest.mark.parametrize("card", ["../../escaped", "/tmp/absolute", "nul\0byte", "a/b"])
def test_a_card_name_cannot_put_the_compiled_files_outside_the_output_folder(tmp_path, card):
    text = DT.decode().replace("DT_GFT_FGFT", card)
    _compile(tmp_path, text.encode())
    assert not list(tmp_path.parent.glob("escaped*")) and not Path("/tmp/absolute.json").exists()


def _read(tmp_path: Path, content: bytes) -> Photometry | None:
    path = tmp_path / f"phot{next(_names):05d}.csv"
    path.write_bytes(content)
    try:
        return read_photometry_file(path)
    except PhotometryError as exc:
        assert str(path) in str(exc), exc
        return None


@FUZZ
@given(content=mutations(CSV))
def test_a_damaged_photometry_csv_is_read_or_refused_naming_it(tmp_path, content):
    _read(tmp_path, content)


COLUMNS = CSV.decode().splitlines()[0].split(",")


@FUZZ
@given(
    column=st.sampled_from(COLUMNS),
    value=st.one_of(
        cells,
        st.sampled_from(
            [
                "nan",
                "inf",
                "-1e400",
                "1e400",
                "0",
                "-0",
                "9999-12-31T23:59:59",
                "0001-01-01T00:00:00",
                "2026-02-30T00:00:00",
                "1_0",
                " 1 ",
                "\x00",
            ]
        ),
    ),
)
def test_a_hostile_value_is_read_or_refused_naming_it(tmp_path, column, value):
    lines = CSV.decode().splitlines()
    cells_ = lines[1].split(",")
    cells_[COLUMNS.index(column)] = value.replace(",", ";").replace('"', "")
    lines[1] = ",".join(cells_)
    photometry = _read(tmp_path, "\n".join(lines).encode())
    if photometry is not None:
        assert len(photometry) == len(lines) - 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x80" + DT, "not UTF-8 text"),
        (
            DT.replace(b"card\tDT_GFT_FGFT", b"card\t\x00T_GFT_FGFT", 1),
            "FITS headers take printable ASCII",
        ),
        (DT.replace(b"card\tDT_GFT_FGFT", b"card\t../../escaped", 1), "is not a product name"),
        (DT.replace(b"\t0:40\t", b"\t0:)N\t", 1), r"allowed range '0:\)N' of MAG is not LO:HI"),
        (
            DT.replace(b"\tFILTER\tFilter\t8A\t", b"\tFILTER\tFilter\t8E\t", 1),
            r"column FILTER has format '8E'",
        ),
    ],
    ids=["not-utf8", "nul-in-card", "path-in-card", "allowed-not-a-range", "vector-number"],
)
def test_descriptors_found_by_the_fuzzer_are_refused_with_a_descriptor_error(
    tmp_path, content, message
):
    """Regressions: a UnicodeDecodeError, astropy's ValueError on a non-ASCII header value,
    write_atomic's ValueError on a card naming a path (found by Hypothesis) and float()'s
    ValueError on an allowed range that is not one and astropy's IndexError on an empty
    table with a vector column ('8E', both found by atheris) escaped
    `gic products compile`."""
    tsv = tmp_path / "DT_GFT_FGFT.tsv"
    shutil.copy(SHIPPED / "gft_primary.tsv", tmp_path)
    tsv.write_bytes(content)
    with pytest.raises(DescriptorError, match=message):
        compile_descriptor_file(tsv, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_time_utc_cannot_describe_is_a_photometry_error(tmp_path):
    """Regression: astropy's ErfaWarning ("dubious year") on 9999-12-31 was not an error."""
    lines = CSV.decode().splitlines()
    cells_ = lines[1].split(",")
    cells_[COLUMNS.index("t_end")] = "9999-12-31T23:59:59"
    lines[1] = ",".join(cells_)
    path = tmp_path / "phot.csv"
    path.write_text("\n".join(lines))
    with pytest.raises(PhotometryError, match=r"phot\.csv, row 2: column t_end value '9999"):
        read_photometry_file(path)


def test_times_with_nul_bytes_are_a_photometry_error(tmp_path):
    """Regression (found by atheris): each value read as a time alone, but astropy, reading
    the column at once (a value with NUL bytes beside one with its seconds cut), raised
    ValueError."""
    content = CSV.replace(b"04:10:40.000,", b"04:10:40." + b"\0" * 40 + b"000,", 1)
    content = content.replace(b"T04:11:30.000,", b"T04:11:3,", 1)
    path = tmp_path / "phot.csv"
    path.write_bytes(content)
    with pytest.raises(PhotometryError, match=r"phot\.csv: column t_start is not ISO UTC"):
        read_photometry_file(path)
