"""A burst's sync started by a NATS message (real nats-server, ``gic watch``), run by the
server's scheduled job against the sandbox's export API, and resumed after a kill."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from app.cli import main
from app.worker import scheduled_jobs
from data_access.gp2.burst_frames import BurstFrames, pending_requests
from data_access.stores import Stores
from data_access.workspace import Workspace
from pipelines.burst_sync import sync_requested
from sandbox.sdb import SandboxServer
from tests.pipelines.test_burst_sync import BURST, downloads, put_images, workspace_on
from tests.service.conftest import stop_process
from tests.service.test_nats import Watcher, publish

pytestmark = [pytest.mark.service]


@pytest.fixture
def sandbox(tmp_path):
    with SandboxServer(tmp_path / "sandbox") as server:
        yield server


@pytest.fixture
def workspace(tmp_path, sandbox) -> Workspace:
    return workspace_on(tmp_path / "ws", sandbox.url)


def frames_of(workspace: Workspace) -> BurstFrames:
    return BurstFrames(workspace.path(workspace.config.gp2.input_dir), BURST)


def stop_watcher(watcher: Watcher) -> None:
    watcher.process.send_signal(signal.SIGTERM)
    try:
        watcher.process.wait(timeout=15)
    finally:
        stop_process(watcher.process)


def test_a_nats_message_naming_a_burst_brings_its_frames_and_a_second_nothing_twice(
    nats_server, sandbox, workspace
):
    names = put_images(sandbox)
    message = json.dumps({"type": "burst", "burst_id": BURST}).encode()
    input_dir = frames_of(workspace).folder.parent
    watcher = Watcher(workspace, nats_server.url)
    try:
        assert watcher.wait_for("watching"), watcher.seen
        publish(nats_server.url, "svom.fsc.burst", message)
        assert watcher.wait_for(f"burst {BURST}"), watcher.seen
        assert [b for _, b in pending_requests(input_dir)] == [BURST]
        stores = Stores(workspace)
        try:
            assert "_sync_bursts" in [job.__name__ for job, _ in scheduled_jobs(stores)]
            first = sync_requested(stores)[f"burst sync {BURST}"]  # the server's job
            assert sorted(first.downloaded) == names and first.state == "ready"
            assert pending_requests(input_dir) == []
            fetched = len(downloads(sandbox))

            publish(nats_server.url, "svom.fsc.burst", message)
            assert watcher.wait_for(f"burst {BURST}"), watcher.seen
            second = sync_requested(stores)[f"burst sync {BURST}"]
        finally:
            stores.close()
    finally:
        stop_watcher(watcher)
    assert (second.downloaded, sorted(second.verified)) == ([], names)
    assert len(downloads(sandbox)) == fetched  # re-checked, nothing downloaded twice
    assert sorted(p.name for p in (frames_of(workspace).folder / "raw").iterdir()) == names


def test_a_sync_killed_mid_download_is_completed_by_the_next_without_a_partial_file(
    sandbox, workspace
):
    names = put_images(sandbox)
    sandbox.inject(("delay", 0), ("delay", 0), ("delay", 20))  # search, 1st, then 2nd hangs
    frames = frames_of(workspace)
    command = [sys.executable, "-m", "app.cli", "--workspace", str(workspace.root)]
    process = subprocess.Popen(
        [*command, "gp2", "sync", BURST], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while (frames.progress() or {}).get("done", 0) < 1 and time.monotonic() < deadline:
            assert process.poll() is None, "the sync ended before it was killed"
            time.sleep(0.05)
        assert (frames.progress() or {}).get("done") == 1, frames.progress()
        process.kill()
        process.wait(timeout=10)
    finally:
        stop_process(process)
    (frames.folder / "raw" / ".left-by-a-kill.part").write_bytes(b"half an image")

    assert main(["--workspace", str(workspace.root), "gp2", "sync", BURST]) == 0
    assert sorted(p.name for p in (frames.folder / "raw").iterdir()) == names  # no .part left
    assert sorted(k.split("/", 1)[1] for k in frames.ledger()) == names
    fetched = [path.rsplit("/", 1)[1] for path in downloads(sandbox)]
    assert fetched.count(names[0]) == 1  # the file written before the kill is not fetched again
    assert frames.progress()["state"] == "ready"
