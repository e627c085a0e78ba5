"""Where a master went, under its detail on the calibration page (no browser): a master
certified bad lists the run and the products it served, and queues their reprocessing
after a confirmation, for a user with the role only."""

from __future__ import annotations

import panel as pn
import pytest

from app.views.calibration_master import MasterDetail
from app.views.master_impact import MasterImpactView
from tests.app.shown import shown_text
from tests.app.test_products_view import BOB, SARA
from tests.data_access.calibration.test_impact import used_by_a_run


@pytest.fixture
def bad_report(stores) -> int:
    """The report of a master a run used, since certified bad."""
    _, report_id = used_by_a_run(stores)
    stores.calibration.certify(report_id, False, comment="stripes", user="ana")
    return report_id


def view_for(stores, user, report_id) -> MasterImpactView:
    return MasterImpactView(
        stores.calibration, user=lambda: user, runs=stores.reprocess, report_id=report_id
    )


def test_a_bad_master_lists_its_run_and_products_and_queues_them(stores, bad_report):
    view = view_for(stores, SARA, bad_report)
    report = view.report()
    assert [r["run_id"] for r in report["runs"]] == ["run-1"] and len(report["products"]) == 7
    shown = view._shown()
    texts = [shown_text(part) for part in shown[:2]]
    assert "Where this master went" in texts[0] and "certified bad" in texts[0]
    assert "7 product version(s) of sb26030512 carry this master's warning" in texts[1]
    assert not view._ask.disabled and not view._confirmation.visible
    view.confirming = True
    assert view._confirmation.visible and "Queue the 1 run(s) that used" in shown_text(
        view._question
    )
    view._queue_clicked()
    assert not view.failed and view.message.startswith("1 run(s) queued for reprocessing by sara")
    assert stores.impact.requests()["run_id"].tolist() == ["run-1"]
    view._queue_clicked()
    assert view.message.startswith("0 run(s) queued") and "(1 already queued)" in view.message


def test_a_viewer_may_not_queue_and_a_report_alone_shows_nothing(stores, bad_report):
    view = view_for(stores, BOB, bad_report)
    view._shown()
    assert view._ask.disabled
    view._queue_clicked()
    assert view.failed and "bob may not queue reprocessing" in view.message
    assert stores.impact.requests().empty
    assert view_for(stores, SARA, None).report() is None


def test_the_masters_detail_shows_where_it_went_and_follows_its_certification(stores):
    _, report_id = used_by_a_run(stores)
    detail = MasterDetail(stores.calibration, report_id=report_id)
    assert detail.impact._ask in detail.__panel__().select(pn.widgets.Button)
    assert not detail.impact.report()["master"]["bad"]
    detail.comment = "stripes"
    detail.certify(False)
    assert detail.impact.report()["master"]["why"] == "certified bad"
    assert "7 product version(s)" in shown_text(detail.impact._shown()[1])
    detail.report_id = None
    assert detail.impact.report() is None
