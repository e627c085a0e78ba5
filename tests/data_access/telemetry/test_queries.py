from datetime import datetime, timedelta

from data_access.telemetry.store import documents_in
from demo.telemetry import DEAD_SENSOR, write_status_files


def test_search_finds_whole_words_first_and_never_scattered_letters(stores, status_folder):
    stores.status.ingest(documents_in([status_folder]))
    found = stores.status.search("wind")
    assert set(found["name"]) == {
        "weather-station-ws1-wind-speed",
        "weather-station-ws1-wind-direction",
    }
    detector = stores.status.search("Detector TEMP")  # case ignored, every word needed
    assert len(detector) == 3 and set(detector["group"]) == {"detector"}
    ranked = stores.status.search("air")["name"].tolist()
    assert ranked[0].startswith("weather-station-ws1-air-")  # whole word first
    assert len(stores.status.search("")) == 210


def test_gaps_find_a_sensor_silent_for_a_day(stores, tmp_path):
    files = write_status_files(
        tmp_path / "s", datetime(2026, 11, 1), 2.5, sensor_count=30, dead_day=1
    )
    stores.status.ingest(documents_in([files[0].parent]))
    gaps = stores.status.gaps(datetime(2026, 11, 1), datetime(2026, 11, 4)).set_index("name")
    assert gaps.loc[DEAD_SENSOR, "longest_gap_s"] > 86000
    assert gaps.loc[DEAD_SENSOR, "gap_start"] < datetime(2026, 11, 2)
    others = gaps.drop(index=DEAD_SENSOR)["longest_gap_s"]
    assert others.max() == 300
    none = stores.status.gaps(datetime(2025, 1, 1), datetime(2025, 1, 2))
    assert (none["readings"] == 0).all()


def test_readings_are_every_reading_with_unit_and_pretty_name(stores, status_folder):
    stores.status.ingest(documents_in([status_folder]))
    start = datetime(2026, 11, 1)
    frame = stores.status.readings(
        ["weather-station-ws1-air-temperature"], start, start + timedelta(hours=1)
    )
    assert len(frame) == 12 and set(frame["unit"]) == {"C"}
    assert list(frame.columns) == [
        "name",
        "pretty_name",
        "unit",
        "ts",
        "value",
        "numeric_value",
        "error_code",
    ]
