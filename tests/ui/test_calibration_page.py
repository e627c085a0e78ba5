"""The Bias, Dark and Flat pages in a real browser: the warning for the bad night, and the
detail of a clicked date (the master, its difference image and the difference histogram)."""

import json

import pytest
from playwright.sync_api import expect

from tests.ui.bokeh_js import GLYPHS_DRAWN

pytestmark = pytest.mark.ui


#: ``(title, report_id) => [x, y]``: where on the page the point of that master is drawn in
#: the trend whose title starts with ``title`` (the page scrolled to show it).
POINT_ON_PAGE = """([title, report_id]) => {
  const index = window.Bokeh.index;
  const plot = index.query_one(
    (view) => view.model.type === "Figure" && view.model.title.text.startsWith(title));
  for (const renderer of plot.model.renderers) {
    const row = renderer.data_source.data.report_id?.indexOf(report_id) ?? -1;
    if (renderer.name === "masters" && row >= 0) {
      plot.el.scrollIntoView({block: "center"});
      const glyph = index.find_one(renderer).glyph;
      const canvas = plot.canvas_view.el.getBoundingClientRect();
      return [canvas.left + glyph.sx[row], canvas.top + glyph.sy[row]];
    }
  }
  return null;
}"""


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
    assert any(kind == "Quad" and n > 20 for kind, n in glyphs)  # bins of 0.5 ADU steps
    assert page.external_requests == []


def test_clicking_a_point_shows_its_master(served_workbench, page):
    url, stores = served_workbench
    bad = _bad(stores, "dark")
    page.goto(url + "/dark")
    expect(page.get_by_text("invalid master dark(s)")).to_be_visible(timeout=30000)
    page.wait_for_function(f"({GLYPHS_DRAWN})().filter(([kind]) => kind === 'Scatter').length")
    args = json.dumps(["MEDIANDIF", int(bad["report_id"])])
    x, y = page.evaluate(f"({POINT_ON_PAGE})({args})")
    page.mouse.click(x, y)
    expect(page.get_by_role("heading", name=bad["im_name"])).to_be_visible(timeout=20000)
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


def test_banner_cards_confirmations_and_the_detail_in_view(served_workbench, page):
    url, stores = served_workbench
    bad = _bad(stores, "flat")  # DDRAGO2 r
    night = f"{bad['night']:%Y-%m-%d}"
    page.goto(url + f"/flat?instrument=DDRAGO1&filter=r&start={night}&end={night}")
    expect(page.get_by_text("passed.")).to_be_visible(timeout=30000)  # not DDRAGO2's flat
    expect(page.get_by_text("invalid master flat(s)")).to_have_count(0)
    expect(page.get_by_text("In force:").first).to_be_visible()
    expect(page.get_by_text("flat DDRAGO1 r", exact=True)).to_be_visible()
    page.goto(url + f"/flat?instrument=DDRAGO2&filter=r&start={night}&end={night}")
    page.get_by_role("gridcell", name=bad["im_name"], exact=True).click()
    heading = page.get_by_role("heading", name=bad["im_name"])
    expect(heading).to_be_in_viewport(timeout=20000)  # brought into view, not below the fold
    expect(page.get_by_text("Compared with the reference")).to_be_visible()
    page.get_by_role("button", name="Mark good (puts it in force)").click()
    expect(page.get_by_text(f"of night {night}, DDRAGO2 r").first).to_be_visible(timeout=10000)
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("button", name="Yes, put it in force")).to_have_count(0)
    page.get_by_role("button", name="Mark bad (takes it out of use)").click()
    question = page.get_by_text(f"of night {night}, DDRAGO2 r ({bad['im_name']}) bad and take")
    expect(question).to_be_visible(timeout=10000)
    expect(page.get_by_role("button", name="Yes, mark it bad")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("button", name="Yes, mark it bad")).to_have_count(0)
    assert page.external_requests == []


def test_a_failing_action_says_what_failed_in_words_not_the_exception(
    served_workbench, page, monkeypatch
):
    url, stores = served_workbench
    bad = _bad(stores, "dark")

    def broken(*args, **kwargs):
        raise KeyError("/srv/secret/calibration_report")

    monkeypatch.setattr(stores.calibration, "certify", broken)
    page.goto(url + "/dark")
    page.get_by_role("gridcell", name=bad["im_name"], exact=True).click(timeout=30000)
    page.get_by_role("button", name="Mark bad (takes it out of use)").click(timeout=20000)
    page.get_by_role("button", name="Yes, mark it bad").click()
    said = page.get_by_text("The certification failed: an unexpected error stopped it (logged")
    expect(said.first).to_be_visible(timeout=10000)  # under the form and as a toast
    content = page.content()
    assert "/srv/secret" not in content and "KeyError" not in content
    assert page.external_requests == []
