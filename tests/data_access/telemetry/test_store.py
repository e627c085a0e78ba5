import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

import pandas as pd
import pytest

from data_access.telemetry.store import StatusDocument, documents_in

DAY = (datetime(2024, 3, 1), datetime(2024, 3, 2))


def counts(stores):
    docs = stores.cache.execute(
        "SELECT count(*), coalesce(sum(n_readings), 0) FROM status_document"
    )
    readings = stores.cache.execute("SELECT count(*) FROM status_reading")[0][0]
    return docs[0][0], docs[0][1], readings


def test_generated_files_ingest_and_typed(stores, status_folder):
    summary = stores.status.ingest(documents_in([status_folder]))
    assert len(summary.ingested) == 72 and not summary.rejected
    n_docs, declared, readings = counts(stores)
    assert (n_docs, declared) == (72, readings) and readings == 72 * 210
    kinds = dict(stores.cache.execute("SELECT type, count(*) FROM sensor GROUP BY type"))
    assert set(kinds) == {"float", "integer", "string"}
    text = stores.cache.execute(
        "SELECT count(*) FROM status_reading r JOIN sensor s USING (sensor_id) "
        "WHERE s.type = 'string' AND (r.text IS NULL OR r.value IS NOT NULL)"
    )
    assert text == [(0,)]


def test_same_file_twice_adds_nothing(stores, status_folder):
    stores.status.ingest(documents_in([status_folder]))
    before = counts(stores)
    again = stores.status.ingest(documents_in([status_folder]))
    assert len(again.unchanged) == 72 and not again.ingested and again.readings == 0
    assert counts(stores) == before


def test_touched_but_identical_file_adds_nothing(stores, status_folder):
    stores.status.ingest(documents_in([status_folder]))
    before = counts(stores)
    first = sorted(status_folder.glob("*.json"))[0]
    os.utime(first, ns=(0, 0))
    summary = stores.status.ingest(documents_in([first]))
    assert summary.unchanged == [str(first)] and counts(stores) == before


def test_same_content_under_another_name_adds_nothing(stores, status_folder, tmp_path):
    stores.status.ingest(documents_in([status_folder]))
    before = counts(stores)
    copy = tmp_path / "copy.json"
    copy.write_bytes(sorted(status_folder.glob("*.json"))[0].read_bytes())
    assert stores.status.ingest(documents_in([copy])).unchanged == [str(copy)]
    assert counts(stores) == before


def test_changed_file_replaces_its_own_rows(stores, tmp_path, status_record, write_status_file):
    path = write_status_file(tmp_path / "a.json", [status_record(value="+1.0")])
    other = write_status_file(tmp_path / "b.json", [status_record(name="x", value="+5")])
    stores.status.ingest(documents_in([path, other]))
    write_status_file(
        path, [status_record(value="+2.0"), status_record(value="+3.0", date="2024-03-01T00:05:00")]
    )
    summary = stores.status.ingest(documents_in([path, other]))
    assert summary.replaced == [str(path)] and summary.unchanged == [str(other)]
    values = stores.cache.execute(
        "SELECT s.name, r.value FROM status_reading r JOIN sensor s USING (sensor_id) ORDER BY 1, 2"
    )
    assert values == [("dome-temperature", 2.0), ("dome-temperature", 3.0), ("x", 5.0)]


BAD_RECORDS = [
    ({"drop": ("unit",)}, r"record 1 \(name 'dome-temperature', .*field \"unit\" is missing"),
    ({"value": "warm"}, r"record 1 .*value 'warm' is not a float"),
    ({"value": "2.5", "type": "integer"}, r"value '2.5' is not an integer"),
    ({"type": "bool"}, r"type 'bool' is not one of integer, float, string"),
    ({"date": "yesterday"}, r"date 'yesterday' is not an ISO 8601 time"),
    ({"error_code": "E1"}, r"error_code 'E1' is not an integer"),
]


@pytest.mark.parametrize(("change", "reason"), BAD_RECORDS)
def test_a_bad_record_rejects_its_whole_file(
    stores, tmp_path, status_record, write_status_file, change, reason
):
    good = write_status_file(tmp_path / "good.json", [status_record(name="other")])
    drop = change.pop("drop", ())
    bad = write_status_file(
        tmp_path / "bad.json",
        [status_record(date="2024-03-01T00:01:00"), status_record(drop=drop, **change)],
    )
    summary = stores.status.ingest(documents_in([good, bad]))
    assert summary.ingested == [str(good)]
    [(key, message)] = summary.rejected
    assert key == str(bad) and message.startswith(str(bad))
    assert __import__("re").search(reason, message), message
    assert counts(stores)[2] == 1  # nothing of the bad file
    assert stores.status.rejected()["key"].tolist() == [str(bad)]


def test_documents_not_recorded_under_their_name_are_hashed_once(
    stores, status_folder, tmp_path, status_record, write_status_file, monkeypatch
):
    """A folder already in under other names (a workspace moved) is read once by a process,
    a rejected file twice (to reject it, then to find it rejected), not at every sync; a
    change is read again."""
    from data_access.telemetry import ingest

    stores.status.ingest(documents_in([status_folder]))
    moved = tmp_path / "moved"
    moved.mkdir()
    for path in sorted(status_folder.glob("*.json"))[:3]:
        (moved / path.name).write_bytes(path.read_bytes())
    bad = write_status_file(moved / "bad.json", [status_record(value="warm")])
    hashed = []
    sha256 = ingest._sha256
    monkeypatch.setattr(ingest, "_sha256", lambda path: hashed.append(path.name) or sha256(path))
    before = counts(stores)
    for _ in range(3):
        summary = stores.status.ingest(documents_in([moved]))
        assert len(summary.unchanged) == 3 and len(summary.rejected) == 1
    copies = sorted(path.name for path in moved.glob("status_*.json"))
    assert sorted(hashed) == sorted([*copies, "bad.json", "bad.json"])
    assert counts(stores) == before
    write_status_file(bad, [status_record(value="+4.5")])
    assert stores.status.ingest(documents_in([moved])).ingested == [str(bad)]
    assert len(hashed) == 6


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('[{"name": "dome', "Malformed JSON"),
        ('{"name": "x"}', "not a JSON list of status records"),
        ("", "the file is empty"),
        ("[1, 2]", "Expected OBJECT"),
    ],
)
def test_unreadable_files_are_rejected_with_reason(
    stores, tmp_path, status_record, write_status_file, content, reason
):
    good = write_status_file(tmp_path / "good.json", [status_record()])
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    summary = stores.status.ingest(documents_in([bad, good]))
    assert summary.ingested == [str(good)]
    [(_, message)] = summary.rejected
    assert str(bad) in message and __import__("re").search(reason, message), message


def test_rejected_file_fixed_later_goes_in(stores, tmp_path, status_record, write_status_file):
    path = write_status_file(tmp_path / "a.json", [status_record(value="warm")])
    assert stores.status.ingest(documents_in([path])).rejected
    assert stores.status.ingest(documents_in([path])).rejected  # still reported, not re-read
    write_status_file(path, [status_record(value="+4.5")])
    summary = stores.status.ingest(documents_in([path]))
    assert summary.ingested == [str(path)] and stores.status.rejected().empty


def test_error_codes_are_kept_and_marked(stores, tmp_path, status_record, write_status_file):
    path = write_status_file(
        tmp_path / "a.json",
        [
            status_record(value="+1.0"),
            status_record(value="-999", date="2024-03-01T00:05:00", error_code=17),
        ],
    )
    stores.status.ingest(documents_in([path]))
    errors = stores.status.errors(["dome-temperature"], *DAY)
    assert errors[["value", "error_code"]].values.tolist() == [["-999.0", 17]]
    series = stores.status.series(["dome-temperature"], *DAY, timedelta(days=1))
    assert series[["min", "max", "count"]].values.tolist() == [[1.0, 1.0, 1]]


def test_series_buckets_start_on_the_hour(stores, tmp_path, status_record, write_status_file):
    records = [
        status_record(value=f"+{m}", date=f"2024-03-01T10:{m:02d}:00") for m in range(0, 60, 5)
    ]
    records += [status_record(value="+100", date="2024-03-01T11:30:00")]
    stores.status.ingest(documents_in([write_status_file(tmp_path / "a.json", records)]))
    series = stores.status.series(["dome-temperature"], *DAY, timedelta(hours=1))
    assert series["bucket_start"].tolist() == [datetime(2024, 3, 1, 10), datetime(2024, 3, 1, 11)]
    assert series[["min", "mean", "max", "count"]].values.tolist() == [
        [0, 27.5, 55, 12],
        [100, 100, 100, 1],
    ]


def test_series_refuses_string_and_unknown_sensors(
    stores, tmp_path, status_record, write_status_file
):
    path = write_status_file(
        tmp_path / "a.json", [status_record(name="shutter", value="open", type="string", unit="")]
    )
    stores.status.ingest(documents_in([path]))
    with pytest.raises(ValueError, match="sensor 'shutter' holds string values"):
        stores.status.series(["shutter"], *DAY, timedelta(hours=1))
    with pytest.raises(ValueError, match="no sensor named 'nope'"):
        stores.status.series(["nope"], *DAY, timedelta(hours=1))


def test_latest_marks_stale_sensors(stores, tmp_path, status_record, write_status_file):
    path = write_status_file(
        tmp_path / "a.json",
        [
            status_record(name="fresh", date="2024-03-01T00:10:00"),
            status_record(name="old", date="2024-03-01T00:00:00"),
            status_record(name="count", value="7", type="integer", date="2024-03-01T00:10:00"),
        ],
    )
    stores.status.ingest(documents_in([path]))
    latest = stores.status.latest(stale_after=timedelta(minutes=5), now=datetime(2024, 3, 1, 0, 12))
    table = latest.set_index("name")
    assert table.loc["fresh", "stale"] == False and table.loc["old", "stale"] == True  # noqa: E712
    assert table.loc["fresh", "age_s"] == 120
    assert table.loc["count", "value"] == "7"


def every_latest_from_the_readings(stores) -> dict:
    """Each sensor's latest reading worked out from every reading: name -> (ts, value text,
    error code); (None, None, None) for a sensor without readings."""
    rows = stores.cache.execute(
        """SELECT s.name, max(r.ts), arg_max(coalesce(CAST(r.value AS VARCHAR), r.text), r.ts),
                  arg_max(r.error_code, r.ts)
           FROM sensor s LEFT JOIN status_reading r USING (sensor_id) GROUP BY s.name"""
    )
    return {name: (ts, value, code) for name, ts, value, code in rows}


def latest_shown(stores) -> dict:
    frame = stores.status.latest(stale_after=timedelta(minutes=5))
    return {
        row.name: (
            None if pd.isna(row.ts) else row.ts.to_pydatetime(),
            None if pd.isna(row.value) else row.value,
            None if pd.isna(row.error_code) else int(row.error_code),
        )
        for row in frame.itertuples()
    }


def test_latest_follows_files_out_of_order_and_replaced(
    stores, tmp_path, status_record, write_status_file
):
    """The latest reading kept beside each sensor is the one of greatest time, whatever the
    order the files come in, and goes back to the earlier one when the file that held it is
    replaced by content without it."""
    late = write_status_file(
        tmp_path / "late.json",
        [
            status_record(name="dome-temperature", value="+14.0", date="2024-03-01T00:10:00"),
            status_record(name="shutter", value="OPEN", type="string", date="2024-03-01T00:10:00"),
            status_record(name="wind", value="+3.0", date="2024-03-01T00:10:00", error_code=2),
        ],
    )
    early = write_status_file(
        tmp_path / "early.json",
        [
            status_record(name="dome-temperature", value="+12.5", date="2024-03-01T00:00:00"),
            status_record(name="shutter", value="SHUT", type="string", date="2024-03-01T00:00:00"),
        ],
    )
    stores.status.ingest(documents_in([late]))
    stores.status.ingest(documents_in([early]))  # older: the latest stays the late file's
    assert latest_shown(stores) == every_latest_from_the_readings(stores)
    assert latest_shown(stores)["dome-temperature"][1] == "14.0"
    assert latest_shown(stores)["wind"][2] == 2
    write_status_file(  # the late file rewritten: the temperature only, an older time
        late,
        [status_record(name="dome-temperature", value="+13.0", date="2024-03-01T00:05:00")],
    )
    assert stores.status.ingest(documents_in([late])).replaced == [str(late)]
    shown = latest_shown(stores)
    assert shown == every_latest_from_the_readings(stores)
    assert shown["dome-temperature"] == (datetime(2024, 3, 1, 0, 5), "13.0", 0)
    assert shown["shutter"] == (datetime(2024, 3, 1), "SHUT", 0)
    assert shown["wind"] == (None, None, None)  # no reading left


def test_a_lake_of_schema_11_gets_each_sensors_latest_reading(
    tmp_path, monkeypatch, status_record, write_status_file
):
    """Migration 12 fills the latest reading kept beside each sensor from the readings
    a lake already holds."""
    import data_access.cache
    from data_access.stores import Stores

    monkeypatch.setattr(data_access.cache, "SCHEMA_VERSION", 11)
    older = Stores.open(tmp_path / "ws")
    with older.cache.transaction() as con:
        con.execute("INSERT INTO sensor (sensor_id, name, type) VALUES (1, 'dome-wind', 'float')")
        con.execute(
            "INSERT INTO status_reading VALUES "
            "(1, TIMESTAMP '2024-03-01 00:00:00', 2.5, NULL, NULL, 0, 1), "
            "(1, TIMESTAMP '2024-03-01 00:05:00', 3.5, NULL, NULL, 1, 1)"
        )
    older.close()
    monkeypatch.undo()
    stores = Stores.open(tmp_path / "ws")
    try:
        assert stores.cache.schema_version() == 12
        assert latest_shown(stores) == {"dome-wind": (datetime(2024, 3, 1, 0, 5), "3.5", 1)}
    finally:
        stores.close()


def test_documents_in_refuses_missing_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope: no such file"):
        documents_in([tmp_path / "nope"])


def test_killed_mid_ingest_leaves_no_part_of_a_file(workspace, status_folder):
    """A process killed after writing a batch's rows but before committing leaves nothing of
    that batch; the next run ingests every file whole, once."""
    config = workspace.config_path
    config.write_text(config.read_text().replace("batch_files = 2000", "batch_files = 10"))
    env = {**os.environ, "GIC_KILL_AT": "status-ingest-before-commit:3"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "--workspace",
            str(workspace.root),
            "ingest",
            "status",
            str(status_folder),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == -9, run.stderr
    from data_access.stores import Stores

    stores = Stores.open(workspace.root)
    try:
        n_docs, declared, readings = counts(stores)
        assert n_docs == 20 and declared == readings == 20 * 210  # two batches committed
        summary = stores.status.ingest(documents_in([status_folder]))
        assert len(summary.ingested) == 52 and len(summary.unchanged) == 20
        n_docs, declared, readings = counts(stores)
        assert n_docs == 72 and declared == readings == 72 * 210
        orphans = stores.cache.execute(
            "SELECT count(*) FROM status_reading WHERE document_id NOT IN "
            "(SELECT document_id FROM status_document)"
        )
        assert orphans == [(0,)]
    finally:
        stores.close()


def test_document_keys_are_per_source(stores, tmp_path, status_record, write_status_file):
    path = write_status_file(tmp_path / "a.json", [status_record()])
    first = stores.status.ingest([StatusDocument("cdb-http", "k1", path)])
    assert first.ingested == ["k1"]
    assert json.loads(path.read_text())[0]["name"] == "dome-temperature"
