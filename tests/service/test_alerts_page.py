"""The Alerts page in a real browser, fed by the real Comet broker: a packet sent with
comet-sendvo while the page is open appears in its table."""

import os
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from data_access.alerts.sources import comet_command, find_script
from demo.alerts import ECLAIRS_WAKEUP, DemoNotice, svom_voevent
from tests.conftest import free_port, service_unavailable
from tests.service.conftest import stop_process, wait_for_port

pytestmark = [pytest.mark.ui, pytest.mark.service]


@pytest.fixture
def comet_into_served(served_workbench, alert_handler, tmp_path):
    """Comet receiving on a free port, its handler writing into the served workspace."""
    _, stores = served_workbench
    port = free_port()
    try:
        command = comet_command(stores.workspace, receive_port=port, handler=alert_handler)
    except FileNotFoundError as exc:
        service_unavailable(f"Comet cannot start: {exc}")
    env = {**os.environ, "GIC_WORKSPACE": str(stores.workspace.root)}
    with open(tmp_path / "comet.log", "wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
        )
    if not wait_for_port(port, process):
        stop_process(process)
        service_unavailable(f"Comet did not listen: {(tmp_path / 'comet.log').read_text()[-2000:]}")
    yield port
    stop_process(process)


def test_a_packet_sent_through_comet_appears_on_the_open_page(
    served_workbench, comet_into_served, page, tmp_path
):
    url, stores = served_workbench
    page.goto(url + "/alerts")
    expect(page.get_by_text("Alerts, newest first")).to_be_visible(timeout=30000)
    now = datetime.now(UTC).replace(tzinfo=None)
    burst = f"sb{now:%y%m%d}99"
    packet = tmp_path / "packet.xml"
    packet.write_bytes(
        svom_voevent(
            DemoNotice(
                burst, ECLAIRS_WAKEUP, "ECLAIRs", now, now + timedelta(seconds=60), 150.0, 20.0, 0.1
            )
        )
    )
    sent = subprocess.run(
        [
            str(find_script("comet-sendvo")),
            "-f",
            str(packet),
            "-h",
            "127.0.0.1",
            "-p",
            str(comet_into_served),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    expect(page.get_by_role("gridcell", name=burst).first).to_be_visible(timeout=30000)
    assert (stores.workspace.root / "triggers" / f"trigger_{burst}.dat").exists()
    page.get_by_role("gridcell", name=burst).first.click()
    expect(page.get_by_text("Packet_Type").first).to_be_visible(timeout=20000)
    assert page.external_requests == []
