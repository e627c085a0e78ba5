"""The calibration views and plots without a browser, on the small demo (six nights)."""

import io
from datetime import timedelta

import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.models import HoverTool, Span, TapTool

from app.plots.calibration import (
    INVALID_COLOR,
    POINTS,
    VERDICT_COLORS,
    Trend,
    kind_label,
    plot_completeness,
    plot_histogram,
    plot_trends,
)
from app.plots.images import plot_image, zscale_limits
from app.views.calibration import ALL, TABLE_COLUMNS, CalibrationTrends
from data_access.stores import Stores
from demo.calibration import (
    FULL_NIGHTS,
    DemoTroubles,
    demo_nights,
)
from tests.app.shown import shown_text


@pytest.fixture
def demo_stores(demo_copy):
    stores = Stores.open(demo_copy)
    yield stores
    stores.close()


def _troubles(view: CalibrationTrends) -> DemoTroubles:
    return DemoTroubles.for_nights((view.end - view.start).days + 1)


# -- plots ------------------------------------------------------------------------------
def test_trends_mark_invalid_draw_limits_and_share_data_and_axis():
    trend = pd.DataFrame(
        {
            "date": pd.date_range("2026-01-01", periods=4, freq="D"),
            "instrument": ["DDRAGO1"] * 3 + ["CAGIRE"],
            "filter": ["NONE"] * 4,
            "mediandif": [0.1, 4.0, -0.2, np.nan],
            "rms": [1.0, 1.1, 1.2, 0.9],
            "verdict": [True, False, True, True],
            "im_name": ["a", "b", "c", "d"],
            "report_id": [1, 2, 3, 4],
        }
    )
    diff, rms = plot_trends(
        trend, [Trend("mediandif", "t", "ADU", [(-2.0, 2.0)]), Trend("rms", "u", "ADU")]
    )
    lines, points, crosses = diff.renderers
    assert [type(r.glyph).__name__ for r in diff.renderers] == ["MultiLine", "Scatter", "Scatter"]
    assert diff.yaxis.axis_label == "MEDIANDIF [ADU]"
    # one line per instrument and filter; filter-free masters carry FILTER NONE
    assert [list(ys) for ys in lines.data_source.data["mediandif"]] == [
        [pytest.approx(np.nan, nan_ok=True)],
        [0.1, 4.0, -0.2],
    ]
    legend = diff.legend[0].items
    assert [item.label.value for item in legend] == ["CAGIRE", "DDRAGO1", "invalid"]
    assert [points.data_source.data["kind"][item.index] for item in legend[:2]] == [
        "CAGIRE",
        "DDRAGO1",
    ]
    assert set(diff.select(name=POINTS)) == {points, crosses}
    assert sorted(points.data_source.data["report_id"]) == [1, 2, 3, 4]
    assert crosses.glyph.marker == "x" and crosses.glyph.line_color == INVALID_COLOR
    assert list(crosses.data_source.data["report_id"]) == [2]  # the invalid one, in red
    assert sorted(span.location for span in diff.select(Span)) == [-2.0, 2.0]
    assert diff.select_one(HoverTool).renderers == [points, crosses]
    assert diff.y_range.start < -2 and diff.y_range.end > 4  # the limits and every point show
    assert rms.x_range is diff.x_range  # zoom one, zoom all
    assert {r.data_source for r in rms.renderers} == {r.data_source for r in diff.renderers}
    assert not rms.select(Span)


def test_trend_lines_break_across_a_missing_night_and_draw_each_masters_limits():
    nights = pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-05", "2026-01-06"])
    trend = pd.DataFrame(
        {
            "date": nights + pd.Timedelta(hours=13),
            "night": nights,
            "instrument": ["DDRAGO1"] * 4,
            "filter": ["NONE"] * 4,
            "mediandif": [0.001, 0.002, 0.001, 0.003],
            "meandiff_low": [-0.006, -0.006, -0.007, -0.007],
            "meandiff_high": [0.006, 0.006, 0.007, 0.007],
            "verdict": [True] * 4,
            "im_name": list("abcd"),
            "report_id": [1, 2, 3, 4],
        }
    )
    (fig,) = plot_trends(
        trend, [Trend("mediandif", "t", "ADU/s", (), ("meandiff_low", "meandiff_high"))]
    )
    lines = fig.renderers[0].data_source.data
    ys = list(lines["mediandif"][0])
    assert len(ys) == 5 and np.isnan(ys[2])  # the line stops between the 2nd and 5th nights
    assert lines["xs"][0][1] < lines["xs"][0][2] < lines["xs"][0][3]
    dashes = [r for r in fig.renderers if getattr(r.glyph, "marker", None) == "dash"]
    assert sorted(d.glyph.y for d in dashes) == ["meandiff_high", "meandiff_low"]
    assert fig.y_range.start < -0.007 and fig.y_range.end > 0.007
    assert not fig.select(Span)


def test_zscale_and_image_keep_pixel_coordinates():
    rng = np.random.default_rng(1)
    data = rng.normal(1000, 3, (64, 80)).astype(np.float32)
    data[10, 10] = 60000  # a hot pixel does not stretch the display
    low, high = zscale_limits(data)
    assert 970 < low < 1000 < high < 1030
    image = plot_image(data, title="master")
    assert image.bounds.lbrt() == (0, 0, 80, 64)
    assert zscale_limits(np.full((4, 4), np.nan)) == (0.0, 1.0)


def test_histogram_draws_limits_and_center():
    overlay = plot_histogram(
        np.array([1, 5, 1]), np.array([-3.0, -1, 1, 3]), title="h", limits=(-2.0, 2.0), center=0.0
    )
    assert [type(layer).__name__ for layer in overlay] == ["Histogram", "VLine", "VLine", "VLine"]


def test_completeness_heatmap_codes_verdicts():
    grid = pd.DataFrame(
        {
            "night": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-02"]).date,
            "instrument": ["CAGIRE", "DDRAGO1", "CAGIRE"],
            "filter": ["J", "NONE", "J"],
            "arrived": [True, True, False],
            "n_frames": pd.array([4, 4, pd.NA], dtype="Int64"),
            "verdict": ["OK", "invalid", "missing"],
        }
    )
    fig = plot_completeness(grid)
    cells = fig.renderers[0].data_source.data
    assert list(cells["color"]) == [VERDICT_COLORS[v] for v in ("OK", "invalid", "missing")]
    assert list(cells["frames"]) == [4, 4, 0]
    assert fig.y_range.factors == ["DDRAGO1", "CAGIRE J"]  # the first kind on top
    assert fig.x_range.factors == ["2026-01-01", "2026-01-02"]


# -- the view on the demo -----------------------------------------------------------------
def test_trends_cover_the_demo_nights_and_name_the_bad_one(demo_stores):
    view = CalibrationTrends(demo_stores.calibration, caltype="bias")
    assert (view.end - view.start).days + 1 == demo_nights(2)
    assert view.param.instrument.objects == [ALL, "CAGIRE", "DDRAGO1", "DDRAGO2"]
    table = view.table()
    assert list(table.columns) == list(TABLE_COLUMNS.values())
    assert set(table["INSTRUME"]) == {"CAGIRE", "DDRAGO1", "DDRAGO2"}
    bad_night = view.start + timedelta(days=_troubles(view).bad_bias)
    invalid = view.invalid()
    assert list(invalid["night"].astype(str)) == [str(bad_night)]
    assert invalid.iloc[0]["instrument"] == "DDRAGO1" and "MEANDIFF" in invalid.iloc[0]["reasons"]
    banner = view._banner()
    assert banner.alert_type == "danger" and f"{bad_night:%Y-%m-%d} DDRAGO1" in shown_text(banner)
    view.instrument = "DDRAGO2"
    assert set(view.table()["INSTRUME"]) == {"DDRAGO2"}
    assert view.limits("meandiff") == [(-2.0, 2.0)] and view.limits("rmsdiff") == [(0.0, 3.0)]
    figures = [pane.object for pane in view._plots().objects]
    assert [fig.yaxis.axis_label for fig in figures] == [
        "MEDIAN [ADU]",
        "RMS [ADU]",
        "MEDIANDIF [ADU]",
        "RMSDIFF [ADU]",
    ]
    assert all(fig.x_range is figures[0].x_range for fig in figures)  # zoom one, zoom all
    assert all(fig.select_one(TapTool) for fig in figures)


def test_completeness_shows_the_missing_week(demo_stores):
    view = CalibrationTrends(demo_stores.calibration, caltype="dark", instrument="CAGIRE")
    grid = view.completeness()
    troubles = _troubles(view)
    missing = {view.start + timedelta(days=i) for i in troubles.missing}
    assert set(grid.loc[grid["verdict"] == "missing", "night"]) == missing
    bad = view.start + timedelta(days=troubles.bad_dark)
    assert list(grid.loc[grid["verdict"] == "invalid", "night"]) == [bad]
    heat = view._completeness().object
    assert set(heat.renderers[0].data_source.data["verdict"]) == {"OK", "invalid", "missing"}


def test_flats_per_filter_and_their_ratio_limits(demo_stores):
    view = CalibrationTrends(demo_stores.calibration, caltype="flat", instrument="DDRAGO2")
    assert view.param.filter.objects == [ALL, "g", "i", "r", "z"]
    view.filter = "r"
    assert view.limits("rmsdiff") == [(0.0, 0.02)]
    bad = view.invalid()
    assert list(bad["filter"]) == ["r"] and "RMSDIFF" in bad.iloc[0]["reasons"]
    view.instrument = "CAGIRE"
    assert view.filter == ALL and view.param.filter.objects == [ALL, "H", "J"]


def test_clicking_a_date_shows_master_difference_and_histogram(demo_stores):
    view = CalibrationTrends(demo_stores.calibration, caltype="bias")
    assert isinstance(view.detail._images(), pn.layout.Spacer)
    bad = view.invalid().iloc[0]
    mediandif = view._plots().objects[2].object
    points = next(r.data_source for r in mediandif.renderers if r.name == POINTS)
    row = np.flatnonzero(
        (points.data["date"] == np.datetime64(bad["date"]))
        & (points.data["instrument"] == bad["instrument"])
    )
    points.selected.indices = [int(row[0])]  # what a click on that point does
    assert view.report_id == bad["report_id"] == view.detail.report_id
    panes = view.detail._images().objects
    plots = [pane.object for pane in panes]
    assert [type(p).__name__ for p in plots] == ["Image", "Image", "Overlay"]
    assert plots[1].dimension_values(2).mean() == pytest.approx(bad["meandiff"], abs=0.01)
    assert "MEANDIFF" in view.detail._header().object
    # a table row does the same
    table = view._table()
    table.selection = [0]
    assert view.report_id == table.value.iloc[0]["report_id"] != bad["report_id"]


def test_first_master_has_no_difference(demo_stores):
    view = CalibrationTrends(demo_stores.calibration, caltype="dark")
    view.report_id = int(view.table().iloc[-1]["report_id"])  # the oldest: newest first
    texts = [pane.object for pane in view.detail._images().objects]
    assert texts[1] == "No reference master: no difference image."


def test_every_table_downloads_as_csv_and_parquet(demo_stores):
    from app.views.downloads import table_bytes as _download

    view = CalibrationTrends(demo_stores.calibration, caltype="flat")
    for table in (view.table, view.invalid, view.completeness):
        frame = table()
        csv = pd.read_csv(_download(frame, "csv"))
        parquet = pd.read_parquet(io.BytesIO(_download(frame, "parquet").read()))
        assert len(csv) == len(parquet) == len(frame) > 0
        assert list(csv.columns) == list(parquet.columns) == list(frame.columns)
    assert len(view.controls().select(pn.widgets.FileDownload)) == 6


def test_certify_by_hand_promotes_and_is_shown(demo_stores):
    view = CalibrationTrends(demo_stores.calibration, caltype="bias")
    bad = view.invalid().iloc[0]
    view.report_id = int(bad["report_id"])
    view.detail._certify_clicked(True)
    assert (
        view.detail.message.startswith("The certification failed: ")
        and "comment" in view.detail.message
    )
    view.detail.comment = "jump explained: new controller firmware"
    view.detail._certify_clicked(True)
    night = f"{pd.Timestamp(bad['night']):%Y-%m-%d}"
    assert view.detail.message == (
        f"The master bias of night {night}, DDRAGO1 ({bad['im_name']}) certified good and put "
        "in force by local."
    )
    assert view.invalid().empty and view._banner().alert_type == "success"
    row = view.table().set_index("report_id").loc[bad["report_id"]]
    assert row["automatic"] == "invalid" and row["verdict"] == "OK"
    assert row["certified"] == "good by local: jump explained: new controller firmware"
    assert view.detail.comment == ""


# -- the page and the demo ------------------------------------------------------------------
def test_page_type_and_headline(demo_stores, stores):
    from app.pages import PAGES
    from app.pages.calibration import URL_STATE, headline

    assert {p.slug: dict(p.options) for p in PAGES if p.module == "app.pages.calibration"} == {
        t: {"caltype": t} for t in ("bias", "dark", "flat")
    }
    assert set(URL_STATE) <= set(CalibrationTrends.param)
    assert headline(stores, "bias") == "No calibration yet."
    lines = {t: headline(demo_stores, t) for t in ("bias", "dark", "flat")}
    # one bad night per type; CAGIRE's week off costs one series of bias and dark, two of flat
    assert lines["bias"].startswith("Last night (") and "3 of 3 series OK" in lines["bias"]
    assert lines["bias"].endswith(": 1 invalid, 1 missing")
    assert lines["flat"].endswith(": 1 invalid, 2 missing") and "10 of 10" in lines["flat"]


def test_demo_nights_follow_days():
    assert demo_nights(30) == demo_nights(365) == FULL_NIGHTS == 60
    assert demo_nights(2) == 6 and demo_nights(10) == 20 and demo_nights(0.5) == 6
    full = DemoTroubles.for_nights(60)
    assert len(full.missing) == 7 and full.bad_dark not in full.missing
    assert 0 < min(full.bad_bias, full.bad_dark, full.bad_flat) and max(full.missing) < 59


def test_demo_raw_frames_live_in_the_workspace(demo_copy):
    nights = sorted(p.name for p in (demo_copy / "raw" / "calibration").iterdir())
    assert len(nights) == demo_nights(2) and all(len(n) == 8 and n.isdigit() for n in nights)


def test_report_fields_from_outside_stay_text_in_the_banner_and_header(demo_stores, monkeypatch):
    from tests.app.shown import pane_html, parse

    hostile = "<img src=x onerror=alert(1)>"
    view = CalibrationTrends(demo_stores.calibration, caltype="dark")
    bad = pd.DataFrame(
        {
            "night": [pd.Timestamp("2026-11-28")],
            "instrument": [hostile],
            "filter": ["' autofocus onfocus='alert(1)"],
            "im_name": [f"`{hostile}`"],
            "reasons": ["[x](javascript:alert(1))"],
        }
    )
    monkeypatch.setattr(view, "invalid", lambda: bad)
    banner = parse(pane_html(view._banner()))
    assert banner.tags == {"p", "strong", "ul", "li"}
    assert (
        f"{hostile} ' autofocus onfocus='alert(1)" in banner.text
        and "[x](javascript" in banner.text
    )
    view.report_id = int(view.table().iloc[0]["report_id"])
    info = view.detail.summary() | {"im_name": hostile, "instrument": hostile, "reasons": [hostile]}
    monkeypatch.setattr(view.detail, "summary", lambda: info)
    header = parse(pane_html(view.detail._header()))
    assert "img" not in header.tags and header.text.count(hostile) == 3


def test_the_banner_follows_the_instrument_and_filter_chosen(demo_stores):
    view = CalibrationTrends(demo_stores.calibration, caltype="flat")
    bad = view.invalid().iloc[0]
    assert (bad["instrument"], bad["filter"]) == ("DDRAGO2", "r")
    view.instrument, view.filter = "DDRAGO1", "r"
    assert view.invalid().empty and view._banner().alert_type == "success"
    view.instrument, view.filter = "DDRAGO2", "r"
    assert bad["im_name"] in shown_text(view._banner())


def test_a_card_per_kind_says_which_master_is_in_force(demo_stores):
    view = CalibrationTrends(demo_stores.calibration, caltype="bias")
    forced = view.in_force().set_index("instrument")
    assert set(forced.index) == {"CAGIRE", "DDRAGO1", "DDRAGO2"}
    assert set(forced["how"]) == {"automatic"} and forced["valid"].all()
    cards = view._in_force_cards().objects
    text = shown_text(cards[1].objects[0])
    assert "In force" in text and forced.loc["DDRAGO1", "file"] in text and "automatic" in text
    bad = view.invalid().iloc[0]
    view.report_id = int(bad["report_id"])
    view.detail.comment = "jump explained"
    view.detail._certify_clicked(True)
    forced = view.in_force().set_index("instrument")
    assert forced.loc["DDRAGO1", "how"] == "certified by local"
    assert "Compared with the reference" in view.detail._header().object


def test_mark_good_asks_to_confirm_and_single_user_asks_only_a_comment(demo_stores):
    view = CalibrationTrends(demo_stores.calibration, caltype="dark")
    view.report_id = int(view.invalid().iloc[0]["report_id"])
    form = view.detail.certification()
    assert [w.label for w in form.select(pn.widgets.TextInput)] == ["Certify by hand (comment)"]
    good = next(b for b in form.select(pn.widgets.Button) if b.label.startswith("Mark good"))
    assert "puts it in force" in good.label
    view.detail.comment = "checked by eye"
    good.clicks += 1
    assert view.detail.confirming and not view.detail.message  # nothing done yet
    confirmation = view.detail._confirmation()
    said = shown_text(view.detail._question())
    assert "put it in force" in said and "night" in said and confirmation.visible
    yes, no = confirmation.select(pn.widgets.Button)
    no.clicks += 1
    assert not view.detail.confirming and not view.invalid().empty
    good.clicks += 1
    yes.clicks += 1
    assert view.invalid().empty and "put in force" in view.detail.message


def test_mark_bad_asks_to_confirm_naming_the_master(demo_stores):
    view = CalibrationTrends(demo_stores.calibration, caltype="flat")
    shown = view.table().iloc[0]
    view.report_id = int(shown["report_id"])
    form = view.detail.certification()
    bad = next(b for b in form.select(pn.widgets.Button) if b.label.startswith("Mark bad"))
    assert "takes it out of use" in bad.label
    view.detail.comment = "hot pixels"
    bad.clicks += 1
    assert view.detail.confirming == "bad" and not view.detail.message  # nothing done yet
    said = shown_text(view.detail._question())
    night = f"{pd.Timestamp(shown['night']):%Y-%m-%d}"
    kind = kind_label(shown["INSTRUME"], shown["FILTER"])
    assert "bad and take it out of use" in said and night in said and kind in said
    confirmation = view.detail._confirmation()
    yes, no = confirmation.select(pn.widgets.Button)
    assert yes.label == "Yes, mark it bad"
    no.clicks += 1
    assert not view.detail.confirming and not view.detail.message
    bad.clicks += 1
    yes.clicks += 1
    assert view.detail.message.endswith("certified bad by local.") and night in view.detail.message


def test_an_unexpected_failure_is_said_in_words_not_as_the_exception(demo_stores, monkeypatch):
    view = CalibrationTrends(demo_stores.calibration, caltype="bias")
    view.report_id = int(view.table().iloc[0]["report_id"])
    view.detail.comment = "checked"

    def broken(*args, **kwargs):
        raise KeyError("/srv/secret/path")

    monkeypatch.setattr(demo_stores.calibration, "certify", broken)
    view.detail._certify_clicked(False)
    assert view.detail.message.startswith(
        "The certification failed: an unexpected error stopped it"
    )
    assert "/srv/secret" not in view.detail.message
