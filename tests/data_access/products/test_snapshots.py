"""Snapshots as provenance: an approval names the lake snapshot it was made from, and the
cache reads as it was then (``Stores.open(ws, at=N)``, ``gic --at N``)."""

from __future__ import annotations

import json

from app.cli import main
from data_access.stores import Stores
from tests.data_access.products.conftest import BURST


def test_an_approval_names_the_snapshot_it_was_made_from(approved, stores, capsys):
    products, dt = approved
    approval = products.audit(BURST.burst_id, product_id=dt).iloc[-1]
    assert approval["action"] == "approve"
    seen = int(approval["lake_snapshot"])
    assert 0 < int(products.record(dt)["lake_snapshot"]) < seen < stores.cache.snapshot()
    products.review.reject(dt, user="bob", comment="later: wrong filter")

    past = Stores.open(stores.workspace, at=seen)
    try:
        assert past.cache.read_only and past.cache.snapshot() == seen
        assert past.products.record(dt)["state"] == "new"  # what the reviewer saw
    finally:
        past.close()
    assert products.record(dt)["state"] == "rejected"

    root = str(stores.workspace.root)
    assert (
        main(["--workspace", root, "--at", str(seen), "products", "list", "--format", "json"]) == 0
    )
    then = {row["product_id"]: row for row in json.loads(capsys.readouterr().out)}
    assert then[dt]["state"] == "new" and then[dt]["lake_snapshot"] < seen


def test_a_write_at_a_snapshot_is_refused(approved, stores, capsys):
    products, dt = approved
    root, seen = str(stores.workspace.root), stores.cache.snapshot()
    argv = ["--workspace", root, "--at", str(seen), "products", "reject", str(dt), "--user", "bob"]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert f"read as it was at snapshot {seen}" in error and "without --at" in error
    assert products.record(dt)["state"] == "approved"
