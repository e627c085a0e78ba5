"""The Reprocess page in a real browser: a two-step reprocessing (reduction + findstars) of
the demo burst, its progress, and the sources drawn over the reduced frame."""

import pytest
from playwright.sync_api import expect

from tests.ui.bokeh_js import GLYPHS_DRAWN

pytestmark = pytest.mark.ui


SKIPPED = ("cosmics", "alignment", "photometry", "subtraction", "summary")


def test_two_step_reprocessing_draws_the_sources(served_workbench, page):
    url, stores = served_workbench
    burst = stores.reprocess.folders().query("burst_id.str.startswith('sb')").iloc[0]
    page.goto(url + "/reprocess")
    source = page.get_by_label("Burst or folder")
    expect(source).to_be_visible(timeout=30000)
    source.select_option(label=f"{burst['burst_id']} ({burst['n_images']} images)")
    expect(page.get_by_role("img", name=f"{burst['burst_id']}_DDRAGO1_g_001")).to_be_visible(
        timeout=20000
    )  # the thumbnails
    for step in SKIPPED:
        page.get_by_label(step, exact=True).uncheck()
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_text(" done.")).to_be_visible(timeout=60000)
    expect(page.get_by_text("Steps: reduction, findstars")).to_be_visible(timeout=20000)
    page.wait_for_function(
        f"({GLYPHS_DRAWN})().some(([kind, n]) => kind === 'Scatter' && n > 20)", timeout=20000
    )  # the sources, over the reduced frame
    glyphs = page.evaluate(GLYPHS_DRAWN)
    assert any(kind == "Image" and n > 0 for kind, n in glyphs)
    run = stores.reprocess.runs().iloc[0]
    assert run["steps"] == "reduction, findstars" and run["failures"] == 0
    assert page.external_requests == []
