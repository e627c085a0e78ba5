import io
from datetime import datetime, timedelta

import pandas as pd

from app.plots.telemetry import plot_series
from app.views.downloads import table_bytes
from app.views.telemetry import ALL, TelemetryExplorer, describe_age
from data_access.telemetry.store import documents_in
from demo.telemetry import write_status_files
from tests.app.shown import shown_text

TEMPERATURE = "weather-station-ws1-air-temperature"


def test_plot_series_draws_band_line_and_errors():
    series = pd.DataFrame(
        {
            "name": ["a"] * 3,
            "bucket_start": pd.date_range("2026-01-01", periods=3, freq="h"),
            "min": [0, 1, 2],
            "mean": [1, 2, 3],
            "max": [2, 3, 4],
            "count": [12] * 3,
        }
    )
    errors = pd.DataFrame(
        {
            "name": ["a"],
            "ts": [pd.Timestamp("2026-01-01")],
            "numeric_value": [-99.0],
            "error_code": [3],
        }
    )
    fig = plot_series(series, errors, {"a": "C"})
    glyphs = [renderer.glyph for renderer in fig.renderers]
    assert [type(glyph).__name__ for glyph in glyphs] == ["VArea", "Line", "Scatter"]
    assert list(fig.renderers[1].data_source.data["mean"]) == [1, 2, 3]
    assert fig.renderers[2].data_source.data["error_code"][0] == 3
    assert [item.label["value"] for item in fig.legend.items] == ["a [C]", "error code"]


def test_explorer_cascades_selection_and_plots(stores, status_folder):
    stores.status.ingest(documents_in([status_folder]))
    view = TelemetryExplorer(stores.status)
    assert view.start < view.end and view.param.subsystem.objects[0] == ALL
    view.subsystem = "weather"
    assert set(view.param.component.objects) == {ALL, "station-ws1"}
    assert TEMPERATURE in view.param.sensors.objects
    assert all(name.startswith("weather") for name in view.param.sensors.objects)
    view.sensors = [TEMPERATURE]
    view.show_last(None)
    frame = view.series()
    assert set(frame["name"]) == {TEMPERATURE} and frame["count"].sum() == 72
    assert len(frame) <= view.max_points
    pane = view._plot()
    assert len(pane.object.renderers[1].data_source.data["mean"]) == len(frame)
    latest = view.latest()
    assert set(latest["subsystem"]) == {"weather"} and set(latest["state"]) <= {
        "ok",
        "stale",
        "error code",
    }


def test_explorer_downloads_what_is_shown(stores, status_folder):
    stores.status.ingest(documents_in([status_folder]))
    view = TelemetryExplorer(stores.status, sensors=[TEMPERATURE])
    view.show_last(None)
    csv = pd.read_csv(table_bytes(view.series(), "csv"))
    parquet = pd.read_parquet(io.BytesIO(table_bytes(view.series(), "parquet").read()))
    assert list(csv.columns) == ["name", "bucket_start", "min", "mean", "max", "count"]
    assert len(csv) == len(parquet) == len(view.series())


def test_explorer_refreshes_when_readings_arrive(stores, status_folder, tmp_path):
    stores.status.ingest(documents_in([status_folder]))
    view = TelemetryExplorer(stores.status)
    assert view.refresh() is False
    later = write_status_files(tmp_path / "later", datetime(2026, 11, 1, 6), 0.01, seed=3)
    stores.status.ingest(documents_in(later))
    assert view.refresh() is True and view.revision == stores.status.revision()


def test_unknown_download_format_is_refused():
    import pytest

    with pytest.raises(ValueError, match="unknown download format 'xls'"):
        table_bytes(pd.DataFrame({"a": [1]}), "xls")


def test_describe_age():
    assert [describe_age(s) for s in (5, 420, 12600, 172800)] == ["5 s", "7 min", "3.5 h", "2.0 d"]


def test_empty_cache_shows_a_warning(stores):
    view = TelemetryExplorer(stores.status)
    assert view.end - view.start == timedelta(days=1)
    assert view._freshness().alert_type == "warning"


def test_demo_feed_writes_the_files_due(demo_copy):
    from data_access.stores import Stores
    from demo import feed_demo_status, is_demo

    assert is_demo(demo_copy)
    stores = Stores.open(demo_copy)
    try:
        folder = stores.workspace.status_drop_dir
        before = len(list(folder.glob("*.json")))
        newest = datetime.strptime(
            max(p.name for p in folder.glob("*.json")), "status_%Y%m%dT%H%M%S.json"
        )
        assert feed_demo_status(stores, now=newest + timedelta(minutes=4)) == {
            "demo feed": "nothing due"
        }
        later = newest + timedelta(minutes=16)
        assert feed_demo_status(stores, now=later) == {"demo feed": "3 new status files"}
        assert len(list(folder.glob("*.json"))) == before + 3
    finally:
        stores.close()


def test_home_headline_counts_sensors(stores, status_folder):
    from app.pages.telemetry import headline

    assert headline(stores) == "No readings yet."
    stores.status.ingest(documents_in([status_folder]))
    line = headline(stores)
    assert line.startswith("210 sensors; newest reading") and "210 stale; 0 rejected" in line


def test_demo_services_start_the_sdb_sandbox_for_a_demo_only(demo_copy, stores):
    import requests

    from app.server import start_demo_services
    from data_access.stores import Stores
    from tests.conftest import free_port

    assert start_demo_services(stores) == []  # not a demo workspace
    config = demo_copy / "gic.toml"
    port = free_port()
    config.write_text(config.read_text().replace("sandbox_port = 5080", f"sandbox_port = {port}"))
    demo = Stores.open(demo_copy)
    try:
        [sandbox] = start_demo_services(demo)
        assert requests.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).ok
        sandbox.close()
    finally:
        demo.close()


def test_sensor_names_from_files_and_links_are_escaped_labels(
    stores, tmp_path, status_record, write_status_file
):
    import panel as pn

    from app.markup import escape_html

    hostile = "<img src=x onerror=alert(1)>"
    record = status_record(name=hostile, subsystem=hostile, pretty_name=hostile)
    folder = write_status_file(tmp_path / "in" / "status_2024-03-01T00-00-00.json", [record])
    stores.status.ingest(documents_in([folder.parent]))
    view = TelemetryExplorer(stores.status)
    view.sensors = [hostile, '" onfocus="alert(1)']  # a shared link may name anything
    [picker] = view.controls().select(pn.widgets.MultiChoice)
    assert picker.options == {escape_html(name): name for name in view.sensors}
    assert picker.value == view.sensors  # the values are the names themselves
    view.refresh()
    assert set(picker.options) == {escape_html(name) for name in view.sensors}
    table = view._latest_table()
    assert table.value["name"].tolist() == [hostile]  # cells are text (StringFormatter)
    assert "Newest reading:" in shown_text(view._freshness())
    warning, plot = view._plot()  # the name only a link gave is said, not drawn
    assert view.plotted() == [hostile] and shown_text(warning).strip() == (
        'Not drawn, no numeric sensor of that name in the cache: " onfocus="alert(1).'
    )
    assert isinstance(plot, pn.pane.Bokeh)
