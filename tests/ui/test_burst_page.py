"""The Burst page in a browser: a burst's dossier opened from the Alerts page, with its
notices, its frames' masters and its products; a malformed ID said in words."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui


def _open_dossier_from_alerts(page, url: str, burst_id: str) -> None:
    page.goto(f"{url}/alerts?burst={burst_id}")
    page.get_by_role("link", name=burst_id, exact=True).first.click(timeout=30000)
    heading = page.get_by_role("heading", name=f"Burst {burst_id}")
    expect(heading).to_be_visible(timeout=30000)
    assert page.url.endswith(f"/burst?id={burst_id}")


def test_a_dossier_from_the_alerts_page_has_notices_masters_and_products(
    served_workbench, demo_bursts, page
):
    url, _ = served_workbench
    burst = demo_bursts.reprocess
    _open_dossier_from_alerts(page, url, burst)
    notices = page.locator(".tabulator").filter(has_text="arrival_to_trigger_s")
    expect(notices.locator(".tabulator-row")).to_have_count(2, timeout=20000)
    masters = page.locator(".tabulator").filter(has_text="in_force_now")
    night = demo_bursts.reprocess_t0 - timedelta(days=1)  # T0 at 06:00 UTC: the night before
    expect(masters.get_by_text(f"flat_DDRAGO1_g_{night:%Y%m%d}.fits").first).to_be_visible()
    expect(page.get_by_text(f"burst_id = {burst}")).to_be_visible()

    _open_dossier_from_alerts(page, url, demo_bursts.products)
    products = page.locator(".tabulator").filter(has_text="n_deviations")
    expect(products.get_by_text("approved").first).to_be_visible(timeout=20000)
    assert page.external_requests == []


def test_a_malformed_id_is_said_in_words(served_workbench, page):
    url, _ = served_workbench
    page.goto(f"{url}/burst?id=%3Cb%3Ebold%3C%2Fb%3E")
    expect(page.get_by_text("'<b>bold</b>' is not a burst ID")).to_be_visible(timeout=30000)
    assert page.locator("b", has_text="bold").count() == 0
