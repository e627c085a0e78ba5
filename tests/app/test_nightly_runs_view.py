"""The nightly runs' view on the calibration pages."""

from __future__ import annotations

from datetime import date, datetime

from app.views.nightly_runs import NightlyRunsView, runs_frame
from data_access.calibration.nightly_runs import NightlyRecord, NightlyRuns


def test_the_newest_run_first_with_a_line_on_it(stores):
    runs = NightlyRuns(stores.cache)
    view = NightlyRunsView(runs)
    assert "No nightly calibration run yet" in view.summary(runs_frame(runs))
    start = datetime(2025, 3, 2, 14)
    runs.record(NightlyRecord(date(2025, 3, 1), start, start, outcome="no frames"))
    runs.record(
        NightlyRecord(
            date(2025, 3, 2),
            start.replace(day=3),
            start.replace(day=3),
            links=6,
            frames_fetched=5,
            frames_failed=1,
            masters_built=2,
            masters_valid=2,
            masters_promoted=2,
            outcome="failures",
            failures=["bias_01.fits: HTTP 503 <b>x</b>"],
        )
    )
    frame = runs_frame(runs)
    assert list(frame["night"]) == ["2025-03-02", "2025-03-01"]
    assert frame["failures"][0] == "bias_01.fits: HTTP 503 <b>x</b>"  # a cell: shown as text
    line = view.summary(frame)
    assert (
        "night 2025\\-03\\-02" in line and "2 of 2 master(s) promoted, 1 frame(s) not had" in line
    )
    table = view.__panel__()[1]
    assert list(table.value.columns)[:3] == ["night", "started_at", "links"]
