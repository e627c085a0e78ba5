from datetime import UTC, datetime

import numpy as np
import pandas as pd
import panel as pn
from bokeh.models import BoxAnnotation, HoverTool

from app.plots.alerts import KIND_COLORS, burst_kinds, graticule, plot_altitude_track
from app.views.alerts import AlertsBrowser, since
from app.views.alerts_detail import alert_flags
from demo.alerts import demo_notices, write_demo_packets
from tests.analysis.test_voevent import make_packet
from tests.app.bokeh_legend import legend_entries

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def demo_alerts(stores, tmp_path):
    notices = demo_notices(datetime(2026, 11, 20), 12)
    stores.alerts.store_files(write_demo_packets(tmp_path / "packets", notices))
    stores.alerts.store(make_packet("ivo://gwnet/LVK#S261119a", burst_id=None))
    return notices


def test_flags_mark_tests_and_retractions():
    frame = pd.DataFrame(
        {
            "test": [True, False, False],
            "retraction": [False, True, False],
            "retracted": [False, True, False],
        }
    )
    assert alert_flags(frame).tolist() == ["TEST", "RETRACTION RETRACTED", ""]
    assert burst_kinds(frame).tolist() == ["test", "retracted", "observation"]


def test_time_since_t0_reads_as_a_person_says_it():
    assert since(pd.Timestamp("2026-11-20T09:47:00"), NOW) == "2 h 13 min"
    assert since(pd.Timestamp("2026-11-17T08:00:00"), NOW) == "3 d 4 h"
    assert since(pd.Timestamp("2026-11-20T11:59:30"), NOW) == "0 min 30 s"
    assert since(None, NOW) == "unknown"


def test_graticule_draws_the_outline_and_lines():
    assert len(graticule()) == 12 + 5 + 2


def test_browser_one_row_per_burst_and_a_bursts_detail(stores, tmp_path):
    notices = demo_alerts(stores, tmp_path)
    view = AlertsBrowser(stores.alerts, at=NOW)
    bursts = view.bursts()
    assert bursts["burst_id"].tolist() == sorted({n.burst_id for n in notices}, reverse=True)
    assert bursts["flags"].str.contains("RETRACTED").sum() == 1
    assert "TEST" in bursts["flags"].iloc[0]  # the newest burst is the test one
    assert bursts["altitude_deg"].between(-90, 90).all()
    assert (bursts["notices"] >= 1).all() and bursts["best_instrument"].notna().all()
    assert view.unassigned()["ivorn"].tolist() == ["ivo://gwnet/LVK#S261119a"]
    view.include_tests = False
    assert not view.bursts()["test"].any()

    retracted = bursts.loc[bursts["retracted"], "burst_id"].iloc[0]
    view.burst = retracted
    shown = view._burst_detail()
    text = " ".join(str(getattr(part, "object", "")) for part in shown)
    assert "RETRACTED" in text and "Seen from OAN San Pedro Martir" in text and "civil dusk" in text
    packets = shown[1].value
    assert packets["received_at"].is_monotonic_decreasing and len(packets) == 3
    assert {"t0_to_arrival_s", "arrival_to_trigger_s"} <= set(packets.columns)
    assert view.detail()["ivorn"] == packets["ivorn"].iloc[0]  # the newest by default
    detail = view._detail()
    text = " ".join(str(getattr(part, "object", "")) for part in detail)
    assert retracted in text and "trigger_" in text and "raw XML" in text

    sky = view._sky_map().object
    assert sky.x_range.end - sky.x_range.start < 100  # zoomed to the burst
    labels = set(legend_entries(sky))
    assert {"Sun", "Moon", "galactic plane", "horizon now", "above the horizon now"} <= labels
    assert any(isinstance(tool, HoverTool) for tool in sky.tools)
    assert set(KIND_COLORS) >= {k.removeprefix("bursts: ") for k in labels if "bursts" in k}


def test_altitude_track_shades_the_night():
    seen = {
        "at": "2026-12-03T05:00:00Z",
        "night": {
            "sunset": "2026-12-03T00:39:00Z",
            "evening_astronomical": "2026-12-03T02:05:00Z",
            "morning_astronomical": "2026-12-03T12:58:00Z",
            "sunrise": "2026-12-03T14:24:00Z",
        },
        "track": {
            "time": ["2026-12-03T01:00:00Z", "2026-12-03T02:00:00Z"],
            "altitude_deg": [10.0, 20.0],
            "airmass": [5.76, None],
        },
    }
    fig = plot_altitude_track(seen)
    assert len([r for r in fig.center if isinstance(r, BoxAnnotation)]) == 3
    assert np.isnan(fig.renderers[0].data_source.data["airmass"][1])


def test_packet_without_burst_detail(stores, tmp_path):
    demo_alerts(stores, tmp_path)
    view = AlertsBrowser(stores.alerts, ivorn="ivo://gwnet/LVK#S261119a", at=NOW)
    assert isinstance(view._detail(), pn.Column)
    assert isinstance(view._unassigned_table(), pn.widgets.Tabulator)
