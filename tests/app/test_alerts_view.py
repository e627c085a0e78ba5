from datetime import datetime

import holoviews as hv
import pandas as pd

from app.plots.alerts import error_circles, plot_sky_map
from app.views.alerts import AlertsBrowser, alert_flags
from data_access.demo.alerts import demo_notices, write_demo_packets


def demo_alerts(stores, tmp_path):
    notices = demo_notices(datetime(2026, 11, 20), 12)
    stores.alerts.store_files(write_demo_packets(tmp_path / "packets", notices))
    return notices


def test_error_circles_are_round_on_the_sky():
    frame = pd.DataFrame({"ra": [10.0], "dec": [60.0], "error_deg": [1.0]})
    [circle] = error_circles(frame, points=5)
    across = circle[:, 0].max() - circle[:, 0].min()
    assert abs(across - 4.0) < 1e-6  # 2 deg across, stretched by 1/cos(60 deg)
    assert abs(circle[:, 1].max() - 61.0) < 1e-6


def test_flags_mark_tests_and_retractions():
    frame = pd.DataFrame({"test": [True, False, False], "retraction": [False, True, False],
                          "retracted": [False, True, False]})  # fmt: skip
    assert alert_flags(frame).tolist() == ["TEST", "RETRACTION RETRACTED", ""]


def test_browser_lists_newest_first_and_shows_detail(stores, tmp_path):
    notices = demo_alerts(stores, tmp_path)
    view = AlertsBrowser(stores.alerts)
    alerts = view.alerts()
    assert len(alerts) == len(notices)
    assert alerts["t0"].is_monotonic_decreasing or alerts["packet_date"].is_monotonic_decreasing
    assert "TEST" in alerts["flags"].iloc[0]  # the newest burst is the test one
    assert alerts["flags"].str.contains("RETRACTED").any()
    view.include_tests = False
    assert not view.alerts()["test"].any()
    view.ivorn = notices[0].ivorn
    detail = view._detail()
    text = " ".join(str(getattr(part, "object", "")) for part in detail)
    assert notices[0].burst_id in text and "trigger_" in text and "raw XML" in text
    assert isinstance(plot_sky_map(alerts, selected=view.ivorn), hv.Overlay)


def test_browser_refreshes_when_a_packet_arrives(stores, tmp_path):
    notices = demo_alerts(stores, tmp_path)
    view = AlertsBrowser(stores.alerts)
    assert view.refresh() is False
    later = demo_notices(datetime(2026, 12, 20), 3, seed=99)
    stores.alerts.store_files(write_demo_packets(tmp_path / "later", later))
    assert view.refresh() is True and len(view.alerts()) == len(notices) + len(later)


def test_headline(stores, tmp_path):
    from app.pages.alerts import headline

    assert headline(stores) == "No alert received yet."
    notices = demo_alerts(stores, tmp_path)
    bursts = len({n.burst_id for n in notices})
    assert headline(stores).startswith(f"{len(notices)} alerts; {bursts} SVOM bursts; newest")
