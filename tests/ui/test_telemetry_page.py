"""The Telemetry page in a real browser: pick a sensor, see a plot with data in it."""

import pytest
from playwright.sync_api import expect

from tests.ui.bokeh_js import GLYPHS_DRAWN

pytestmark = pytest.mark.ui

TEMPERATURE = "weather-station-ws1-air-temperature"


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
    page.get_by_text(TEMPERATURE, exact=True).last.click()
    page.keyboard.press("Escape")
    page.wait_for_function(f"({GLYPHS_DRAWN})().some(([kind, n]) => n > 10)", timeout=30000)
    assert TEMPERATURE in page.url  # the selection lives in the URL, to share
    expect(page.get_by_text("Latest values")).to_be_visible()
    assert page.external_requests == []


def test_a_shared_link_restores_the_selection(served_workbench, page):
    url, _ = served_workbench
    page.goto(url + f'/telemetry?subsystem=weather&sensors=["{TEMPERATURE}"]')
    page.wait_for_function(f"({GLYPHS_DRAWN})().some(([kind, n]) => n > 10)", timeout=30000)
    expect(page.locator(".bk-input").first).to_be_visible()
