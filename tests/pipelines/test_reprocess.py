"""The Reprocess page's runs: the telemetry at each exposure, read from one query."""

from __future__ import annotations

import pandas as pd

from pipelines.reprocess import telemetry_at


class FakeStatus:
    """Readings named after their sensor and moment; the dome has none; one call counted."""

    def __init__(self) -> None:
        self.calls = 0

    def nearest(self, names, moments, within):
        self.calls += 1
        rows = [
            {
                "time": moment,
                "name": name,
                "value": None if name.startswith("dome") else f"{name}@{moment:%H%M}",
            }
            for moment in moments
            for name in names
        ]
        return pd.DataFrame(rows)


def test_each_image_takes_its_cameras_readings_from_one_query():
    images = pd.DataFrame(
        {
            "name": ["a", "b", "c"],
            "t_mid": pd.to_datetime(["2026-03-14T01:00", None, "2026-03-14T02:00"], utc=True),
            "instrument": ["DDRAGO-B", "DDRAGO-R", "CAGIRE"],
        },
        index=[5, 7, 9],
    )
    status = FakeStatus()
    table = telemetry_at(status, images)
    assert status.calls == 1
    assert list(table["image"]) == ["a", "b", "c"]
    assert list(table["detector temperature (C)"]) == [
        "instrument-ddrago-b-detector-temperature@0100",
        "",
        "instrument-cagire-detector-temperature@0200",
    ]
    assert list(table["humidity (%)"])[2] == "weather-station-ws1-air-humidity@0200"
    assert list(table["dome"]) == ["", "", ""]


def test_images_without_times_ask_for_nothing():
    images = pd.DataFrame(
        {"name": ["b"], "t_mid": pd.to_datetime([None], utc=True), "instrument": ["CAGIRE"]}
    )
    status = FakeStatus()
    table = telemetry_at(status, images)
    assert status.calls == 0
    assert list(table["wind (m/s)"]) == [""]
