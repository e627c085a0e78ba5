"""Fixtures of the product store's tests."""

from __future__ import annotations

import pytest
from astropy.time import Time

from analysis.products import Burst
from analysis.products.synthetic import synthetic_photometry

#: The generated burst of :func:`approved`.
BURST = Burst("sb26030512", Time("2026-03-05T04:10:00", scale="utc"), 150.0, 20.0, 0.05)


@pytest.fixture
def approved(stores):
    """The seven products of a generated burst, DT approved; returns (store, DT's id)."""
    products = stores.products
    products.build(BURST, synthetic_photometry(BURST, n_images=3), user="ana")
    dt = int(products.queue(BURST.burst_id).set_index("card").loc["DT_GFT_FGFT", "product_id"])
    products.review.approve(dt, user="ana", comment="ok")
    return products, dt
