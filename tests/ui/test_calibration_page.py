"""The Bias, Dark and Flat pages in a real browser: the warning for the bad night, and the
detail of a clicked date (the master, its difference image and the difference histogram)."""

import pytest
from playwright.sync_api import expect

from tests.ui.bokeh_js import GLYPHS_DRAWN

pytestmark = pytest.mark.ui


def _bad(stores, caltype):
    return stores.calibration.invalid(caltype=caltype).iloc[0]


def test_bias_page_warns_and_shows_a_clicked_master(served_workbench, page):
    url, stores = served_workbench
    bad = _bad(stores, "bias")
    page.goto(url + "/bias")
    warning = page.get_by_text("invalid master bias(s)")
    expect(warning).to_be_visible(timeout=30000)
    expect(page.get_by_text(bad["im_name"]).first).to_be_visible()
    night = f"{bad['night']:%Y-%m-%d} DDRAGO1"
    expect(page.get_by_text(night).first).to_be_visible()
    page.get_by_role("gridcell", name=bad["im_name"], exact=True).click()
    expect(page.get_by_role("heading", name=bad["im_name"])).to_be_visible(timeout=20000)
    expect(page.get_by_text("MEANDIFF 4.0").last).to_be_visible()
    expect(page.get_by_role("button", name="Mark good")).to_be_visible()
    page.wait_for_function(
        f"({GLYPHS_DRAWN})().filter(([kind, n]) => kind === 'Image' && n > 0).length >= 2",
        timeout=20000,
    )  # the master and its difference image
    glyphs = page.evaluate(GLYPHS_DRAWN)
    assert any(kind == "Quad" and n > 50 for kind, n in glyphs)  # the histogram's bins
    assert page.external_requests == []


def test_flat_page_restores_a_shared_selection(served_workbench, page):
    url, stores = served_workbench
    bad = _bad(stores, "flat")
    night = f"{bad['night']:%Y-%m-%d}"
    page.goto(url + f"/flat?instrument=DDRAGO2&filter=r&start={night}&end={night}")
    expect(page.get_by_text("invalid master flat(s)")).to_be_visible(timeout=30000)
    expect(page.get_by_role("gridcell", name=bad["im_name"], exact=True)).to_be_visible()
    expect(page.get_by_role("gridcell", name="DDRAGO1", exact=True)).to_have_count(0)
    assert page.external_requests == []
