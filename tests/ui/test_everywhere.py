"""What every page shares, in a real browser: the 404 page's navigation, and tables that fit
the window with their key column frozen and a filter on long ones."""

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.ui


def test_an_address_that_is_no_page_says_so_and_links_every_page(served_workbench, page):
    url, _ = served_workbench
    answer = requests.get(url + "/no-such-page/<b>x</b>", timeout=30)
    assert answer.status_code == 404 and "<b>x</b>" not in answer.text
    page.goto(url + "/nosuchpage")
    expect(page.get_by_role("heading", name="No page at this address")).to_be_visible()
    page.get_by_role("link", name="Bias").click()
    expect(page.get_by_text("invalid master bias(s)")).to_be_visible(timeout=30000)
    assert page.external_requests == []


def test_a_long_table_fits_the_window_its_key_frozen_and_filtered(served_workbench, page):
    url, _ = served_workbench
    page.goto(url + "/telemetry")
    table = page.locator(".tabulator").first
    expect(table).to_be_visible(timeout=30000)
    box = table.bounding_box()
    assert box["x"] + box["width"] <= page.viewport_size["width"]
    expect(page.locator(".tabulator-frozen[tabulator-field='name']").first).to_be_visible()
    name_filter = page.locator(
        ".tabulator-col[tabulator-field='name'] .tabulator-header-filter input"
    ).first
    name_filter.fill("cagire-detector")
    name_filter.press("Enter")
    expect(
        page.get_by_role("gridcell", name="instrument-cagire-detector-temperature")
    ).to_be_visible(timeout=10000)
    expect(
        page.get_by_role("gridcell", name="instrument-ddrago1-detector-temperature")
    ).to_have_count(0)
    assert page.external_requests == []
