"""Load benchmark: many sessions at once on the served workbench, while data arrives.

Run ``.venv/bin/python bench/load.py`` (or ``./bench/run.sh load``; ``--quick`` for a
shorter run). It builds a small demo workspace in a temporary folder
(:func:`data_access.demo.build_demo`), serves it with :func:`app.server.serve` in a
child process (syncs every 2 s), starts a real Comet broker (``twistd -n comet``, from
:func:`data_access.alert_sources.comet_command`) running ``gic-alert-handler``, and then,
for N = 1, 5 and 20 concurrent sessions:

- each session opens the home, telemetry, calibration (bias) and alerts pages in turn
  with the Bokeh client (:func:`bokeh.client.pull_session`: an HTTP GET of the page, then
  the websocket and the whole document, which is what "ready" means), for a fixed time;
- meanwhile a status file arrives in the drop folder every 3 s and an alert is sent with
  ``comet-sendvo`` every 4 s.

It reports the page-ready latency (median and p99, over every page opened), the errors,
and, after the server has stopped, whether every status file and every alert sent is in
the cache. Goals: at 20 sessions p99 under 2 s, zero errors, nothing lost.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import Figure, machine_description, print_figures  # noqa: E402

PAGES = ("/", "/telemetry", "/bias", "/alerts")
SESSIONS = (1, 5, 20)
STATUS_EVERY_S = 3.0
ALERT_EVERY_S = 4.0
GOAL_P99_S = 2.0
SHARED_PACKET = Path(__file__).resolve().parents[2] / "shared" / "data" / "voevents" / "svom"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port} after {timeout_s} s")


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


# -- the workspace and its servers --------------------------------------------------------
def build_workspace(root: Path, days: float) -> None:
    from data_access.demo import build_demo

    build_demo(root, days=days)
    config = root / "gic.toml"
    text = config.read_text()
    text = re.sub(r"(?m)^sync_every_s = .*$", "sync_every_s = 2.0", text, count=1)
    text = re.sub(r"(?m)^spool_every_s = .*$", "spool_every_s = 1.0", text, count=1)
    config.write_text(text)


def start_server(root: Path, port: int, log: Path) -> subprocess.Popen:
    script = (
        "import sys\nfrom app.server import serve\nfrom data_access.stores import Stores\n"
        f"serve(Stores.open({str(root)!r}), port={port})\n"
    )
    out = open(log, "ab")  # noqa: SIM115 - the child keeps it
    return subprocess.Popen([sys.executable, "-c", script], stdout=out, stderr=subprocess.STDOUT,
                            cwd=Path(__file__).resolve().parents[1])  # fmt: skip


def start_comet(root: Path, folder: Path) -> tuple[subprocess.Popen, int]:
    from data_access.alert_sources import HANDLER_SCRIPT, comet_command, find_script
    from data_access.workspace import Workspace

    handler = find_script(HANDLER_SCRIPT)
    if handler is None:
        handler = folder / HANDLER_SCRIPT
        handler.write_text(f"#!{sys.executable}\nimport sys\nfrom app.alert_handler import main\n"
                           "sys.exit(main())\n")  # fmt: skip
        handler.chmod(0o755)
    port = free_port()
    command = comet_command(Workspace.open(root), receive_port=port, handler=handler)
    env = {**os.environ, "GIC_WORKSPACE": str(root)}
    out = open(folder / "comet.log", "ab")  # noqa: SIM115 - the child keeps it
    broker = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=folder)
    wait_for_port(port, 30)
    return broker, port


# -- what arrives meanwhile ---------------------------------------------------------------
class Feeder(threading.Thread):
    """A status file every few seconds into the drop folder, an alert through Comet every
    few seconds; remembers what it sent."""

    def __init__(self, root: Path, folder: Path, comet_port: int, template: bytes) -> None:
        super().__init__(name="feeder", daemon=True)
        self.drop = root / "incoming" / "status"
        self.folder = folder
        self.port = comet_port
        self.template = template
        self.files: list[str] = []
        self.ivorns: list[str] = []
        self.stop_event = threading.Event()

    def status_file(self, number: int) -> None:
        from analysis.telemetry import STATUS_FIELDS

        now = datetime.now(UTC).replace(microsecond=0)
        record = {field: "" for field in STATUS_FIELDS}
        record.update(name="load-bench-counter", value=str(number), raw_value=str(number),
                      date=now.strftime("%Y-%m-%dT%H:%M:%S"), type="integer", error_code=0,
                      subsystem="bench", pretty_name="load bench counter")  # fmt: skip
        self.drop.mkdir(parents=True, exist_ok=True)
        name = f"load_{now:%Y%m%dT%H%M%S}_{number:05d}.json"
        temporary = self.drop / f".{name}.part"
        temporary.write_text(json.dumps([record]))
        os.replace(temporary, self.drop / name)
        self.files.append(str((self.drop / name).resolve()))

    def alert(self, number: int) -> None:
        from data_access.alert_sources import find_script

        burst = f"sb98{os.getpid() % 100:02d}{number:04d}"
        old = re.search(rb'name="Burst_Id" value="(sb\d{8})"', self.template).group(1)
        packet = self.template.replace(old, burst.encode())
        ivorn = re.search(rb'ivorn="([^"]+)"', packet).group(1).decode()
        path = self.folder / f"alert_{number}.xml"
        path.write_bytes(packet)
        subprocess.run([str(find_script("comet-sendvo")), "-f", str(path), "-h", "127.0.0.1",
                        "-p", str(self.port)], capture_output=True, timeout=60)  # fmt: skip
        self.ivorns.append(ivorn)

    def run(self) -> None:
        started = time.monotonic()
        status_n = alert_n = 0
        while not self.stop_event.is_set():
            elapsed = time.monotonic() - started
            if elapsed >= status_n * STATUS_EVERY_S:
                self.status_file(status_n)
                status_n += 1
            if elapsed >= alert_n * ALERT_EVERY_S:
                self.alert(alert_n)
                alert_n += 1
            self.stop_event.wait(0.2)


# -- the sessions --------------------------------------------------------------------------
def session_loop(url: str, stop: threading.Event, latencies: list[float], errors: list[str],
                 offset: int) -> None:  # fmt: skip
    from bokeh.client import pull_session

    turn = offset
    while not stop.is_set():
        page = PAGES[turn % len(PAGES)]
        turn += 1
        started = time.perf_counter()
        try:
            with pull_session(url=url + page) as session:
                if not session.document.roots:
                    raise RuntimeError(f"{page}: the document has no roots")
            latencies.append(time.perf_counter() - started)
        except Exception as exc:  # every failure is a figure of this benchmark
            errors.append(f"{page}: {type(exc).__name__}: {exc}")


def register_models() -> None:
    """Make the Bokeh client know Panel's and HoloViews' models (what the pages are made of)."""
    import holoviews.plotting.bokeh  # noqa: F401
    import panel.models  # noqa: F401
    import panel.models.tabulator  # noqa: F401
    from panel.models import location, reactive_html  # noqa: F401


def run_sessions(url: str, count: int, seconds: float) -> tuple[list[float], list[str]]:
    stop = threading.Event()
    latencies: list[float] = []
    errors: list[str] = []
    threads = [threading.Thread(target=session_loop, args=(url, stop, latencies, errors, n),
                                daemon=True) for n in range(count)]  # fmt: skip
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return latencies, errors


# -- the check after the run ---------------------------------------------------------------
def ingested(root: Path, files: list[str], ivorns: list[str]) -> tuple[int, int]:
    from data_access.stores import Stores

    stores = Stores.open(root)
    try:
        keys = {row[0] for row in stores.cache.execute("SELECT key FROM status_document")}
        stored = {row[0] for row in stores.cache.execute("SELECT ivorn FROM alert")}
    finally:
        stores.close()
    return sum(f in keys for f in files), sum(i in stored for i in ivorns)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (10 s per N)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per N")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    seconds = args.seconds or (10.0 if args.quick else 30.0)
    packets = sorted(SHARED_PACKET.rglob("*.xml")) if SHARED_PACKET.is_dir() else []
    packets = [p for p in packets if b'name="Burst_Id" value="sb' in p.read_bytes()]
    if packets:
        template = packets[0].read_bytes()
    else:  # the small SVOM-shaped packet of the tests
        from tests.analysis.test_voevent import make_packet

        template = make_packet()
    folder = Path(tempfile.mkdtemp(prefix="gic-load-"))
    root = folder / "ws"
    print(f"# load: {machine_description()}")
    print(f"# building the demo workspace in {root} ...", flush=True)
    started = time.monotonic()
    build_workspace(root, days=1.0 if args.quick else 2.0)
    print(f"# built in {time.monotonic() - started:.0f} s; serving", flush=True)
    port = free_port()
    server = start_server(root, port, folder / "server.log")
    comet = feeder = None
    figures: list[Figure] = []
    try:
        register_models()
        wait_for_port(port)
        url = f"http://127.0.0.1:{port}"
        run_sessions(url, 1, 3.0)  # warm-up: the first page of each kind builds caches
        comet, comet_port = start_comet(root, folder)
        feeder = Feeder(root, folder, comet_port, template)
        feeder.start()
        for count in SESSIONS:
            latencies, errors = run_sessions(url, count, seconds)
            print(f"# N={count}: {len(latencies)} pages ready, {len(errors)} errors"
                  + (f"; first: {errors[0]}" if errors else ""), flush=True)  # fmt: skip
            if latencies:
                figures += [
                    Figure(f"page ready p50, N={count}", statistics.median(latencies), "s"),
                    Figure(f"page ready p99, N={count}", p99(latencies), "s",
                           baseline=GOAL_P99_S, baseline_name="goal", goal_ratio=1.0),
                ]  # fmt: skip
            figures.append(Figure(f"errors, N={count}", len(errors), "errors"))
        feeder.stop_event.set()
        feeder.join(timeout=60)
        time.sleep(8.0)  # two sync periods: the last file and alert go in
    finally:
        if feeder is not None:
            feeder.stop_event.set()
        if comet is not None:
            comet.terminate()
            comet.wait(timeout=20)
        server.terminate()
        server.wait(timeout=30)
    files_in, alerts_in = ingested(root, feeder.files, feeder.ivorns)
    figures += [
        Figure("status files ingested", files_in, "files", baseline=len(feeder.files),
               baseline_name="sent", goal_ratio=1.0, higher_is_better=True),
        Figure("alerts stored", alerts_in, "alerts", baseline=len(feeder.ivorns),
               baseline_name="sent", goal_ratio=1.0, higher_is_better=True),
    ]  # fmt: skip
    print_figures("load", figures)
    if args.keep:
        print(f"# kept {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
