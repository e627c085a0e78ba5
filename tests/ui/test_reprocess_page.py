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


def _two_runs_to_compare(stores, folder: str) -> tuple[str, str]:
    """A full run of the folder and a copy of it whose magnitudes are 0.05 mag fainter."""
    import json
    import shutil

    import pandas as pd

    from app.views.reprocess import ReprocessDesk

    desk = ReprocessDesk.from_stores(stores, client_factory=lambda: None)
    desk.folder = folder
    first = desk.run_now()
    second = first + "-copy"
    target = stores.reprocess.runs_dir / second
    shutil.copytree(stores.reprocess.runs_dir / first, target)
    meta = json.loads((target / "run.json").read_text("utf-8"))
    meta["run_id"], meta["parameters"]["detect_thresh"] = second, 5.0
    (target / "run.json").write_text(json.dumps(meta), "utf-8")
    photometry = pd.read_csv(target / "photometry.csv")
    photometry["mag"] += 0.05
    photometry.to_csv(target / "photometry.csv", index=False)
    return first, second


def test_folder_words_parameter_help_delta_mag_review_link_and_stop(served_workbench, page):
    url, stores = served_workbench
    burst = stores.reprocess.folders().query("burst_id.str.startswith('sb')").iloc[0]
    first, second = _two_runs_to_compare(stores, burst["path"])
    page.goto(
        url + f"/reprocess?folder={burst['path']}&run={second}&compare={first}", timeout=60000
    )
    typed = page.get_by_label("Or a folder's path")
    expect(typed).to_be_visible(timeout=30000)
    expect(page.get_by_text("ps (deg/pixel)", exact=True)).to_be_visible()
    expect(page.get_by_text("aperture (FWHM)", exact=True)).to_be_visible()
    missing = str(stores.reprocess.input_dir / "no-such-night")
    typed.fill(missing)
    typed.press("Enter")
    sidebar = page.locator("#sidebar")
    expect(sidebar.get_by_text(f"'{missing}' does not exist: check the path")).to_be_visible(
        timeout=60000
    )
    typed.fill(burst["path"])
    typed.press("Enter")
    expect(sidebar.get_by_text(f"'{missing}' does not exist")).to_have_count(0, timeout=20000)
    page.get_by_text("Compare runs", exact=True).click()
    expect(page.get_by_text("Δmag", exact=True).first).to_be_visible(timeout=20000)
    expect(page.get_by_text("median Δmag", exact=True).first).to_be_visible()
    page.get_by_role("button", name="Save as product version").click()
    link = page.get_by_role("link", name=f"Review queue of {burst['burst_id']}")
    expect(link).to_be_visible(timeout=30000)
    assert link.get_attribute("href") == f"./products?burst={burst['burst_id']}"
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_disabled()
    page.get_by_role("button", name="Run", exact=True).click()
    expect(stop).to_be_enabled(timeout=20000)
    stop.click()
    expect(page.get_by_text("stopped on request")).to_be_visible(timeout=60000)
    assert len(stores.reprocess.runs()) >= 2 and page.external_requests == []
