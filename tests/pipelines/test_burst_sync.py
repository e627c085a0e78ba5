"""A burst's sync from the sandbox's export API into its frames folder."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from app.views.reprocess_folders import FrameFolders
from data_access.config import NotificationsConfig
from data_access.gp2.burst_frames import BurstFrames, SyncBusy, pending_requests, request_sync
from data_access.gp2.runs import ReprocessStore
from data_access.notifications import Notifier
from data_access.products.sdb_client import SdbClient
from data_access.stores import Stores
from data_access.workspace import Workspace
from pipelines.burst_sync import (
    progress_line,
    sync_burst,
    sync_pending,
    sync_requested,
    tell_frames_ready,
)
from sandbox.sdb import SandboxServer
from tests.analysis.test_voevent import make_packet

BURST = "sb25120201"


def fits_bytes(k: int, *, filter_: str = "r") -> bytes:
    header = fits.Header(
        {
            "INSTRUME": "DDRAGO1",
            "FILTER": filter_,
            "EXPTIME": 10.0,
            "DATE-OBS": f"2025-12-02T03:{k:02d}:00",
            "TRGID": BURST,
        }
    )
    out = io.BytesIO()
    fits.PrimaryHDU(np.full((8, 8), k, np.uint16), header).writeto(out)
    return out.getvalue()


def put_images(server: SandboxServer, n: int = 3) -> list[str]:
    names = [f"{BURST}_r_{k:02d}.fits" for k in range(n)]
    for k, name in enumerate(names):
        server.storage.put_file("images", BURST, name, fits_bytes(k))
    return names


def downloads(server: SandboxServer) -> list[str]:
    return [path for method, path in server.requests if method == "GET" and BURST + "/" in path]


def workspace_on(root: Path, sdb_url: str) -> Workspace:
    """A new workspace whose SDB import and export APIs are at ``sdb_url``."""
    Workspace.open(root)
    config = root / "gic.toml"
    config.write_text(config.read_text().replace('"http://127.0.0.1:5080"', json.dumps(sdb_url)))
    return Workspace.open(root)


class Masters:
    """The calibration store's answers masters_at reads: one bias in force since 1 Dec."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True)
        self.path = folder / "bias_DDRAGO1.fits"
        fits.PrimaryHDU(np.zeros((8, 8), np.float32)).writeto(self.path)
        self.config = SimpleNamespace(filter_free_types=("bias", "dark"))

    def masters(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "caltype": "bias",
                    "instrument": "DDRAGO1",
                    "filter": "NONE",
                    "night": "2025-12-01",
                    "path": str(self.path),
                    "status": "in_force",
                }
            ]
        )

    def night_of(self, moment) -> date:
        return date(2025, 12, 1)

    def in_force(self, caltype, instrument, filter_):
        return self.path if caltype == "bias" else None


@pytest.fixture
def sandbox(tmp_path):
    with SandboxServer(tmp_path / "sandbox") as server:
        yield server


@pytest.fixture
def parts(tmp_path, sandbox):
    store = ReprocessStore(tmp_path / "input", tmp_path / "runs")
    client = SdbClient(sandbox.url, retries=0)
    yield store, client
    client.close()


def test_a_burst_lands_in_its_frames_folder_with_its_masters_then_nothing_twice(
    tmp_path, sandbox, parts
):
    store, client = parts
    names = put_images(sandbox)
    told = []
    report = sync_burst(
        BURST, store=store, client=client, calibration=Masters(tmp_path / "m"), on_ready=told.append
    )
    assert (report.state, sorted(report.downloaded), report.masters) == (
        "ready",
        names,
        ["bias_DDRAGO1.fits"],
    )
    frames = BurstFrames(store.input_dir, BURST)
    assert sorted(p.name for p in (frames.folder / "raw").iterdir()) == names
    assert (frames.folder / "masters" / "bias_DDRAGO1.fits").is_file()
    assert list(store.folders()["burst_id"]) == [BURST]  # the Reprocess page lists it
    assert frames.progress()["state"] == "ready" and frames.progress()["done"] == 3
    assert "3/3 images" in progress_line(frames.progress())
    shown = FrameFolders(store).sync_state(str(frames.folder))  # the Reprocess page's line
    assert shown.startswith(f"sync of {BURST}: ready, 3/3 images")
    assert FrameFolders(store).sync_state(str(tmp_path)) == ""  # not a frames folder
    assert [r.burst_id for r in told] == [BURST]

    before = len(downloads(sandbox))
    again = sync_burst(
        BURST,
        store=store,
        client=client,
        calibration=Masters(tmp_path / "m2"),
        on_ready=told.append,
    )
    assert (again.downloaded, sorted(again.verified), again.masters) == ([], names, [])
    assert len(downloads(sandbox)) == before  # nothing downloaded twice
    assert len(told) == 1  # nothing new: no second notification


def test_a_spoiled_copy_is_reported_and_downloaded_again(sandbox, parts):
    store, client = parts
    names = put_images(sandbox, 2)
    sync_burst(BURST, store=store, client=client)
    spoiled = BurstFrames(store.input_dir, BURST).path("images", names[0])
    spoiled.write_bytes(b"not the image")
    report = sync_burst(BURST, store=store, client=client)
    assert report.downloaded == [names[0]] and report.verified == [names[1]]
    assert report.mismatches == [f"{names[0]}: the copy here does not match; downloaded again"]
    assert spoiled.read_bytes() == sandbox.storage.file("images", BURST, names[0]).read_bytes()


def test_a_download_that_does_not_match_its_checksum_is_reported_and_not_kept(
    sandbox, parts, monkeypatch
):
    store, client = parts
    names = put_images(sandbox, 2)
    listing = sandbox.storage.listing

    def lying(kind, burst_id):
        items = listing(kind, burst_id)
        items[1]["sha256"] = "0" * 64
        return items

    monkeypatch.setattr(sandbox.storage, "listing", lying)
    report = sync_burst(BURST, store=store, client=client)
    assert report.state == "incomplete" and report.downloaded == [names[0]]
    assert report.mismatches[0].startswith(f"{names[1]}: download has SHA-256 ")
    assert "lists " + "0" * 64 in report.mismatches[0]
    assert not BurstFrames(store.input_dir, BURST).path("images", names[1]).exists()
    assert "1 checksum mismatch" in progress_line(BurstFrames(store.input_dir, BURST).progress())


def test_one_sync_at_a_time_per_burst(sandbox, parts):
    store, client = parts
    put_images(sandbox, 1)
    with BurstFrames(store.input_dir, BURST).locked(), pytest.raises(SyncBusy, match=BURST):
        sync_burst(BURST, store=store, client=client)


def test_a_request_waits_while_the_burst_is_busy_and_runs_at_the_next_turn(sandbox, parts):
    store, client = parts
    put_images(sandbox, 1)
    request_sync(store.input_dir, BURST, reason="NATS svom.fsc.burst")
    with BurstFrames(store.input_dir, BURST).locked():
        assert sync_pending(store, client) == []
    assert [b for _, b in pending_requests(store.input_dir)] == [BURST]
    assert [r.burst_id for r in sync_pending(store, client)] == [BURST]
    assert pending_requests(store.input_dir) == []


def test_a_new_notice_naming_a_burst_asks_for_the_sync_of_its_frames(stores):
    stores.alerts.store(make_packet(), source="comet")
    input_dir = stores.workspace.path(stores.workspace.config.gp2.input_dir)
    assert [b for _, b in pending_requests(input_dir)] == ["sb26021102"]


def test_the_servers_job_tries_once_and_leaves_every_request_while_the_export_api_fails(
    tmp_path, sandbox
):
    stores = Stores(workspace_on(tmp_path / "ws", sandbox.url))
    try:
        input_dir = stores.workspace.path(stores.workspace.config.gp2.input_dir)
        for burst in ("sb25120201", "sb25120202"):
            request_sync(input_dir, burst, reason="test")
        sandbox.inject(("status", 503))
        assert sync_requested(stores) == {}
    finally:
        stores.close()
    assert len(sandbox.requests) == 1  # one attempt, no back-off, the next request waits
    assert len(pending_requests(input_dir)) == 2
    tried = [BurstFrames(input_dir, b).progress() for b in ("sb25120201", "sb25120202")]
    (failed,) = [progress for progress in tried if progress]
    assert failed["state"] == "failed" and "HTTP 503" in progress_line(failed)


def test_frames_ready_are_told_to_the_people_who_reprocess(tmp_path, sandbox, parts):
    store, client = parts
    put_images(sandbox)
    notifier = Notifier(
        NotificationsConfig(webhook_url="http://127.0.0.1:9/hook"), tmp_path / "spool"
    )
    report = sync_burst(
        BURST,
        store=store,
        client=client,
        calibration=Masters(tmp_path / "m"),
        on_ready=lambda r: tell_frames_ready(notifier, r),
    )
    (event,) = [json.loads(p.read_text()) for p in (tmp_path / "spool" / "events").iterdir()]
    assert event["kind"] == "frames_ready"
    assert f"frames of burst {BURST} ready for reprocessing: 3 images" in event["text"]
    assert report.state == "ready"


def test_a_wait_for_the_export_api_is_logged_once_per_request_then_its_end(sandbox, parts, caplog):
    store, client = parts
    put_images(sandbox, 1)
    for burst in (BURST, "sb25120202"):
        request_sync(store.input_dir, burst, reason="test")
    down = SdbClient("http://127.0.0.1:9", retries=0)
    try:
        with caplog.at_level("INFO", logger="gic.gp2.sync"):
            for _ in range(3):
                assert sync_pending(store, down) == []
    finally:
        down.close()
    waits = [r.getMessage() for r in caplog.records if "waits for the export API" in r.message]
    assert len(waits) == 2 and {w.split(":")[0] for w in waits} == {
        f"burst {BURST}",
        "burst sb25120202",
    }
    caplog.clear()
    with caplog.at_level("INFO", logger="gic.gp2.sync"):
        sync_pending(store, client)
    ran = [r.getMessage() for r in caplog.records if "that waited" in r.getMessage()]
    assert ran == [
        f"burst {b}: the sync that waited (sync waits for the export API) ran"
        for b in (BURST, "sb25120202")
    ]
