"""Product descriptors: the TSV compiler (each error of the notes), templates, validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from analysis.products import (
    DescriptorError,
    ProductDescriptor,
    compile_import_tsv,
    compile_product_tsv,
    make_product,
    template_product,
    validate_product,
)
from analysis.products.builders import PRODUCT_CARDS
from analysis.products.descriptor import COMMON_PRIMARY_KEYWORDS, check_allowed

DESCRIPTORS = Path(__file__).resolve().parents[2] / "data_access" / "products" / "descriptors"
SHARED = {"gft_primary": (DESCRIPTORS / "gft_primary.tsv").read_text()}


def tsv(*lines: str) -> str:
    return "\n".join(lines) + "\n"


HEAD = (
    "card\tXX_GFT_FGFT",
    "description\ta test product",
    "data_level\tL2",
    "programs\tGRB",
    "unicity\tBURST_ID",
)
SMALL = tsv(
    *HEAD,
    "[PrimaryHDU]",
    "BURST_ID\tBurst\tstring\t\t\t\tY\tY",
    "CARD\tCard\tstring\t\tXX_GFT_FGFT\t\tN\tN",
    "[XX_GFT_FGFT]",
    "[col#1]\tMAG\tMagnitude\tE\tmag\t0\t0:40\tN\tY",
    "[col#2]\tDETECTED\tDetected\tI\t\t0\t0|1\tY\tY",
)


@pytest.mark.parametrize("card", sorted(PRODUCT_CARDS.values()))
def test_every_shipped_descriptor_compiles_to_its_json_and_its_template_validates(card):
    text = (DESCRIPTORS / f"{card}.tsv").read_text()
    descriptor = compile_product_tsv(text, source=f"{card}.tsv", imports=SHARED)
    shipped = json.loads((DESCRIPTORS / "json" / f"{card}.json").read_text())
    assert descriptor.to_dict() == shipped, "run gic products compile to refresh the shipped JSON"
    assert ProductDescriptor.from_dict(shipped) == descriptor
    names = [k.name for k in descriptor.primary.keywords]
    assert set(COMMON_PRIMARY_KEYWORDS) <= set(names)
    assert descriptor.keyword("INSTRUME").default == "FGFT"
    assert descriptor.keyword("DSTREAM").default == "GFT"
    assert descriptor.keyword("MJDREFI").default == 57754
    report = validate_product(template_product(descriptor), descriptor, template=True)
    assert report.valid, report.deviations


def test_the_seven_products_share_one_primary_header_imported_once():
    primaries = {
        card: compile_product_tsv(
            (DESCRIPTORS / f"{card}.tsv").read_text(), imports=SHARED
        ).primary.keywords
        for card in PRODUCT_CARDS.values()
    }
    first = next(iter(primaries.values()))
    assert all(keywords == first for keywords in primaries.values())
    assert {k.imported_from for k in first} == {"gft_primary"}


def test_a_small_product_compiles_with_flags_ranges_and_columns():
    descriptor = compile_product_tsv(SMALL, source="xx.tsv")
    assert descriptor.unicity == ("BURST_ID",)
    mag = descriptor.keyword("MAG")
    assert (mag.column, mag.data_type, mag.unit, mag.allowed, mag.ba_search) == (
        1,
        "E",
        "mag",
        "0:40",
        True,
    )
    assert descriptor.keyword("BURST_ID").db_search is True


def test_a_keyword_present_twice_is_refused_with_the_notes_message():
    text = tsv(
        *HEAD,
        "[PrimaryHDU]",
        "[imported keywords]\tgft_primary",
        "CARD\tagain\tstring\t\t\t\tN\tN",
        "[XX]",
        "[col#1]\tA\ta\tJ\t\t\t\tN\tN",
    )
    with pytest.raises(
        DescriptorError, match=r"xx.tsv, line 8: key CARD already exist in PrimaryHDU"
    ):
        compile_product_tsv(text, source="xx.tsv", imports=SHARED)


def test_a_keyword_longer_than_8_characters_is_not_header():
    text = SMALL.replace("BURST_ID\tBurst", "TRIGGERMJD\tBurst")
    with pytest.raises(DescriptorError, match=r"line 7: TRIGGERMJD Is not header"):
        compile_product_tsv(text, source="xx.tsv")


def test_a_table_extension_without_columns_is_refused():
    text = tsv(
        *HEAD,
        "[PrimaryHDU]",
        "BURST_ID\tBurst\tstring\t\t\t\tY\tY",
        "[DT_GFT_FGFT]",
        "EXTVER\tversion\tint\t\t1\t\tN\tN",
    )
    with pytest.raises(DescriptorError, match=r"line 8: no column found for DT_GFT_FGFT extension"):
        compile_product_tsv(text, source="xx.tsv")


@pytest.mark.parametrize(
    ("row", "why"),
    [
        ("[col#3]\tX\tx", "3 to 8 tab-separated fields|invalid row found"),
        ("[col#3]\tX\tx\tQ\t\t\t\tN\tN", "format 'Q'"),
        ("[col#4]\tX\tx\tJ\t\t\t\tN\tN", r"\[col#4\] where \[col#3\] was expected"),
        ("[col#3]\tX\tx\tJ\t\t\t\tmaybe\tN", "flag 'maybe'"),
        ("[col#3]\tX\tx\tJ\t\tfive\t\tN\tN", "default 'five' is not a int"),
        ("[col#3]\tX\tx\tJ\t\t7\t0|1\tN\tN", "default of X: value 7 is not one of 0|1"),
        ("[col#3]\tX\tx\tJ\t\t\t\tN\tN\textra", "got 9"),
    ],
)
def test_an_invalid_row_is_refused_with_its_line(row, why):
    with pytest.raises(DescriptorError, match=rf"xx.tsv, line 12: invalid row found: .*({why})"):
        compile_product_tsv(SMALL + row + "\n", source="xx.tsv")


def test_a_missing_imported_set_and_a_missing_card_line_are_refused():
    with pytest.raises(DescriptorError, match="imported keyword set 'nowhere' not found"):
        compile_product_tsv(tsv(*HEAD, "[PrimaryHDU]", "[imported keywords]\tnowhere"), imports={})
    with pytest.raises(DescriptorError, match="missing 'card' line"):
        compile_product_tsv(SMALL.replace("card\tXX_GFT_FGFT\n", ""))


def test_the_import_metadata_tsv_compiles_to_the_sdb_upload_document():
    text = (DESCRIPTORS / "imports" / "L1keysGFTMETA.tsv").read_text()
    document = compile_import_tsv(text, name="L1keysGFTMETA")
    assert document["name"] == "L1keysGFTMETA"
    assert document["keywords"][0] == {
        "name": "INSTRUME",
        "description": "Instrument",
        "format": "8A",
        "unit": "",
        "default": "FGFT",
        "expected": "FGFT",
        "remark": "French GFT",
        "sdb": True,
    }
    shipped = json.loads((DESCRIPTORS / "json" / "sdb_upload_L1keysGFTMETA.json").read_text())
    assert shipped == document
    with pytest.raises(DescriptorError, match="line 2: key A already exist"):
        compile_import_tsv("A\ta\t8A\t\t\t\t\tY\nA\ta\t8A\t\t\t\t\tY\n", name="x")


def test_validation_lists_every_deviation():
    descriptor = compile_product_tsv(SMALL, source="xx.tsv")
    good = make_product(
        descriptor, {"BURST_ID": "sb1"}, {"XX_GFT_FGFT": {"MAG": [18.0], "DETECTED": [1]}}
    )
    assert validate_product(good, descriptor).valid
    bad = make_product(
        descriptor, {"BURST_ID": ""}, {"XX_GFT_FGFT": {"MAG": [18.0], "DETECTED": [2]}}
    )
    bad[0].header["CARD"] = "OTHER"
    bad[0].header["EXTRA"] = 1
    bad[1].data["MAG"][0] = np.nan
    bad[1].columns["MAG"].unit = "adu"
    problems = {str(d) for d in validate_product(bad, descriptor).deviations}
    assert "PrimaryHDU: BURST_ID: required value is empty" in problems
    assert "PrimaryHDU: CARD: is 'OTHER', expected 'XX_GFT_FGFT'" in problems
    assert "PrimaryHDU: EXTRA: not in the descriptor" in problems
    assert any(p.startswith("XX_GFT_FGFT: MAG: NaN or inf in 1 row") for p in problems)
    assert "XX_GFT_FGFT: DETECTED: row 1: value 2 is not one of 0|1" in problems
    missing = fits.HDUList([fits.PrimaryHDU()])
    problems = {str(d) for d in validate_product(missing, descriptor).deviations}
    assert {"PrimaryHDU: BURST_ID: missing", "XX_GFT_FGFT: EXTNAME: extension missing"} <= problems


def test_a_nan_never_reaches_a_product():
    descriptor = compile_product_tsv(SMALL)
    with pytest.raises(ValueError, match="MAG holds NaN"):
        make_product(descriptor, {}, {"XX_GFT_FGFT": {"MAG": [np.nan], "DETECTED": [0]}})


def test_allowed_ranges():
    assert check_allowed(5, "0:", "int") is None
    assert check_allowed(np.int16(1), "0|1", "I") is None
    assert check_allowed(41.0, "0:40", "float") == "value 41.0 is above 40"
