"""The Night page's view and plots, built without a browser over the demo workspace."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.frame_quality import QualityLimits
from app.plots.night import FIGURES, plot_night_trends
from app.views.night import NightQuality
from app.views.reprocess import ReprocessDesk
from data_access.stores import Stores
from tests.app.shown import markdown_html


@pytest.fixture(scope="module")
def quality(demo_root):
    stores = Stores.open(demo_root, read_only=True)
    yield stores.quality
    stores.close()


def test_the_newest_night_is_shown_with_its_flagged_frames(quality):
    view = NightQuality(quality)
    assert view.night == f"{quality.nights()[0]:%Y%m%d}"
    frames = view.frames()
    said = markdown_html(view.summary(frames))
    assert f"<strong>Night {quality.nights()[0]:%Y-%m-%d}</strong>: {len(frames)} frames" in said
    shown = view.frames_table(frames).value
    assert list(shown.columns[:2]) == ["image_id", "outside"]
    assert "humidity (%)" in shown
    assert shown["outside"].str.startswith("ellipticity").sum() == 4  # the last night's trailed


def test_the_trends_follow_the_instrument_and_filter_asked(quality):
    view = NightQuality(quality, instrument="DDRAGO2", filter="z")
    frames = view.frames()
    assert view.kind(frames) == ("DDRAGO2", "z")
    window = view.trend_frames("DDRAGO2", "z")
    assert set(window["filter"]) == {"z"} and window["night"].nunique() > 1
    parts = view.trends(frames)
    assert len(parts) == 1 + len(FIGURES)


def test_a_night_that_is_not_one_is_said_so_escaped(quality):
    view = NightQuality(quality, night="<b>x</b>")
    assert view.frames().empty
    said = markdown_html(view.summary(view.frames()))
    assert "&lt;b&gt;x&lt;/b&gt; is not a night (YYYYMMDD)." in said and "<b>" not in said
    empty = NightQuality(quality, night="20200101")
    assert "20200101" in empty.param.night.objects  # kept as asked, not the newest night
    assert "No science frame recorded on night 20200101" in markdown_html(
        empty.summary(empty.frames())
    )


def test_the_trend_plot_marks_frames_outside_the_limits_red():
    frames = pd.DataFrame(
        {
            "night": pd.to_datetime(["2026-11-29", "2026-11-30", "2026-11-30"]).date,
            "image_id": ["a", "b", "c"],
            "outside": ["", 'FWHM 3.50" > 3"', ""],
            **{f.column: [1.0, 2.0, 3.0] for f in FIGURES},
        }
    )
    nightly = frames.groupby("night", as_index=False)[[f.column for f in FIGURES]].median()
    figures = plot_night_trends(frames, nightly, QualityLimits(fwhm_max_arcsec=3.0))
    assert [f.title.text for f in figures] == [f.title for f in FIGURES]
    dots = figures[1].renderers[1].data_source.data
    assert list(dots["color"]) == ["#7f7f7f", "#d62728", "#7f7f7f"]
    assert [s.location for s in figures[1].center if hasattr(s, "location")] == [3.0]


def test_the_reprocess_pages_frames_say_their_quality(demo_root):
    stores = Stores.open(demo_root, read_only=True)
    try:
        desk = ReprocessDesk.from_stores(stores)
        folder = stores.reprocess.folders()["path"].iloc[0]
        desk.images.folder = folder
        shown = desk.images._summary().value
    finally:
        stores.close()
    assert desk.quality.quality is not None  # a run through the desk records its frames
    assert "within the limits" in set(shown["quality"])
    assert shown["quality"].str.startswith("outside: airmass").any()
