"""Calibration report JSON files (the notes' format, from TCS), fuzzed through the real
ingest: a file is ingested or rejected with a reason naming it, and a rejected one adds no
row."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.calibration.report import QUANTITY_FIELDS, QUANTITY_KEYS, REPORT_KEYS
from data_access.calibration.store import CalibrationStore
from tests.hardening._fuzz import FUZZ, mutations

_names = itertools.count()


def _good() -> dict:
    report = {
        "IM_NAME": "bias_tcs.fits",
        "TYPE": "BIAS",
        "DATE": "2025-03-05T20:00:00",
        "ORIGIN": "TCS",
        "TELESCOP": "COLIBRI",
        "INSTRUME": "DDRAGO1",
        "FILTER": "NONE",
    }
    for key in QUANTITY_KEYS:
        value = True if key == "VALID" else 1000.5
        report[key] = {"name": key, "value": value, "type": "float", "unit": "adu", "errorcode": 0}
    return report


GOOD = json.dumps(_good()).encode()
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**400), 10**400)
    | st.floats()
    | st.text(max_size=20)
)


@pytest.fixture
def calibration(stores) -> CalibrationStore:
    return stores.calibration


def _ingest_one(store: CalibrationStore, folder, content: bytes) -> None:
    path = folder / f"report_{next(_names):05d}.json"
    path.write_bytes(content)
    before = store.cache.execute("SELECT count(*) FROM calibration_report")[0][0]
    summary = store.ingest_reports([path])
    after = store.cache.execute("SELECT count(*) FROM calibration_report")[0][0]
    if summary.rejected:
        ((_, reason),) = summary.rejected
        assert path.name in reason, reason
        assert after == before
    else:
        assert summary.ingested or summary.unchanged


@FUZZ
@given(content=mutations(GOOD))
def test_a_damaged_report_is_ingested_or_rejected_with_its_name(calibration, tmp_path, content):
    _ingest_one(calibration, tmp_path, content)


@FUZZ
@given(
    key=st.sampled_from(REPORT_KEYS),
    field=st.sampled_from((None, *QUANTITY_FIELDS)),
    value=st.one_of(
        scalars,
        st.lists(scalars, max_size=2),
        st.dictionaries(st.text(max_size=4), scalars, max_size=2),
    ),
)
def test_a_report_with_one_hostile_value_is_ingested_or_rejected(
    calibration, tmp_path, key, field, value
):
    report = _good()
    if field is None or key not in QUANTITY_KEYS:
        report[key] = value
    else:
        report[key][field] = value
    _ingest_one(calibration, tmp_path, json.dumps(report).encode())


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000 + b"]" * 100_000,  # nesting deeper than the JSON parser's recursion
        GOOD.replace(b"1000.5", b"1" + b"0" * 400, 1),  # an integer too large for a float
    ],
    ids=["deep-nesting", "huge-integer"],
)
def test_reports_found_by_the_fuzzer_are_rejected_not_raised(calibration, tmp_path, content):
    """Regressions: a RecursionError or an OverflowError escaped the ingest."""
    _ingest_one(calibration, tmp_path, content)
