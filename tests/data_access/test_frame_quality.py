"""The frame_quality table: one row per frame and source, GP1's figures shown first, errors
that name the record, and a night's text."""

from __future__ import annotations

import dataclasses
import math
from datetime import date

import pytest

from analysis.frame_quality import FrameQuality
from data_access.frame_quality import parse_night

FIGURES = (24.5, 0.01, 30, 3.0, 2.1, 0.05, 900.0, 20.0, 20.5, math.nan)
FRAME = FrameQuality("f1", "DDRAGO1", "g", "2026-12-01T05:00:00.000", 60.0, *FIGURES, "gp2")


def test_gp1s_figures_are_shown_before_gp2s_and_a_frame_is_kept_once(stores):
    quality = stores.quality
    quality.record([FRAME], telemetry=[{"wind (m/s)": "3.1"}], run_id="run-1")
    quality.record([dataclasses.replace(FRAME, zp=24.1, source="gp1")])
    quality.record([dataclasses.replace(FRAME, zp=24.4)], run_id="run-2")
    (night,) = quality.nights()
    assert night == date(2026, 11, 30)  # the calibration pages' nights (night_offset_h)
    frames = quality.frames(night)
    assert len(frames) == 1 and frames["source"][0] == "gp1" and frames["zp"][0] == 24.1
    assert math.isnan(frames["airmass"][0])
    rows = stores.cache.execute("SELECT source, run_id, zp FROM frame_quality ORDER BY source")
    assert rows == [("gp1", "", 24.1), ("gp2", "run-2", 24.4)]
    report = quality.night_report(night)
    assert report["frames"][0]["airmass"] is None and report["frames"][0]["night"] == "2026-11-30"
    assert stores.cache.execute("SELECT count(*) FROM frame_quality WHERE airmass IS NULL") == [
        (2,)
    ]
    # one batch naming a frame twice: the later record is the one kept
    quality.record([dataclasses.replace(FRAME, zp=z) for z in (23.0, 23.5)], run_id="run-3")
    rows = stores.cache.execute("SELECT source, run_id, zp FROM frame_quality ORDER BY source")
    assert rows == [("gp1", "", 24.1), ("gp2", "run-3", 23.5)]


def test_a_bad_record_names_itself_and_nothing_is_written(stores):
    with pytest.raises(ValueError, match="1 records, 2 paths and 1 telemetry rows"):
        stores.quality.record([FRAME], paths=["a", "b"])
    with pytest.raises(ValueError, match="f1: t_mid 'yesterday' is not an ISO time"):
        stores.quality.record([dataclasses.replace(FRAME, t_mid="yesterday")])
    assert stores.cache.execute("SELECT count(*) FROM frame_quality") == [(0,)]


def test_a_night_is_written_yyyymmdd():
    assert parse_night("20261130") == date(2026, 11, 30)
    for text in ("2026-11-30", "20261331", "", "x" * 100):
        with pytest.raises(ValueError, match="is not a night"):
            parse_night(text)
