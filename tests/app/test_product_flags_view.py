"""The product review of a retracted burst (the push refused until the override is ticked
with a comment) and of a product built with a master certified bad (its warning, cleared
with a comment), no browser."""

from __future__ import annotations

import dataclasses

import pytest

from app.auth import PermissionDenied
from app.views.product_flags import burst_flags
from app.views.products import ProductsDesk
from data_access.users import User
from tests.app.test_products_view import ALICE, BOB, BURST, SARA
from tests.data_access.calibration.test_impact import used_by_a_run
from tests.data_access.products.test_retraction import AcceptingClient, store_notices
from tests.data_access.test_frame_quality import FRAME


class Sdb(AcceptingClient):
    base_url = "http://127.0.0.1:9/sdb"

    def close(self) -> None:
        pass


def desk_for(stores, user: User) -> ProductsDesk:
    queue = stores.products.queue(BURST.burst_id).set_index("card")
    return ProductsDesk(
        stores.products,
        client_factory=Sdb,
        user=user,
        burst_id=BURST.burst_id,
        product_id=int(queue.loc["DT_GFT_FGFT", "product_id"]),
    )


@pytest.fixture
def flagged(stores):
    """The burst's products built with a master since certified bad, DT approved, and the
    burst retracted."""
    _, report_id = used_by_a_run(stores)
    stores.calibration.certify(report_id, False, comment="stripes", user="ana")
    dt = int(
        stores.products.queue(BURST.burst_id).set_index("card").loc["DT_GFT_FGFT", "product_id"]
    )
    stores.products.review.approve(dt, user="ana", comment="ok")
    store_notices(stores.alerts, retracted=True)
    return stores


def test_a_retracted_bursts_push_waits_for_the_override_and_its_comment(flagged):
    review = desk_for(flagged, ALICE).review
    refusal = review.why_not()["Push"]
    assert refusal.startswith(f"burst {BURST.burst_id} was retracted (ivo://")
    assert refusal.endswith("tick 'Override the retraction' and say why in the comment")
    assert review.flags._retraction.visible and review._buttons["Push"].disabled
    review.flags.override = True
    assert review.why_not()["Push"] != ""  # no comment yet
    review.comment = "afterglow confirmed by two telescopes"
    assert review.why_not()["Push"] == "" and not review._buttons["Push"].disabled
    question = review.ask("Push")
    assert f"Burst {BURST.burst_id} was retracted" in question and "with your override" in question
    assert "Warning: DT_GFT_FGFT_sb26030512_v01.fits: built by run run-1 with" in question
    review.confirm()
    assert not review.failed, review.message
    actions = flagged.products.audit(product_id=review.selection.product_id)["action"]
    assert list(actions)[-3:] == ["retraction override", "push started", "push"]


def test_a_products_warning_is_shown_and_cleared_with_a_comment(flagged):
    assert desk_for(flagged, BOB).review.flags._clear.disabled
    review = desk_for(flagged, SARA).review
    flags = review.flags
    assert "built by run run-1 with bias_DDRAGO1_NONE_20250302.fits (certified bad)" in (
        flags.warning()
    )
    assert flags._warning.visible and not flags._clear.disabled
    review._clicked(flags.clear_warning, "Clear the warning")
    assert review.failed and "needs a comment" in review.message
    review.comment = "this bias is fine where the source is"
    flags.clear_warning()
    assert review.message == "The warning of DT_GFT_FGFT_sb26030512_v01.fits cleared by sara."
    assert flags.warning() == "" and not flags._warning.visible
    with pytest.raises(PermissionDenied, match="bob may not clear a product's warning"):
        desk_for(flagged, BOB).review.flags.clear_warning()


def test_the_products_list_and_the_dossier_say_both_above_the_products(flagged):
    said = [alert.object for alert in burst_flags(flagged.products.queue(BURST.burst_id))]
    assert len(said) == 2 and f"Burst {BURST.burst_id} was retracted" in said[0]
    assert said[1].startswith("7 product(s) built with a master found bad since")
    flagged.products.warnings.clear(
        int(flagged.products.queue(BURST.burst_id)["product_id"].iloc[0]), user="sara", comment="ok"
    )
    assert "6 product(s)" in burst_flags(flagged.products.queue(BURST.burst_id))[1].object


def test_a_product_built_from_frames_outside_the_quality_limits_says_so(flagged):
    blurred = dataclasses.replace(FRAME, image_id="f2", fwhm_arcsec=4.0)
    flagged.quality.record([FRAME, blurred], run_id="run-1")
    flags = desk_for(flagged, SARA).review.flags
    assert flags.quality().startswith("1 of 2 frames, f2 (FWHM 4.0")
    flags.show()
    assert flags._quality.visible and "outside the [quality] limits" in flags._quality.object
    flagged.products.quality = None  # a store without the frames' quality: no note
    assert flags.quality() == ""
