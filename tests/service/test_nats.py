"""``gic watch`` against a real nats-server started here, including a server restart."""

import asyncio
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from data_access.stores import Stores
from data_access.workspace import Workspace
from tests.service.conftest import stop_process

pytestmark = [pytest.mark.service, pytest.mark.slow]


def publish(url: str, subject: str, data: bytes) -> None:
    import nats

    async def send() -> None:
        client = await nats.connect(url, connect_timeout=5)
        await client.publish(subject, data)
        await client.flush()
        await client.close()

    asyncio.run(send())


class Watcher:
    """``gic watch`` as a subprocess, its output lines gathered in a queue."""

    def __init__(self, workspace: Workspace, url: str) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.cli",
                "--workspace",
                str(workspace.root),
                "watch",
                "--url",
                url,
                "--subject",
                "svom.>",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.seen: list[str] = []

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout_s: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return True
        return False


def test_watch_records_messages_and_survives_a_restart(nats_server, tmp_path):
    workspace = Workspace.open(tmp_path / "ws")
    watcher = Watcher(workspace, nats_server.url)
    try:
        assert watcher.wait_for("watching"), watcher.seen
        publish(nats_server.url, "svom.fsc.burst", b'{"type": "burst", "burst_id": "sb26030303"}')
        assert watcher.wait_for("svom.fsc.burst: burst sb26030303"), watcher.seen
        publish(nats_server.url, "svom.fsc.burst", b"{not json")
        assert watcher.wait_for("malformed: not valid JSON"), watcher.seen

        nats_server.stop()
        assert watcher.wait_for("disconnected"), watcher.seen
        nats_server.start()
        assert watcher.wait_for("reconnected", timeout_s=30), watcher.seen
        publish(
            nats_server.url, "svom.fsc.product", b'{"kind": "product", "burst_id": "sb26030704"}'
        )
        assert watcher.wait_for("svom.fsc.product: burst sb26030704"), watcher.seen
        assert watcher.process.poll() is None  # nothing above was fatal
    finally:
        watcher.process.send_signal(signal.SIGTERM)
        try:
            watcher.process.wait(timeout=15)
        finally:
            stop_process(watcher.process)
    assert watcher.process.returncode == 0

    stores = Stores(workspace)
    try:
        stores.alerts.ingest_spool()
        feed = stores.alerts.operations_messages()
    finally:
        stores.close()
    assert list(feed["burst_id"].fillna("")) == ["sb26030704", "", "sb26030303"]
    assert feed["error"].notna().tolist() == [False, True, False]
