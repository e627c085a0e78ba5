import io
from datetime import datetime, timedelta

import pandas as pd
import panel as pn

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
    [fig] = plot_series(series, errors, {"a": "C"})
    glyphs = [renderer.glyph for renderer in fig.renderers]
    assert [type(glyph).__name__ for glyph in glyphs] == ["VArea", "Line", "Scatter"]
    assert list(fig.renderers[1].data_source.data["mean"]) == [1, 2, 3]
    assert fig.renderers[2].data_source.data["error_code"][0] == 3
    assert [item.label["value"] for item in fig.legend.items] == ["a", "error code"]
    assert fig.yaxis.axis_label == "C" and fig.right  # the legend beside the data


def test_plot_series_draws_one_panel_per_unit_on_one_time_axis():
    times = pd.date_range("2026-01-01", periods=2, freq="h")
    series = pd.DataFrame(
        {
            "name": ["cagire", "cagire", "humidity", "humidity", "wind", "wind"],
            "bucket_start": [*times] * 3,
            "min": [-173.2, -173.1, 30, 31, 4, 5],
            "mean": [-173.1, -173.0, 35, 36, 5, 6],
            "max": [-173.0, -172.9, 40, 41, 6, 7],
            "count": [12] * 6,
        }
    )
    errors = pd.DataFrame(columns=["name", "ts", "numeric_value", "error_code"])
    units = {"cagire": "C", "humidity": "%", "wind": "m/s"}
    figures = plot_series(series, errors, units, title="per bucket")
    assert [fig.yaxis.axis_label for fig in figures] == ["%", "C", "m/s"]
    assert len({id(fig.x_range) for fig in figures}) == 1  # zoom one, all follow
    # one date ticker and formatter for the axes and grids of all, each axis labelled
    axes = [fig.below[0] for fig in figures]
    assert all(type(axis).__name__ == "DatetimeAxis" for axis in axes)
    assert all(fig.xgrid[0].axis is axis for fig, axis in zip(figures, axes, strict=True))
    assert len({id(a.ticker) for a in axes}) == len({id(a.formatter) for a in axes}) == 1
    assert [len(fig.xaxis) for fig in figures] == [1, 1, 1]
    assert {axis.axis_label for axis in axes} == {"time (UTC)"}
    assert figures[0].title.text == "per bucket" and not figures[1].title.text
    assert plot_series(series.iloc[:0], errors, units) == []


def test_explorer_cascades_selection_and_plots(stores, status_folder):
    stores.status.ingest(documents_in([status_folder]))
    view = TelemetryExplorer(stores.status)
    assert view.start < view.end and view.param.subsystem.objects[0] == ALL
    view.subsystem = "weather"
    assert set(view.param.component.objects) == {ALL, "station-ws1"}
    assert TEMPERATURE in view.param.sensors.objects
    assert all(name.startswith("weather") for name in view.param.sensors.objects)
    view.sensors = [TEMPERATURE]
    view.window = "all"
    frame = view.series()
    assert set(frame["name"]) == {TEMPERATURE} and frame["count"].sum() == 72
    assert len(frame) <= view.max_points
    _hint, pane = view._plot()
    assert len(pane.object.renderers[1].data_source.data["mean"]) == len(frame)
    latest = view.latest()
    assert set(latest["subsystem"]) == {"weather"}
    assert set(", ".join(latest["state"]).split(", ")) <= {"ok", "stale", "error code", "gap"}


def test_explorer_downloads_what_is_shown(stores, status_folder):
    stores.status.ingest(documents_in([status_folder]))
    view = TelemetryExplorer(stores.status, sensors=[TEMPERATURE], window="all")
    csv = pd.read_csv(table_bytes(view.series(), "csv"))
    parquet = pd.read_parquet(io.BytesIO(table_bytes(view.series(), "parquet").read()))
    assert list(csv.columns) == [
        "name",
        "pretty_name",
        "unit",
        "bucket_start",
        "min",
        "mean",
        "max",
        "count",
    ]
    assert set(csv["unit"]) == {"C"} and set(csv["pretty_name"]) == {"station ws1 air temperature"}
    assert len(csv) == len(parquet) == len(view.series())
    raw = pd.read_csv(table_bytes(view.readings(), "csv"))
    assert len(raw) == 72 and set(raw["unit"]) == {"C"}


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
    _hint, warning, plot = view._plot()  # the name only a link gave is said, not drawn
    assert view.plotted() == [hostile] and shown_text(warning).strip() == (
        'Not drawn, no numeric sensor of that name in the cache: " onfocus="alert(1).'
    )
    assert isinstance(plot, pn.pane.Bokeh)


DEFAULTS = ["instrument-cagire-detector-temperature", "weather-station-ws1-air-humidity"]


def test_no_sensor_chosen_plots_the_default_set_and_says_how_to_change_it(stores, status_folder):
    stores.status.ingest(documents_in([status_folder]))
    view = TelemetryExplorer(stores.status, default_sensors=[*DEFAULTS, "not-in-the-cache"])
    assert view.plotted() == DEFAULTS
    hint, *panels = view._plot()
    assert "telemetry.default_sensors in gic.toml" in shown_text(hint)
    assert [p.object.yaxis.axis_label for p in panels] == ["%", "C"]
    view.sensors = [TEMPERATURE]
    assert view.plotted() == [TEMPERATURE]
    assert "Remove every chosen sensor" in shown_text(view._plot()[0])


def test_latest_follows_the_selection_the_search_and_shows_problems(stores, tmp_path):
    from demo.telemetry import DEAD_SENSOR

    files = write_status_files(
        tmp_path / "s", datetime(2026, 11, 1), 2.5, sensor_count=30, dead_day=1
    )
    stores.status.ingest(documents_in([files[0].parent]))
    view = TelemetryExplorer(stores.status, window="all")
    assert len(view.latest()) == 30
    view.sensors = [TEMPERATURE, DEAD_SENSOR]
    assert view.latest()["name"].tolist() == [TEMPERATURE, DEAD_SENSOR]
    view.subsystem = "tcs"  # the chosen sensors and the subsystem's
    assert set(view.latest()["subsystem"]) == {"tcs", "weather"}
    view.subsystem = ALL
    view.sensors = []
    view.search = "wind"
    assert set(view.latest()["name"]) == {DEAD_SENSOR, "weather-station-ws1-wind-direction"}
    assert set(view.param.sensors.objects.values()) == set(view.latest()["name"])
    view.search = ""
    view.problems_only = True
    problems = view.latest().set_index("name")
    assert "gap" in problems.loc[DEAD_SENSOR, "state"]  # (all stale: the files are old)
    assert problems.loc[DEAD_SENSOR, "longest_gap"].endswith(" d")
    assert "ok" not in set(problems["state"])
    table = view._latest_table()
    assert table.frozen_columns == ["name"] and "state" in table.value.columns


def test_the_range_is_relative_or_fixed_and_a_link_holds_either(stores, status_folder):
    from app.views.telemetry import parse_window

    stores.status.ingest(documents_in([status_folder]))
    view = TelemetryExplorer(stores.status)
    assert view.window == "1d"
    view.window = "all"
    first, last = stores.status.time_span()
    assert view.start == first and view.end == last + timedelta(minutes=1)
    view.start = first + timedelta(hours=1)  # chosen by hand: a fixed range, end included
    assert parse_window(view.window) == (view.start, view.end)
    view.window = "2026-11-01T01:00:00/2026-11-01T02:00:00"  # as a shared link gives it
    assert (view.start, view.end) == (datetime(2026, 11, 1, 1), datetime(2026, 11, 1, 2))
    view.window = "<b>nonsense</b>"
    assert view.window == "1d" and view.end == last + timedelta(minutes=1)
    buttons = {b.label: b for b in view.controls().select(pn.widgets.Button)}
    assert buttons["1d"].color == "primary" and buttons["7d"].color == "light"
    buttons["7d"].clicks += 1
    assert view.window == "7d" and buttons["7d"].color == "primary"
