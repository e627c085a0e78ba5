"""Products in the workspace: versions, audit log, diff, archive."""

from __future__ import annotations

import json
import zipfile

import pytest
from astropy.time import Time

from analysis.products import PRODUCT_CARDS, Burst
from analysis.products.synthetic import synthetic_photometry
from data_access.products.files import read_product_file

BURST = Burst("sb26030512", Time("2026-03-05T04:10:00", scale="utc"), 150.0, 20.0, 0.05)


@pytest.fixture
def built(stores):
    products = stores.products
    products.build(BURST, synthetic_photometry(BURST, alpha=1.4, n_images=5), user="ana")
    return products


def test_build_writes_seven_valid_files_and_queues_them_as_new(built, workspace):
    queue = built.queue(BURST.burst_id)
    assert sorted(queue["card"]) == sorted(PRODUCT_CARDS.values())
    assert set(queue["state"]) == {"new"} and set(queue["n_deviations"]) == {0}
    folder = workspace.root / "products" / BURST.burst_id
    assert sorted(p.name for p in folder.glob("*.fits")) == sorted(queue["file_name"])
    header = read_product_file(folder / "QTI_GFT_FGFT_sb26030512_v01.fits")[0].header
    assert header["MY_VERS"] == 1 and header["BURST_ID"] == BURST.burst_id
    assert not list(folder.glob(".*.part"))
    assert list(built.bursts()["burst_id"]) == [BURST.burst_id]


def test_the_same_build_twice_makes_no_new_version_and_a_change_makes_one(built):
    again = built.build(BURST, synthetic_photometry(BURST, alpha=1.4, n_images=5), user="ana")
    assert not again["created"].any()
    changed = built.build(BURST, synthetic_photometry(BURST, alpha=1.4, n_images=6), user="ana")
    assert changed["created"].all() and set(changed["version"]) == {2}
    versions = built.versions(BURST.burst_id, "LC_GFT_FGFT")
    assert list(versions["version"]) == [2, 1]
    diff = built.diff(int(versions["product_id"][1]), int(versions["product_id"][0]))
    assert {"extension": "LC_GFT_FGFT", "item": "rows", "old": 20, "new": 24} in diff.to_dict(
        "records"
    )


def test_detail_and_light_curve(built):
    queue = built.queue(BURST.burst_id).set_index("card")
    detail = built.detail(int(queue.loc["PO_GFT_FGFT", "product_id"]))
    assert ("EQUINOX", 2000.0) in [(k, v) for k, v, _ in detail["headers"]["PO_GFT_FGFT"]]
    assert {"RA", "DEC", "GLON", "GLAT", "POSERR"} <= set(detail["tables"]["PO_GFT_FGFT"].columns)
    assert detail["validation"]["valid"] is True
    points, fits_table = built.light_curve(BURST.burst_id)
    assert len(points) == 20 and (points["t_s"] > 0).all()
    assert set(fits_table["FILTER"]) == {"g", "r", "i", "J"}


def test_archive_holds_many_bursts_and_a_manifest(built, tmp_path):
    other = Burst("sb26030601", Time("2026-03-06T01:00:00", scale="utc"), 10.0, -5.0)
    built.build(other, synthetic_photometry(other, n_images=2), user="ana")
    path = built.transfers.archive(
        [BURST.burst_id, other.burst_id], tmp_path / "out" / "products.zip"
    )
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert len(names) == 15 and "sb26030601/DT_GFT_FGFT_sb26030601_v01.fits" in names
    assert {m["burst_id"] for m in manifest} == {BURST.burst_id, other.burst_id}
    with pytest.raises(ValueError, match="burst nothing has no product"):
        built.transfers.archive(["nothing"], tmp_path / "none.zip")
    assert not (tmp_path / "none.zip").exists()


def test_a_hostile_burst_id_stays_inside_the_products_folder(stores, workspace):
    hostile = Burst("../x');DROP TABLE p", BURST.t0, 1.0, 1.0)
    stores.products.build(hostile, synthetic_photometry(hostile, n_images=1), user="ana")
    files = list((workspace.root / "products").rglob("*.fits"))
    assert len(files) == 7 and all(
        f.resolve().is_relative_to(workspace.root / "products") for f in files
    )
    assert list(stores.products.queue(hostile.burst_id)["burst_id"].unique()) == [hostile.burst_id]
