from datetime import datetime

import pandas as pd
import panel as pn
from bokeh.models import HoverTool, MultiLine, Scatter

from app.plots.alerts import KIND_COLORS, error_circles, plot_sky_map
from app.views.alerts import AlertsBrowser, alert_flags
from demo.alerts import demo_notices, write_demo_packets
from tests.app.bokeh_legend import legend_entries


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
    frame = pd.DataFrame(
        {
            "test": [True, False, False],
            "retraction": [False, True, False],
            "retracted": [False, True, False],
        }
    )
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

    assert isinstance(view._sky_map(), pn.pane.Bokeh)
    sky = plot_sky_map(alerts, selected=view.ivorn)
    assert (sky.x_range.start, sky.x_range.end, sky.y_range.start, sky.y_range.end) == (
        360,
        0,
        -90,
        90,
    )
    located = alerts.dropna(subset=["ra", "dec"])
    entries = legend_entries(sky)
    assert set(entries) == {"observation", "test", "retracted"}
    drawn = []
    for kind, (circles, points) in entries.items():
        assert isinstance(circles.glyph, MultiLine) and isinstance(points.glyph, Scatter)
        assert points.glyph.fill_color == circles.glyph.line_color == KIND_COLORS[kind]
        assert len(circles.data_source.data["xs"]) == len(points.data_source.data["ivorn"])
        drawn += list(points.data_source.data["ivorn"])
    assert sorted(drawn) == sorted(located["ivorn"])
    [hover] = sky.select(type=HoverTool)
    assert {"burst", "instrument", "error radius (deg)", "ivorn"} <= dict(hover.tooltips).keys()
    assert hover.renderers == [points for _, points in entries.values()]
    [ring] = [r for r in sky.renderers if not any(r in shown for shown in entries.values())]
    assert ring.glyph.fill_alpha == 0 and ring.glyph.line_color == "black"
    chosen = located.set_index("ivorn").loc[view.ivorn]
    assert list(ring.data_source.data["ra"]) == [chosen["ra"]]
    assert list(ring.data_source.data["dec"]) == [chosen["dec"]]


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


#: What a hostile broker puts in a VOEvent's params and ivorn.
HOSTILE = '"><img src=x onerror=alert(1)>`</code>[x](javascript:alert(1))'


def test_hostile_packet_fields_and_ivorn_stay_text(stores, tmp_path):
    from xml.sax.saxutils import escape, quoteattr

    from demo.alerts import svom_voevent
    from tests.app.shown import pane_html, parse

    notice = demo_notices(datetime(2026, 11, 20), 12)[0]
    xml = svom_voevent(notice).decode().replace('"ECLAIRs"', quoteattr(HOSTILE))
    xml = xml.replace(
        f'ivorn="{escape(notice.ivorn)}"', f"ivorn={quoteattr(notice.ivorn + HOSTILE)}"
    )
    params = "".join(
        f"<Param name={quoteattr(n)} value={quoteattr(HOSTILE)}/>" for n in ("GraceID", "TrigID")
    )
    xml = xml.replace('<Param name="Pkt_Ser_Num"', params + '<Param name="Pkt_Ser_Num"')
    (tmp_path / "hostile.xml").write_text(xml, encoding="utf-8")
    stores.alerts.store_files([tmp_path / "hostile.xml"])
    view = AlertsBrowser(stores.alerts)
    view.ivorn = view.alerts()["ivorn"].iloc[0]
    assert view.ivorn.endswith(HOSTILE)
    markdown_pane, params_table, *raw = view._detail()
    for pane in (markdown_pane, *raw):
        parsed = parse(pane_html(pane))
        assert parsed.tags <= {"h3", "p", "code", "ul", "li", "b", "pre", "strong", "em"}
        assert not any(key.startswith("on") for _, attrs in parsed.elements for key in attrs)
    shown = parse(pane_html(markdown_pane)).text
    assert view.ivorn in shown and f"SVOM {HOSTILE}; role" in shown
    values = params_table.value.set_index("param")["value"]
    assert values["GraceID"] == values["TrigID"] == values["Instrument"] == HOSTILE
