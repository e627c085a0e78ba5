"""StatusStore.nearest: the telemetry rendezvous (the reading nearest in time to a moment)."""

from datetime import datetime, timedelta

import pandas as pd

from data_access.telemetry.store import StatusStore, documents_in


def _store(stores, status_record, write_status_file, tmp_path) -> StatusStore:
    records = [
        status_record("dome-temperature", "+10.0", "2024-03-01T00:00:00"),
        status_record("dome-temperature", "+11.0", "2024-03-01T00:05:00"),
        status_record("dome-temperature", "+12.0", "2024-03-01T00:10:00", error_code=3),
        status_record("dome-shutter", "open", "2024-03-01T00:04:00", type="string", unit=""),
    ]
    path = write_status_file(tmp_path / "drop" / "status_1.json", records)
    stores.status.ingest(documents_in([path]))
    return stores.status


def test_nearest_reading_before_or_after(stores, status_record, write_status_file, tmp_path):
    store = _store(stores, status_record, write_status_file, tmp_path)
    times = [datetime(2024, 3, 1, 0, 1), datetime(2024, 3, 1, 0, 4), datetime(2024, 3, 1, 0, 9)]
    frame = store.nearest(["dome-temperature", "dome-shutter", "no-such-sensor"], times)
    assert len(frame) == 9
    temperature = frame[frame["name"] == "dome-temperature"]
    assert list(temperature["numeric_value"]) == [10.0, 11.0, 12.0]
    assert list(temperature["offset_s"]) == [-60.0, 60.0, 60.0]
    assert list(temperature["error_code"]) == [0, 0, 3]
    assert list(frame[frame["name"] == "dome-shutter"]["value"]) == ["open"] * 3
    assert frame[frame["name"] == "no-such-sensor"]["ts"].isna().all()


def test_nearest_leaves_out_readings_too_far(stores, status_record, write_status_file, tmp_path):
    store = _store(stores, status_record, write_status_file, tmp_path)
    late = datetime(2024, 3, 1, 3, 0)
    frame = store.nearest(["dome-temperature"], [late], within=timedelta(minutes=30))
    assert pd.isna(frame.iloc[0]["ts"]) and pd.isna(frame.iloc[0]["value"])
    frame = store.nearest(["dome-temperature"], [late], within=timedelta(hours=3))
    assert frame.iloc[0]["numeric_value"] == 12.0
    assert store.nearest(["dome-temperature"], []).empty
