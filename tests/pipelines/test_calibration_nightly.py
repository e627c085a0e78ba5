"""The nightly calibration run against a local CDB: links dropped, frames over HTTP, the
night's masters built and promoted, published for GP1, recorded; a night without frames;
a missing master notified; late links; the retention of raw frames."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from astropy.io import fits

from data_access.calibration.fetch import night_raw_folder
from data_access.calibration.local_storage import published_name
from data_access.calibration.nightly_runs import NightlyRuns
from data_access.stores import Stores
from pipelines.calibration_nightly import due_at, nights_due, run_nightly
from tests.calibration_helpers import write_raw
from tests.cdb_frames import FrameServer, link_of, serving

NIGHT = date(2025, 3, 1)
TOML = """
[calibration]
expected = ["DDRAGO1/NONE/bias", "DDRAGO1/NONE/dark"]
[calibration.nightly]
publish_dir = "{publish}"
download_retries = 0
[notifications]
webhook_url = "http://127.0.0.1:9/hook"
"""


@pytest.fixture
def cdb(tmp_path):
    write_raw(tmp_path / "cdb", "bias", 3, seed=1)
    write_raw(tmp_path / "cdb", "dark", 3, seed=2, level=1010.0)
    with serving(tmp_path / "cdb") as server:
        yield server


@pytest.fixture
def stores(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "gic.toml").write_text(TOML.format(publish=tmp_path / "gp1"), encoding="utf-8")
    opened = Stores.open(root)
    yield opened
    opened.close()


def drop_links(stores: Stores, server: FrameServer, name: str, frames) -> None:
    entries = [link_of(p, server.frame_url(p.name)) for p in frames]
    drop = stores.workspace.path("drop/calibration-links")
    (drop / name).write_text(json.dumps({"night": f"{NIGHT:%Y%m%d}", "frames": entries}))


def events(stores: Stores) -> list[str]:
    folder = stores.workspace.path("notifications/events")
    return [json.loads(p.read_text())["text"] for p in sorted(folder.glob("*.json"))]


def test_a_night_fetched_built_promoted_published_and_recorded(stores, cdb, tmp_path):
    bias = sorted(cdb.folder.glob("bias_*"))
    drop_links(stores, cdb, "night.json", bias)
    run = run_nightly(stores, NIGHT)
    assert run.outcome == "done", run.failures
    assert len(run.fetch.fetched) == 3
    assert [(o.caltype, o.action) for o in run.outcomes] == [("bias", "promoted")]
    published = tmp_path / "gp1" / "master_bias_DDRAGO1_NONE.fits"
    assert run.published == [published.name]
    in_force = stores.calibration.in_force("bias", "DDRAGO1", "NONE")
    assert published.read_bytes() == in_force.read_bytes()
    assert ["dark master missing" in text for text in events(stores)] == [True]
    # the darks come late: the night is due again, and the run adds the dark only
    now = datetime(2025, 3, 2, 20, tzinfo=UTC)  # the next afternoon
    assert NIGHT not in nights_due(stores, now)
    drop_links(stores, cdb, "late.json", sorted(cdb.folder.glob("dark_*")))
    assert NIGHT in nights_due(stores, now)
    mtime = published.stat().st_mtime_ns
    again = run_nightly(stores, NIGHT)
    assert len(again.fetch.present) == 3 and len(again.fetch.fetched) == 3
    assert {(o.caltype, o.action) for o in again.outcomes} == {
        ("bias", "already done"),
        ("dark", "promoted"),
    }
    assert again.published == ["master_dark_DDRAGO1_NONE.fits"]
    assert published.stat().st_mtime_ns == mtime  # replaced only on promotion
    table = NightlyRuns(stores.cache).table()
    assert list(table["masters_promoted"]) == [1, 1]
    assert list(table["frames_fetched"]) == [3, 3] and list(table["outcome"]) == ["done"] * 2


def test_a_night_without_frames_does_nothing_and_shows_missing(stores):
    run = run_nightly(stores, NIGHT)
    assert run.outcome == "no frames" and not run.failures and not run.outcomes
    assert not events(stores)
    grid = stores.calibration.completeness(NIGHT, NIGHT)
    assert set(grid["verdict"]) == {"missing"}
    assert list(NightlyRuns(stores.cache).table()["outcome"]) == ["no frames"]


def test_a_frame_that_cannot_be_had_is_a_failure_and_the_others_go_on(stores, cdb):
    bias = sorted(cdb.folder.glob("bias_*"))
    cdb.fail[bias[0].name] = 503
    drop_links(stores, cdb, "night.json", bias)
    run = run_nightly(stores, NIGHT)
    assert run.outcome == "failures" and len(run.fetch.fetched) == 2
    assert any(bias[0].name in text and "HTTP 503" in text for text in run.failures)
    assert NightlyRuns(stores.cache).table()["frames_failed"][0] == 1


def test_raw_frames_deleted_days_after_their_night_was_done_masters_kept(stores, cdb):
    drop_links(stores, cdb, "night.json", sorted(cdb.folder.glob("*.fits")))
    raw = night_raw_folder(stores.workspace.root, stores.workspace.config.calibration, NIGHT)
    run = run_nightly(stores, NIGHT)
    assert run.outcome == "done" and len(list(raw.glob("*.fits"))) == 6
    assert not run.raw_deleted  # not 7 days yet
    later = run_nightly(stores, NIGHT + timedelta(days=1), now=datetime.now() + timedelta(days=8))
    assert later.raw_deleted == {NIGHT: sorted(p.name for p in cdb.folder.glob("*.fits"))}
    assert not raw.exists()
    master = stores.calibration.in_force("dark", "DDRAGO1", "NONE")
    assert fits.getheader(master)["NCOMBINE"] == 3
    assert list(stores.workspace.path("reports/calibration").glob("*.json"))


def test_the_run_is_due_after_the_sites_morning_twilight(stores):
    due = due_at(stores.workspace.config, NIGHT)
    assert due.date() == NIGHT + timedelta(days=1) and 11 <= due.hour <= 15


def test_links_and_frames_both_from_the_cdb_endpoint(cdb, tmp_path):
    root = tmp_path / "ws2"
    root.mkdir()
    toml = f'[calibration.nightly]\nlinks_url = "{cdb.url}/links"\nkeep_raw_days = 0\n'
    (root / "gic.toml").write_text(toml, encoding="utf-8")
    cdb.links = [link_of(p, cdb.frame_url(p.name)) for p in sorted(cdb.folder.glob("*.fits"))]
    stores = Stores.open(root)
    try:
        run = run_nightly(stores, NIGHT, now=datetime.now() + timedelta(days=30))
    finally:
        stores.close()
    assert run.outcome == "done" and run.links == 6 and not run.raw_deleted  # 0 keeps them
    assert {(o.caltype, o.action) for o in run.outcomes} == {
        ("bias", "promoted"),
        ("dark", "promoted"),
    }
    assert not run.published  # no publish folder: nothing published


def test_a_publish_pattern_with_an_unknown_field_is_refused():
    with pytest.raises(ValueError, match=r"publish_pattern '\{kind\}.fits': uses an unknown"):
        published_name("{kind}.fits", caltype="bias", instrument="D", filter_="g", night=NIGHT)
    assert (
        published_name(
            "{instrument}-{caltype}-{filter}-{night}.fits",
            caltype="flat",
            instrument="DDRAGO1",
            filter_="g",
            night=NIGHT,
        )
        == "DDRAGO1-flat-g-20250301.fits"
    )


def test_a_night_run_that_stops_is_recorded_as_a_failure(stores, cdb, monkeypatch):
    drop_links(stores, cdb, "night.json", sorted(cdb.folder.glob("bias_*")))

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pipelines.calibration_nightly.run_night", disk_full)
    run = run_nightly(stores, NIGHT)
    assert run.outcome == "failures"
    assert run.failures == ["the night's run stopped: [Errno 28] No space left on device"]
    assert NightlyRuns(stores.cache).table()["outcome"][0] == "failures"
