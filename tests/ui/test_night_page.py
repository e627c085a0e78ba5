"""The Night page in a browser: the newest night's frames with the trailed ones flagged, the
trends of the filter in the URL, and a night that is not one said in words."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui


def test_a_night_shows_its_frames_flagged_and_the_trends_asked_for(served_workbench, page):
    url, stores = served_workbench
    night = stores.quality.nights()[0]
    page.goto(f"{url}/night?night={night:%Y%m%d}&instrument=DDRAGO2&filter=z")
    expect(page.get_by_text(f"Night {night:%Y-%m-%d}")).to_be_visible(timeout=30000)
    frames = page.locator(".tabulator").filter(has_text="outside")
    expect(frames.get_by_text("ellipticity 0.42 > 0.3").first).to_be_visible(timeout=20000)
    expect(page.get_by_text("Trends of DDRAGO2 z over 30 nights")).to_be_visible()
    expect(page.locator(".bk-Canvas, canvas").first).to_be_attached()
    assert page.external_requests == []


def test_a_night_that_is_not_one_is_said_in_words(served_workbench, page):
    url, _ = served_workbench
    page.goto(f"{url}/night?night=%3Cb%3Ebold%3C%2Fb%3E&instrument=%3Ci%3Ex%3C%2Fi%3E")
    expect(page.get_by_text("<b>bold</b> is not a night (YYYYMMDD).")).to_be_visible(timeout=30000)
    assert page.locator("b", has_text="bold").count() == 0
