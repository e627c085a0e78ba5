"""The Telemetry page in a real browser: pick a sensor, see a plot with data in it."""

from datetime import timedelta
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

from tests.ui.bokeh_js import GLYPHS_DRAWN

pytestmark = pytest.mark.ui

TEMPERATURE = "weather-station-ws1-air-temperature"


#: ``[[y-axis label, first x of the shared time range id], ...]`` for every figure drawn.
PANELS = """() => {
  const found = [];
  for (const doc of window.Bokeh.documents) {
    for (const model of doc.all_models) {
      if (model.type === "Figure" || model.constructor.name === "Figure") {
        found.push([model.left[0].axis_label, model.x_range.id]);
      }
    }
  }
  return found;
}"""


def test_home_links_every_page(served_workbench, page):
    url, _ = served_workbench
    page.goto(url + "/")
    expect(page.get_by_role("link", name="Telemetry").first).to_be_visible(timeout=20000)
    assert page.external_requests == []


def test_pick_a_sensor_and_see_its_plot(served_workbench, page):
    url, _ = served_workbench
    page.goto(url + "/telemetry")
    expect(page.get_by_text("Newest reading:")).to_be_visible(timeout=30000)
    chooser = page.get_by_placeholder("pick one or more numeric sensors")
    chooser.click()
    chooser.fill("air-temperature")
    page.locator(".choices__list--dropdown .choices__item", has_text=TEMPERATURE).first.click()
    page.keyboard.press("Escape")
    # the selection lives in the URL, to share
    page.wait_for_function(f"() => location.search.includes('{TEMPERATURE}')", timeout=30000)
    expect(page.get_by_text("Remove every chosen sensor")).to_be_visible(timeout=30000)
    page.wait_for_function(f"({GLYPHS_DRAWN})().some(([kind, n]) => n > 10)", timeout=30000)
    expect(page.get_by_text("Latest values")).to_be_visible()
    assert page.external_requests == []


def test_a_shared_link_restores_the_selection(served_workbench, page):
    url, _ = served_workbench
    page.goto(url + f'/telemetry?subsystem=weather&sensors=["{TEMPERATURE}"]')
    page.wait_for_function(f"({GLYPHS_DRAWN})().some(([kind, n]) => n > 10)", timeout=30000)
    expect(page.locator(".bk-input").first).to_be_visible()


def test_the_page_opens_on_the_default_set_one_panel_per_unit(served_workbench, page):
    url, _ = served_workbench
    page.goto(url + "/telemetry")
    expect(page.get_by_text("telemetry.default_sensors in gic.toml")).to_be_visible(timeout=30000)
    page.wait_for_function(f"({PANELS})().length >= 3", timeout=30000)
    panels = page.evaluate(PANELS)
    assert {label for label, _ in panels} >= {"C", "%", "m/s"}
    assert len({x_range for _, x_range in panels}) == 1  # one time axis for all
    legend = page.locator(".bk-Figure").first.bounding_box()
    assert legend["x"] + legend["width"] <= 1400  # the page is not wider than the window
    # the active range is shown, and a relative range is a state of its own in the URL
    expect(page.locator(".bk-btn-primary", has_text="1d")).to_be_visible()
    page.get_by_role("button", name="7d").click()
    expect(page.locator(".bk-btn-primary", has_text="7d")).to_be_visible(timeout=10000)
    page.wait_for_function("() => location.search.includes('range=7d')", timeout=10000)
    # the latest values: searched on whole words, problems only, key column frozen
    search = page.get_by_placeholder("e.g. wind, detector temperature")
    search.fill("wind")
    search.press("Enter")
    expect(page.get_by_role("gridcell", name="weather-station-ws1-wind-speed")).to_be_visible(
        timeout=10000
    )
    expect(page.get_by_role("gridcell", name="instrument-cagire-cooler-power")).to_have_count(0)
    assert page.locator(".tabulator-frozen").count() > 0
    search.fill("")
    search.press("Enter")
    page.get_by_role("button", name="Problems only").click()
    page.wait_for_function("() => location.search.includes('problems=true')", timeout=10000)
    expect(page.get_by_role("gridcell", name="ok", exact=True)).to_have_count(0, timeout=10000)
    assert page.external_requests == []


def test_a_link_with_a_fixed_range_keeps_its_end(served_workbench, page):
    url, stores = served_workbench
    _, last = stores.status.time_span()
    start = f"{last.replace(microsecond=0) - timedelta(hours=3):%Y-%m-%dT%H:%M:%S}"
    end = f"{last.replace(microsecond=0) - timedelta(hours=1):%Y-%m-%dT%H:%M:%S}"
    page.goto(url + f"/telemetry?range={start}/{end}")
    page.wait_for_function(f"({PANELS})().length >= 1", timeout=30000)
    assert f"range={start}/{end}" in unquote(page.url)
    expect(page.locator(".bk-btn-primary", has_text="1d")).to_have_count(0)
