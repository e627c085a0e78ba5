"""One workspace, everything at once: the real server (with its background work), a notebook
kernel reading through the views, CLI ingests of status files, packets through Comet and the
alert handler, and a night's calibration run. Nothing is lost, nothing is stored twice, no
process says an error, and the telemetry page shows the newest reading the CLI wrote."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

from analysis.voevent import parse_voevent
from data_access.alerts.sources import comet_command, find_script
from data_access.stores import Stores
from data_access.workspace import Workspace
from tests.calibration_helpers import write_raw
from tests.conftest import free_port, service_unavailable
from tests.service.conftest import stop_process, wait_for_port

pytestmark = [pytest.mark.service, pytest.mark.slow, pytest.mark.shared_data]

N_FILES = 4
N_SENSORS = 3
NIGHT = "20190601"
NOTEBOOK_CELLS = [
    "import os, time\nfrom data_access.stores import Stores\n"
    "from app.views.telemetry import TelemetryExplorer\nfrom app.views.alerts import AlertsBrowser\n"
    "stores = Stores.open(os.environ['GIC_WORKSPACE'])",
    "explorer = TelemetryExplorer(stores.status)\nalerts = AlertsBrowser(stores.alerts)\n"
    "seen = []\nfor _ in range(8):\n    explorer.refresh()\n"
    "    seen.append(len(explorer.latest()))\n    alerts.alerts()\n    time.sleep(0.3)\n"
    "assert seen == sorted(seen), seen",
    "stores.close()",
]
NOTEBOOK_RUNNER = """
import sys
import nbformat
from nbclient import NotebookClient

notebook = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
print("errors:", errors, flush=True)
sys.exit(1 if errors else 0)
"""


def _gic(root: Path, *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--workspace", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


def _status_files(folder: Path, start: datetime, status_record, write_status_file) -> list[Path]:
    """N_FILES files a minute apart, of N_SENSORS sensors of their own, after ``start``."""
    return [
        write_status_file(
            folder / f"status_concurrent_{i:02d}.json",
            [
                status_record(
                    f"concurrent-{s}",
                    f"{i + s / 10:+.1f}",
                    f"{start + timedelta(minutes=i + 1):%Y-%m-%dT%H:%M:%S}",
                )
                for s in range(N_SENSORS)
            ],
        )
        for i in range(N_FILES)
    ]


def _notebook(folder: Path) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in NOTEBOOK_CELLS]
    path = folder / "concurrent.ipynb"
    nbformat.write(notebook, path)
    return path


def _start_comet(root: Path, handler: Path, folder: Path) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    try:
        command = comet_command(Workspace.open(root), receive_port=port, handler=handler)
    except FileNotFoundError as exc:
        service_unavailable(f"Comet cannot start: {exc}")
    log = folder / "comet.log"
    env = {**os.environ, "GIC_WORKSPACE": str(root)}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=folder
        )
    if not wait_for_port(port, process):
        stop_process(process)
        service_unavailable(f"Comet did not listen on {port}: {log.read_text()[-2000:]}")
    return process, port, log


def _send(port: int, packet: Path) -> None:
    done = subprocess.run(
        [str(find_script("comet-sendvo")), "-f", str(packet), "-h", "127.0.0.1", "-p", str(port)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, f"comet-sendvo {packet.name}: {done.stdout}{done.stderr}"


def _mine(root: Path, ivorns: set[str]) -> dict[str, tuple]:
    """Counts (rows, distinct keys) of what this test sent, as the cache holds it."""
    stores = Stores.open(root, read_only=True)
    try:
        run = stores.cache.execute
        marks = [f"%status_concurrent_{i:02d}.json" for i in range(N_FILES)]
        likes = " OR ".join("key LIKE ?" for _ in marks)
        return {
            "documents": run(
                f"SELECT count(*), count(DISTINCT key) FROM status_document WHERE {likes}", marks
            )[0],
            "readings": run(
                "SELECT count(*), count(DISTINCT (r.sensor_id, ts)) FROM status_reading r "
                "JOIN sensor s USING (sensor_id) WHERE s.name LIKE 'concurrent-%'"
            )[0],
            "sensors": run("SELECT count(*) FROM sensor WHERE name LIKE 'concurrent-%'")[0],
            "alerts": run(
                f"SELECT count(*), count(DISTINCT ivorn) FROM alert WHERE ivorn IN "
                f"({', '.join('?' for _ in ivorns)})",
                sorted(ivorns),
            )[0],
            "masters": run(
                "SELECT count(*) FROM calibration_master WHERE night = ?",
                [datetime.strptime(NIGHT, "%Y%m%d").date()],
            )[0],
            "newest": run("SELECT max(ts) FROM status_reading")[0],
        }
    finally:
        stores.close()


def _wait_for_alerts(root: Path, ivorns: set[str], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while _mine(root, ivorns)["alerts"][0] < len(ivorns) and time.monotonic() < deadline:
        time.sleep(0.3)


def _finish(process: subprocess.Popen, name: str, timeout_s: float = 120.0) -> str:
    out, _ = process.communicate(timeout=timeout_s)
    assert process.returncode == 0, f"{name} exited {process.returncode}:\n{out}"
    return out


def _no_error(name: str, text: str) -> None:
    said = [line for line in text.splitlines() if "Traceback" in line or " ERROR " in line]
    assert not said, f"{name} said:\n{text[-4000:]}"


def test_server_notebook_ingests_alerts_and_calibration_on_one_workspace(
    demo_copy, tmp_path, alert_handler, shared_data, status_record, write_status_file, browser
):
    root = demo_copy
    packets = sorted((shared_data / "voevents" / "svom" / "eclairs").glob("*.xml"))[:4]
    ivorns = {parse_voevent(p.read_bytes()).ivorn for p in packets}
    # an hour after the newest reading, so that what the demo feeds meanwhile stays older
    start = max(_mine(root, ivorns)["newest"][0], datetime.now(UTC).replace(tzinfo=None))
    start = start.replace(microsecond=0) + timedelta(hours=1)
    files = _status_files(tmp_path / "status", start, status_record, write_status_file)
    write_raw(root / "raw" / "calibration" / NIGHT, "bias", 3, night="2019-06-01", seed=3)
    notebook = _notebook(tmp_path)
    port = free_port()
    server_log = tmp_path / "server.log"
    with open(server_log, "w") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.cli",
                "--workspace",
                str(root),
                "serve",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    comet = None
    try:
        if not wait_for_port(port, server, timeout_s=60):
            pytest.fail(f"the server did not listen on {port}:\n{server_log.read_text()}")
        comet, comet_port, comet_log = _start_comet(root, alert_handler, tmp_path)
        reader = subprocess.Popen(
            [sys.executable, "-c", NOTEBOOK_RUNNER, str(notebook)],
            env={**os.environ, "GIC_WORKSPACE": str(root), "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        calibration = _gic(root, "calib", "run", "--night", NIGHT)
        ingests = []
        for i, path in enumerate(files):
            ingests.append(_finish(_gic(root, "ingest", "status", str(path)), path.name))
            if i < len(packets):
                _send(comet_port, packets[i])
        again = _finish(_gic(root, "ingest", "status", *map(str, files)), "the second ingest")
        outputs = {
            "the notebook": _finish(reader, "the notebook"),
            "the calibration run": _finish(calibration, "the calibration run"),
            "the ingests": "\n".join([*ingests, again]),
        }
        _wait_for_alerts(root, ivorns)
        newest = start + timedelta(minutes=N_FILES)
        page = browser.new_page()
        page.goto(f"http://localhost:{port}/telemetry")  # the page shows what the CLI wrote
        shown = page.get_by_text(f"Newest reading: {newest:%Y-%m-%d %H:%M:%S} UTC")
        expect(shown.first).to_be_visible(timeout=60000)
        page.close()
    finally:
        if comet is not None:
            stop_process(comet)
        stop_process(server)
    counts = _mine(root, ivorns)
    assert counts["documents"] == (N_FILES, N_FILES)
    assert counts["readings"] == (N_FILES * N_SENSORS, N_FILES * N_SENSORS)
    assert counts["sensors"] == (N_SENSORS,)
    assert counts["alerts"] == (len(ivorns), len(ivorns))
    assert counts["masters"] == (1,)
    assert counts["newest"] == (newest,)
    assert not list(Workspace.open(root).root.glob("incoming/alerts/[0-9]*"))  # nothing spooled
    for name, text in {
        **outputs,
        "the server": server_log.read_text(),
        "Comet": comet_log.read_text(),
        "the alert handler": (root / "logs" / "alert-handler.log").read_text(),
    }.items():
        _no_error(name, text)
