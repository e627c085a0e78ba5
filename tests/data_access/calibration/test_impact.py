"""Where each master went: a run's masters recorded, a master certified bad listing the run
and the product versions built from it, their warning until rebuilt or cleared with a
comment, and the reprocessing queued once per run."""

from __future__ import annotations

import pytest
from astropy.time import Time

from analysis.products import Burst
from analysis.products.synthetic import synthetic_photometry
from data_access.calibration.impact import record_product_run
from data_access.calibration.store import CalibrationStoreError
from tests.data_access.calibration.test_store import add_night

BURST = Burst("sb26030512", Time("2026-03-05T04:10:00", scale="utc"), 150.0, 20.0, 0.05)


def bias_use(path) -> dict:
    return {"caltype": "bias", "instrument": "DDRAGO1", "filter": "NONE", "file": str(path)}


def used_by_a_run(stores) -> tuple[int, int]:
    """Two bias masters (the second in force), a run ``run-1`` that used it and the seven
    products built from the run; returns the master's id and its report's id."""
    add_night(stores.calibration, 1000, "2025-03-01", seed=1)
    master_id, report_id = add_night(stores.calibration, 1000.2, "2025-03-02", seed=2)
    in_force = stores.calibration.in_force("bias", "DDRAGO1", "NONE")
    stores.impact.record_run("run-1", BURST.burst_id, [{**bias_use(in_force), "n_images": 8}])
    built = stores.products.build(BURST, synthetic_photometry(BURST, n_images=3), user="ana")
    record_product_run(stores.cache, "run-1", built["product_id"])
    return master_id, report_id


@pytest.fixture
def served(stores):
    """:func:`used_by_a_run`; returns (stores, the master's id, its report's id)."""
    return stores, *used_by_a_run(stores)


def test_a_run_records_its_master_by_its_history_entry_once(served):
    stores, master_id, _ = served
    runs = stores.impact.runs(master_id)
    assert runs["run_id"].tolist() == ["run-1"] and runs["n_images"].tolist() == [8]
    assert (
        runs["history_entry"].iloc[0] == "DDRAGO1/NONE/bias/history/bias_DDRAGO1_NONE_20250302.fits"
    )
    assert 0 < runs["lake_snapshot"].iloc[0] < stores.cache.snapshot()  # the lake it read
    copy = stores.workspace.root / "elsewhere" / "bias_DDRAGO1_NONE_20250302.fits"
    assert (
        stores.impact.record_run("run-1", BURST.burst_id, [{**bias_use(copy), "n_images": 1}]) == 0
    )
    assert (
        stores.impact.record_run("run-2", BURST.burst_id, [{**bias_use(copy), "n_images": 1}]) == 1
    )
    assert stores.impact.runs(master_id)["run_id"].tolist() == ["run-2", "run-1"]  # by its name


def test_a_master_certified_bad_lists_the_run_and_the_products_it_served(served):
    stores, master_id, report_id = served
    name = "bias_DDRAGO1_NONE_20250302.fits"
    assert not stores.impact.master(name)["bad"] and stores.products.warnings.standing().empty
    assert (stores.products.queue(BURST.burst_id)["warning"] == "").all()

    stores.calibration.certify(report_id, False, comment="stripes", user="ana")
    master = stores.impact.master(str(master_id))
    assert master["bad"] and master["why"] == "certified bad" and master["path"].endswith(name)
    products = stores.impact.products(master_id)
    assert len(products) == 7 and products["warning"].all() and set(products["run_id"]) == {"run-1"}
    queue = stores.products.queue(BURST.burst_id)
    assert (
        queue["warning"].str.contains(f"built by run run-1 with {name} \\(certified bad\\)").all()
    )
    assert stores.products.bursts().set_index("burst_id").loc[BURST.burst_id, "warnings"] == 7
    with pytest.raises(CalibrationStoreError, match="no master with id or file name 'nope.fits'"):
        stores.impact.master("nope.fits")


def test_the_warning_is_cleared_with_a_comment_or_by_a_rebuild(served):
    stores, master_id, report_id = served
    stores.calibration.certify(report_id, False, comment="stripes", user="ana")
    dt = int(
        stores.products.queue(BURST.burst_id).set_index("card").loc["DT_GFT_FGFT", "product_id"]
    )
    with pytest.raises(ValueError, match="needs a comment"):
        stores.products.warnings.clear(dt, user="ana", comment="  ")
    assert stores.products.warnings.clear(dt, user="ana", comment="bias is flat here") == [
        master_id
    ]
    entry = stores.products.audit(product_id=dt).iloc[-1]
    assert (entry["action"], entry["user_name"], entry["comment"]) == (
        "clear warning",
        "ana",
        "bias is flat here",
    )
    standing = stores.products.warnings.standing(BURST.burst_id)
    assert len(standing) == 6 and dt not in set(standing["product_id"])
    with pytest.raises(ValueError, match=f"product {dt} carries no warning"):
        stores.products.warnings.clear(dt, user="ana", comment="again")
    cleared = stores.impact.products(master_id).set_index("product_id").loc[dt]
    assert not cleared["warning"] and cleared["cleared_by"] == "ana"

    stores.impact.record_run("run-3", BURST.burst_id, [])
    rebuilt = stores.products.build(BURST, synthetic_photometry(BURST, n_images=4), user="ana")
    record_product_run(stores.cache, "run-3", rebuilt["product_id"])
    assert stores.products.warnings.standing().empty


def test_reprocessing_is_queued_once_per_run(served):
    stores, master_id, report_id = served
    stores.calibration.certify(report_id, False, comment="stripes", user="ana")
    queued = stores.impact.queue_reprocessing(master_id, user="ana", sources={"run-1": "raw/x"})
    assert queued[["request_id", "run_id", "source", "state"]].values.tolist() == [
        [1, "run-1", "raw/x", "queued"]
    ]
    assert stores.impact.queue_reprocessing(master_id, user="ana").empty
    assert len(stores.impact.requests(master_id)) == 1
