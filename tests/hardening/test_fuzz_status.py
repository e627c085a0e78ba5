"""Status JSON files, fuzzed through the real ingest: a file is ingested whole or rejected
with a reason naming it, and a rejected file leaves no reading, no sensor and no document."""

from __future__ import annotations

import itertools
import json

from hypothesis import given
from hypothesis import strategies as st

from analysis.telemetry import STATUS_FIELDS
from data_access.telemetry.store import documents_in
from tests.hardening._fuzz import FUZZ, mutations

_names = itertools.count()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _record(name: str, value: str, date: str = "2024-03-01T00:00:00") -> dict:
    record = {field: "" for field in STATUS_FIELDS}
    record.update(
        name=name, value=value, raw_value=value, date=date, type="float", unit="C", error_code=0
    )
    return record


GOOD = json.dumps([_record("dome-temperature", "+12.5"), _record("humidity", "40")]).encode()
records = st.fixed_dictionaries({}, optional={field: json_values for field in STATUS_FIELDS})


def _counts(stores) -> tuple[int, int, int]:
    return tuple(
        stores.cache.execute(f"SELECT count(*) FROM {table}")[0][0]
        for table in ("status_document", "status_reading", "sensor")
    )


def _ingest_one(stores, tmp_path, content: bytes):
    path = tmp_path / f"status_{next(_names):05d}.json"
    path.write_bytes(content)
    before = _counts(stores)
    summary = stores.status.ingest(documents_in([path]))
    after = _counts(stores)
    if summary.rejected:
        ((key, reason),) = summary.rejected
        assert path.name in reason, reason
        assert after == before, f"a rejected file changed the cache: {reason}"
    elif summary.unchanged:  # the same content was ingested under another name before
        assert after == before
    else:
        assert summary.ingested == [str(path.resolve())]
        assert after[0] == before[0] + 1
    return summary


@FUZZ
@given(content=mutations(GOOD))
def test_a_damaged_status_file_is_ingested_whole_or_rejected_with_its_name(
    stores, tmp_path, content
):
    _ingest_one(stores, tmp_path, content)


@FUZZ
@given(document=st.one_of(st.lists(records, max_size=4), json_values))
def test_any_json_document_is_ingested_whole_or_rejected_with_its_name(stores, tmp_path, document):
    _ingest_one(stores, tmp_path, json.dumps(document).encode())


@FUZZ
@given(name=st.text(min_size=1, max_size=60), value=st.text(max_size=30), date=st.text(max_size=30))
def test_hostile_names_values_and_dates_are_stored_as_text_or_rejected(
    stores, tmp_path, name, value, date
):
    record = _record(name, value, date)
    record["type"] = "string"
    summary = _ingest_one(stores, tmp_path, json.dumps([record]).encode())
    if not summary.rejected:
        assert name in stores.status.sensors()["name"].tolist()


def test_a_file_that_is_not_utf8_is_rejected_with_its_name_not_a_traceback(stores, tmp_path):
    """Regression (found by the fuzzer): DuckDB quotes the bytes it cannot read, and a
    message holding bytes that are not UTF-8 reached Python as a UnicodeDecodeError that
    stopped the whole ingest."""
    good = tmp_path / "good.json"
    good.write_bytes(GOOD)
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\x80" + GOOD)
    summary = stores.status.ingest(documents_in([bad, good]))
    ((key, reason),) = summary.rejected
    assert "bad.json" in reason and "not UTF-8" in reason
    assert summary.ingested == [str(good.resolve())]
    assert _counts(stores)[1] == 2
