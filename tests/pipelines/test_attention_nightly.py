"""What needs attention, from the nightly calibration runs and the frames' quality: a failed
run, a night without frames or not run, last night's frames outside the [quality] limits."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from data_access.calibration.nightly_runs import FAILURES, NO_FRAMES, NightlyRecord, NightlyRuns
from pipelines.attention import (
    attention,
    frames_of_last_night,
    nightly_items,
    nightly_runs,
    quality_items,
)
from tests.pipelines.test_attention import LAST_NIGHT, NOW, kinds, stores_look


def record(stores, night: date, outcome: str, failures=()) -> None:
    started = datetime(2026, 12, 1, 14)
    NightlyRuns(stores.cache).record(
        NightlyRecord(night, started, started, outcome=outcome, failures=list(failures))
    )


def test_a_failed_run_and_a_night_without_frames_or_not_run_are_listed(stores):
    assert nightly_runs(stores_look(stores)) == []  # a workspace without nightly runs
    record(stores, LAST_NIGHT, FAILURES, ["DDRAGO1 r flat: 2 frames of 5 could not be had"])
    record(stores, LAST_NIGHT - timedelta(days=1), NO_FRAMES)
    record(stores, LAST_NIGHT - timedelta(days=9), FAILURES, ["too old to be listed"])
    items = nightly_runs(stores_look(stores))
    assert kinds(items) == [
        ("missing night", "2026-11-29"),
        ("nightly run failed", "2026-11-30"),
        ("missing night", "2026-11-28"),
    ]
    failed = items[1]
    assert failed.severity == "error" and "2 frames of 5 could not be had" in failed.sentence
    assert failed.link == "/bias?start=2026-11-30&end=2026-11-30"
    assert "has not run" in items[2].sentence and "No calibration frame" in items[0].sentence
    listed = [item.kind for item in attention(stores, now=NOW).items]
    assert listed[0] == "nightly run failed" and listed.count("missing night") == 2


def test_a_run_done_is_not_listed():
    latest = pd.DataFrame({"night": [LAST_NIGHT], "outcome": ["done"], "failures": [""]})
    assert nightly_items(latest, []) == []


def test_last_nights_frames_outside_the_limits_are_listed_per_instrument_and_filter(stores):
    frames = pd.DataFrame(
        {
            "image_id": ["a", "b", "c", "d"],
            "instrument": ["DDRAGO1", "DDRAGO1", "DDRAGO1", "CAGIRE"],
            "filter": ["r", "r", "r", "J"],
            "outside": ['FWHM 3.40" > 3.0"', "", "sky 19.0 < 20.0", ""],
        }
    )
    (item,) = quality_items(frames, LAST_NIGHT)
    assert item.kind == "frames outside limits" and item.subject == "DDRAGO1/r 2026-11-30"
    assert item.sentence.startswith("2 of 3 DDRAGO1 r frames of the night of 2026-11-30")
    assert 'a (FWHM 3.40" > 3.0")' in item.sentence and "c (sky 19.0 < 20.0)" in item.sentence
    assert item.link == "/night?night=20261130&instrument=DDRAGO1&filter=r"
    assert frames_of_last_night(stores_look(stores)) == []  # nothing measured
