"""The Products page in a browser on a retracted burst's product: the retraction said above
the review, and the push disabled with the sentence that says what it waits for."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from analysis.products.synthetic import synthetic_photometry
from data_access.alerts.bursts import BurstQueries
from pipelines.reprocess import alert_burst

pytestmark = pytest.mark.ui


def retracted_product(stores) -> tuple[str, int]:
    """The demo's retracted burst with its products built, all approved (nothing left new
    for the other tests' review); returns the burst and its DT's id."""
    alerts = stores.alerts
    bursts = BurstQueries(alerts.cache, alerts.triggers_dir).bursts(include_tests=False)
    burst_id = str(bursts.loc[bursts["retracted"].astype(bool), "burst_id"].iloc[0])
    products = stores.products
    if products.queue(burst_id).empty:
        burst = alert_burst(alerts, burst_id)
        products.build(burst, synthetic_photometry(burst, n_images=3), user="demo")
        for product_id in products.queue(burst_id)["product_id"]:
            products.review.approve(int(product_id), user="demo", comment="test")
    queue = products.queue(burst_id).set_index("card")
    return burst_id, int(queue.loc["DT_GFT_FGFT", "product_id"])


def test_a_retracted_bursts_push_says_why_it_waits(served_workbench, page):
    url, stores = served_workbench
    burst_id, product_id = retracted_product(stores)
    page.goto(f"{url}/products?burst={burst_id}&product={product_id}")
    expect(page.locator(".product-state")).to_have_text("approved", timeout=30000)
    expect(page.get_by_role("button", name="Push", exact=True)).to_be_disabled()
    why = page.locator(".review-why-not")
    expect(why).to_contain_text(f"Push is unavailable: burst {burst_id} was retracted (ivo://")
    expect(why).to_contain_text("tick 'Override the retraction' and say why in the comment")
    said = page.get_by_text(f"Burst {burst_id} was retracted (ivo://").first
    expect(said).to_contain_text("its products are pushed only with an approver's override")
    expect(page.get_by_text("Override the retraction", exact=True)).to_be_visible()
    assert page.external_requests == []
