"""The Alerts page in a browser: one row per burst, a retracted burst greyed and marked,
a burst's detail with its notices newest first and its observability."""

import re

import pytest
from playwright.sync_api import expect

from data_access.alerts.bursts import BurstQueries

pytestmark = pytest.mark.ui


def test_one_row_per_burst_and_a_retracted_bursts_detail(served_workbench, page):
    url, stores = served_workbench
    bursts = BurstQueries(stores.alerts.cache, stores.alerts.triggers_dir).bursts()
    page.goto(url + "/alerts")
    expect(page.get_by_text("Alerts, newest first")).to_be_visible(timeout=30000)
    table = page.locator(".tabulator").first
    rows = table.locator(".tabulator-row")
    expect(rows).to_have_count(min(len(bursts), 12), timeout=30000)
    for burst in bursts["burst_id"].head(12):
        expect(table.get_by_role("gridcell", name=burst, exact=True)).to_have_count(1)

    retracted = bursts[bursts["retracted"]].head(12)["burst_id"].iloc[0]
    row = rows.filter(has=page.get_by_role("gridcell", name=retracted, exact=True))
    expect(row.get_by_role("gridcell", name=re.compile("RETRACTED"))).to_be_visible()
    grey = row.get_by_role("gridcell", name=retracted, exact=True).evaluate(
        "cell => getComputedStyle(cell).color"
    )
    assert grey == "rgb(158, 158, 158)"

    row.get_by_role("gridcell", name=retracted, exact=True).click()
    heading = page.get_by_role("heading", name=f"{retracted} RETRACTED", exact=True)
    expect(heading).to_be_visible(timeout=30000)
    notices = int(bursts.set_index("burst_id").loc[retracted, "notices"])
    packets = page.locator(".tabulator").filter(has_text="arrival → trigger file (s)")
    expect(packets.locator(".tabulator-row")).to_have_count(notices, timeout=20000)
    expect(page.get_by_text("Seen from").first).to_be_visible()
    expect(page.get_by_text("Packet_Type").first).to_be_visible()  # the newest notice's Params
    assert f"burst={retracted}" in page.url
    assert page.external_requests == []
