"""`gic serve --processes 2`: two page servers behind the sticky proxy, each browser kept on
the one that built its page (its websocket and every callback reach that process), and known
there by its own address, never by the proxy's or one it claims."""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from tests.conftest import free_port, service_unavailable

pytestmark = pytest.mark.ui

SENSOR = "air-temperature"


@pytest.fixture(scope="module")
def served_by_two_processes(tmp_path_factory, demo_root):
    root = tmp_path_factory.mktemp("two-processes") / "ws"
    shutil.copytree(demo_root, root)
    port = free_port()
    gic = [sys.executable, "-m", "app.cli", "--workspace", str(root)]
    server = subprocess.Popen(
        [*gic, "serve", "--processes", "2", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                service_unavailable(f"`gic serve --processes 2` did not start on port {port}")
            time.sleep(0.3)
    yield f"http://localhost:{port}", root
    server.terminate()
    server.wait(timeout=60)


def test_each_browser_stays_on_the_process_that_built_its_page(browser, served_by_two_processes):
    url, _ = served_by_two_processes
    processes = set()
    for _ in range(3):  # three browsers: the proxy gives them both page servers
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(url + "/telemetry")
        expect(page.get_by_text("Newest reading:")).to_be_visible(timeout=60000)
        chooser = page.get_by_placeholder("pick one or more numeric sensors")
        chooser.click()
        chooser.fill(SENSOR)
        page.locator(".choices__list--dropdown .choices__item").first.click()
        page.keyboard.press("Escape")
        # a callback ran in the page's process and wrote the selection into the URL
        page.wait_for_function("() => location.search.includes('sensors=')", timeout=60000)
        processes |= {c["value"] for c in context.cookies() if c["name"] == "gic_process"}
        context.close()
    assert processes == {"0", "1"}


def test_the_page_servers_know_each_browser_by_its_own_address(served_by_two_processes):
    """The login's lockout and the page builds' quota count per address: behind the proxy,
    a page server sees the address the browser connected from (here 127.0.0.2, a loopback
    address other than the proxy's), not the proxy's, and not one the browser's headers
    claim."""
    url, root = served_by_two_processes
    port = int(url.rsplit(":", 1)[1])
    marker = f"/no-such-page-{time.monotonic_ns()}"
    for process in ("0", "1"):
        connection = http.client.HTTPConnection(
            "localhost", port, timeout=60, source_address=("127.0.0.2", 0)
        )
        connection.request(
            "GET",
            marker,
            headers={
                "Cookie": f"gic_process={process}",
                "X-Forwarded-For": "203.0.113.7",
                "X-Real-Ip": "203.0.113.8",
            },
        )
        assert connection.getresponse().status == 404
        connection.close()
    deadline = time.monotonic() + 30
    while True:
        lines = [
            line
            for log in sorted((root / "logs").glob("page-server-*.log"))
            for line in log.read_text(errors="replace").splitlines()
            if marker in line
        ]
        if len(lines) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(lines) == 2, lines  # one request logged by each page server
    assert all("(127.0.0.2)" in line for line in lines), lines
    assert not any("203.0.113" in line for line in lines), lines
