"""The review of product versions: approve and reject, by state, audited."""

from __future__ import annotations

import pytest
from astropy.time import Time

from analysis.products import Burst
from analysis.products.synthetic import synthetic_photometry
from data_access.products.review import ProductStateError

BURST = Burst("sb26030512", Time("2026-03-05T04:10:00", scale="utc"), 150.0, 20.0, 0.05)


@pytest.fixture
def built(stores):
    products = stores.products
    products.build(BURST, synthetic_photometry(BURST, n_images=3), user="ana")
    return products


def test_approve_and_reject_follow_the_states_and_are_audited(built):
    queue = built.queue(BURST.burst_id).set_index("card")
    dt = int(queue.loc["DT_GFT_FGFT", "product_id"])
    assert built.review.approve(dt, user="ana", comment="looks right")["state"] == "approved"
    with pytest.raises(
        ProductStateError, match="DT_GFT_FGFT v1 of sb26030512 is approved; approve needs"
    ):
        built.review.approve(dt, user="bob")
    assert built.review.reject(dt, user="bob", comment="wrong filter")["state"] == "rejected"
    with pytest.raises(ValueError, match="needs a user"):
        built.review.approve(dt, user="")
    log = built.audit(BURST.burst_id, product_id=dt)
    assert list(log["action"]) == ["build", "approve", "reject"]
    assert list(log["user_name"]) == ["ana", "ana", "bob"]
    assert list(log["comment"])[1:] == ["looks right", "wrong filter"]


def test_a_product_with_deviations_cannot_be_approved(built, stores):
    row = built.queue(BURST.burst_id).iloc[0]
    stores.cache.execute(
        "UPDATE product SET n_deviations = 2 WHERE product_id = ?", [int(row["product_id"])]
    )
    with pytest.raises(ProductStateError, match="2 deviation"):
        built.review.approve(int(row["product_id"]), user="ana")
