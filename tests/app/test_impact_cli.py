"""``gic products push --override-retraction``, ``gic calib impact MASTER --format json``
(and ``--queue``) and ``gic products clear-warning``, in a temporary workspace."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from data_access.stores import Stores
from sandbox.sdb import SandboxServer
from tests.app.test_products_cli import BURST, point_at
from tests.data_access.calibration.test_impact import used_by_a_run
from tests.data_access.products.test_retraction import store_notices

MASTER = "bias_DDRAGO1_NONE_20250302.fits"


def gic(ws, *args):
    return main(["--workspace", str(ws), *args])


@pytest.fixture
def ws(tmp_path):
    """A workspace whose burst has its seven products (DT approved), built from a run that
    used the bias in force, that master since certified bad; the burst retracted."""
    root = tmp_path / "ws"
    stores = Stores.open(root)
    _, report_id = used_by_a_run(stores)
    dt = int(
        stores.products.queue(BURST.burst_id).set_index("card").loc["DT_GFT_FGFT", "product_id"]
    )
    stores.products.review.approve(dt, user="ana", comment="ok")
    stores.calibration.certify(report_id, False, comment="stripes", user="ana")
    store_notices(stores.alerts, retracted=True)
    stores.close()
    return root


def test_calib_impact_lists_the_run_and_products_as_json_and_queues_them(ws, capsys):
    assert gic(ws, "calib", "impact", MASTER, "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["master"]["bad"] and report["master"]["why"] == "certified bad"
    assert report["master"]["in_force_now"] == "bias_DDRAGO1_NONE_20250301.fits"
    assert [r["run_id"] for r in report["runs"]] == ["run-1"]
    assert len(report["products"]) == 7 and all(p["warning"] for p in report["products"])
    assert report["requests"] == []
    master_id = str(report["master"]["master_id"])
    assert gic(ws, "calib", "impact", master_id, "--queue", "--user", "ana") == 0
    assert "1 reprocessing queued" in capsys.readouterr().out
    assert gic(ws, "calib", "impact", "nope.fits") == 2
    assert "no master with id or file name 'nope.fits'" in capsys.readouterr().err


def test_clear_warning_needs_a_comment_and_is_logged(ws, capsys):
    stores = Stores.open(ws, read_only=True)
    queue = stores.products.queue(BURST.burst_id).set_index("card")
    stores.close()
    dt = int(queue.loc["DT_GFT_FGFT", "product_id"])
    assert gic(ws, "products", "clear-warning", str(dt), "--comment", " ", "--user", "ana") == 2
    assert "needs a comment" in capsys.readouterr().err
    assert gic(ws, "products", "clear-warning", str(dt), "--comment", "flat", "--user", "ana") == 0
    assert f"product {dt}: warning cleared" in capsys.readouterr().out
    assert gic(ws, "products", "audit", "--burst", BURST.burst_id, "--format", "json") == 0
    actions = json.loads(capsys.readouterr().out)
    assert ("clear warning", "ana", "flat") in [
        (a["action"], a["user_name"], a["comment"]) for a in actions
    ]


@pytest.mark.service
def test_a_retracted_bursts_push_needs_the_override(ws, tmp_path, capsys):
    push = ("products", "push", "--burst", BURST.burst_id, "--user", "alice")
    with SandboxServer(tmp_path / "sdb") as sandbox:
        point_at(ws, sandbox.url)
        capsys.readouterr()
        assert gic(ws, *push) == 1
        said = capsys.readouterr()
        assert f"burst {BURST.burst_id} was retracted" in said.out and "override" in said.out
        assert "with --override-retraction 'why'" in said.err
        assert sandbox.storage.cards() == []
        assert gic(ws, *push, "--override-retraction", "afterglow seen by two telescopes") == 0
        assert ": pushed:" in capsys.readouterr().out
    assert gic(ws, "products", "audit", "--burst", BURST.burst_id, "--format", "json") == 0
    overrides = [
        a for a in json.loads(capsys.readouterr().out) if a["action"] == "retraction override"
    ]
    assert [(a["user_name"], a["comment"]) for a in overrides] == [
        ("alice", "afterglow seen by two telescopes")
    ]
