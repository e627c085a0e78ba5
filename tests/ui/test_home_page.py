"""The home page in a browser: it opens with what needs attention, and an item's link leads
to the page where it is fixed."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui


def test_an_attention_item_links_to_the_products_awaiting_approval(
    served_workbench, demo_bursts, page
):
    url, _ = served_workbench
    burst = demo_bursts.products
    page.goto(url + "/")
    expect(page.get_by_text("What needs attention now")).to_be_visible(timeout=30000)
    expect(page.get_by_text(f"6 products of {burst} await approval.")).to_be_visible()
    page.get_by_role("link", name=f"products: {burst}", exact=True).click()
    page.wait_for_url(f"**/products?burst={burst}", timeout=30000)
    expect(page.get_by_text(f"Products of {burst}").first).to_be_visible(timeout=30000)
    assert page.external_requests == []
