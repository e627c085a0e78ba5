"""The review and the master detail name the lake snapshot a record was made from, with the
command that reads the cache as it was then."""

from __future__ import annotations

import math

from app.views.product_review import ProductReview
from pipelines.master_impact import describe_impact


def test_the_review_names_the_snapshot_of_the_version():
    record = {"file_name": "DT_sb1_v1.fits", "burst_id": "sb1<b>", "lake_snapshot": 12}
    text = ProductReview._provenance(record)
    assert "Made from lake snapshot 12" in text
    assert "<code>gic --at 12 products list --burst sb1" in text.replace("\\", "")
    assert "<b>" not in text  # the burst id is escaped
    assert "snapshot" not in ProductReview._provenance({**record, "lake_snapshot": math.nan})


def test_the_master_detail_names_the_snapshot_of_its_promotion():
    master = {"master_id": 3, "path": "a/bias.fits", "bad": False, "status": "master"}
    report = {"master": {**master, "in_force_now": "", "lake_snapshot": 40}, "runs": []}
    lines = describe_impact({**report, "products": [], "requests": []})
    assert lines[-1].startswith("promoted from lake snapshot 40: `gic --at 40 calib impact 3`")
