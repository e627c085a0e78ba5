"""Load benchmark: many sessions at once on the served workbench, while data arrives.

Run ``.venv/bin/python bench/load.py`` (or ``./bench/run.sh load``; ``--quick`` for a
shorter run). It builds a small demo workspace in a temporary folder
(:func:`demo.build_demo`), serves it with :func:`app.server.serve` in a
child process (syncs every 2 s), starts a real Comet broker (``twistd -n comet``, from
:func:`data_access.alerts.sources.comet_command`) running ``gic-alert-handler``, and then,
while a status file arrives in the drop folder every 3 s and an SVOM notice
(:func:`demo.alerts.svom_voevent`) is sent with ``comet-sendvo`` every 4 s,
runs two kinds of sessions (threads of this process, each a Bokeh client
session receiving the whole document of the page over the websocket, which is what "ready"
means, :func:`open_document`):

- **users**, for N = 1, 5 and 20: each session opens the home, telemetry, calibration
  (bias) and products pages in turn, keeps each open (connected, its periodic refreshes
  running on the server) for a reading time drawn uniformly from :data:`READING_S`
  (10 to 30 s: a page of trends or a light curve is read, not glanced at), then opens the
  next. This is the goal's load: 20 people working on the workbench at once.
- **hurried users**, for N = 20: the same with half the reading time (5 to 15 s).
- **stress**, for N = 20: the same pages back to back with no reading time, which is 20
  clients reloading as fast as the server answers; it gives the server's capacity in
  pages per second.

It reports the page-ready latency (median and p99, over every page opened), the errors
(failed sessions, and tracebacks in the server's log), the server's CPU use, and, after
the server has stopped, whether every status file and every alert sent is in the cache.
Goals: with 20 users p99 under 2 s, zero errors, nothing lost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
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

PAGES = ("/", "/telemetry", "/bias", "/products")
SESSIONS = (1, 5, 20)
STRESS_SESSIONS = 20
#: How long a user reads a page before opening the next one (uniform), in s.
READING_S = (10.0, 30.0)
#: The hurried users' reading time, in s.
HURRIED_READING_S = (5.0, 15.0)
STATUS_EVERY_S = 3.0
ALERT_EVERY_S = 4.0
GOAL_P99_S = 2.0


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
    from demo import build_demo

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
    return subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[1],
    )


def start_comet(root: Path, folder: Path) -> tuple[subprocess.Popen, int]:
    from data_access.alerts.sources import HANDLER_SCRIPT, comet_command, find_script
    from data_access.workspace import Workspace

    handler = find_script(HANDLER_SCRIPT)
    if handler is None:
        handler = folder / HANDLER_SCRIPT
        handler.write_text(
            f"#!{sys.executable}\nimport sys\nfrom app.alert_handler import main\n"
            "sys.exit(main())\n"
        )
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

    def __init__(self, root: Path, folder: Path, comet_port: int) -> None:
        super().__init__(name="feeder", daemon=True)
        self.drop = root / "incoming" / "status"
        self.folder = folder
        self.port = comet_port
        self.files: list[str] = []
        self.ivorns: list[str] = []
        self.stop_event = threading.Event()

    def status_file(self, number: int) -> None:
        from analysis.telemetry import STATUS_FIELDS

        now = datetime.now(UTC).replace(microsecond=0)
        record = {field: "" for field in STATUS_FIELDS}
        record.update(
            name="load-bench-counter",
            value=str(number),
            raw_value=str(number),
            date=now.strftime("%Y-%m-%dT%H:%M:%S"),
            type="integer",
            error_code=0,
            subsystem="bench",
            pretty_name="load bench counter",
        )
        self.drop.mkdir(parents=True, exist_ok=True)
        name = f"load_{now:%Y%m%dT%H%M%S}_{number:05d}.json"
        temporary = self.drop / f".{name}.part"
        temporary.write_text(json.dumps([record]))
        os.replace(temporary, self.drop / name)
        self.files.append(str((self.drop / name).resolve()))

    def alert(self, number: int) -> None:
        from data_access.alerts.sources import find_script
        from demo.alerts import ECLAIRS_WAKEUP, DemoNotice, svom_voevent

        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        notice = DemoNotice(
            f"sb98{os.getpid() % 100:02d}{number:04d}",
            ECLAIRS_WAKEUP,
            "ECLAIRs",
            now,
            now,
            ra=(37.0 * number) % 360,
            dec=-20.0,
            error_deg=0.1,
        )
        path = self.folder / f"alert_{number}.xml"
        path.write_bytes(svom_voevent(notice))
        subprocess.run(
            [
                str(find_script("comet-sendvo")),
                "-f",
                str(path),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
            capture_output=True,
            timeout=60,
        )
        self.ivorns.append(notice.ivorn)

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
def open_document(url: str):
    """A Bokeh client session on the page at ``url``, once its whole document has arrived.

    The document's JSON is received and parsed but its Bokeh models are not rebuilt here:
    a browser does that on the user's machine, and doing it in this process (as
    :func:`bokeh.client.pull_session` does) would take CPU from the server it measures.
    Uses the client connection's request/reply, which :meth:`ClientConnection.pull_doc`
    uses too.
    """
    from bokeh.client.session import ClientSession
    from bokeh.client.util import websocket_url_for_server_url

    session = ClientSession(websocket_url=websocket_url_for_server_url(url))
    session.connect()
    connection = session._connection
    reply = connection._send_message_wait_for_reply(connection._protocol.create("PULL-DOC-REQ"))
    if reply is None or reply.header["msgtype"] == "ERROR":
        session.close()
        raise RuntimeError(f"{url}: no document ({reply.content if reply else 'connection lost'})")
    if not reply.content["doc"]["roots"]:
        session.close()
        raise RuntimeError(f"{url}: the document has no roots")
    return session


class Sessions:
    """N sessions opening pages in turn; what they measured."""

    def __init__(self, url: str, count: int, *, reading: tuple[float, float] | None) -> None:
        self.url = url
        self.count = count
        self.reading = reading
        self.latencies: list[float] = []
        self.by_page: dict[str, list[float]] = {page: [] for page in PAGES}
        self.errors: list[str] = []
        self.stop = threading.Event()

    def open_page(self, page: str, rng: random.Random) -> None:
        """Open one page, and keep it open while the user reads it."""
        started = time.perf_counter()
        try:
            session = open_document(self.url + page)
            try:
                self.latencies.append(time.perf_counter() - started)
                self.by_page[page].append(self.latencies[-1])
                if self.reading is not None:
                    self.stop.wait(rng.uniform(*self.reading))
            finally:
                session.close()
        except Exception as exc:  # every failure is a figure of this benchmark
            self.errors.append(f"{page}: {type(exc).__name__}: {exc}")

    def loop(self, number: int) -> None:
        rng = random.Random(number)
        if self.reading is not None:  # users arrive spread over a reading time
            self.stop.wait(rng.uniform(0.0, self.reading[1]))
        turn = number
        while not self.stop.is_set():
            self.open_page(PAGES[turn % len(PAGES)], rng)
            turn += 1

    def run(self, seconds: float) -> None:
        threads = [
            threading.Thread(target=self.loop, args=(n,), daemon=True) for n in range(self.count)
        ]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        self.stop.set()
        for thread in threads:
            thread.join(timeout=60)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), in s."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    label: str, sessions: Sessions, seconds: float, server_pid: int, *, goal: bool = False
) -> list[Figure]:
    """Run the sessions for ``seconds`` and turn what they saw into figures (the p99 held to
    the goal when ``goal``)."""
    cpu = cpu_seconds(server_pid)
    started = time.monotonic()
    sessions.run(seconds)
    elapsed = time.monotonic() - started
    busy = (cpu_seconds(server_pid) - cpu) / elapsed
    count, latencies, errors = sessions.count, sessions.latencies, sessions.errors
    print(
        f"# {label} N={count}: {len(latencies)} pages ready in {elapsed:.0f} s, "
        f"{len(errors)} errors" + (f"; first: {errors[0]}" if errors else ""),
        flush=True,
    )
    print(
        "#   per page, p50 / p99 / max (s): "
        + "; ".join(
            f"{page} {statistics.median(times):.2f} / {p99(times):.2f} / {max(times):.2f}"
            for page, times in sessions.by_page.items()
            if times
        ),
        flush=True,
    )
    figures = [
        Figure(
            f"{label}: pages ready, N={count}",
            len(latencies) / elapsed,
            "pages/s",
            higher_is_better=True,
        ),
        Figure(f"{label}: server CPU, N={count}", busy, "cores"),
    ]
    if latencies:
        held = {"baseline": GOAL_P99_S, "baseline_name": "goal", "goal_ratio": 1.0}
        figures += [
            Figure(f"{label}: page ready p50, N={count}", statistics.median(latencies), "s"),
            Figure(
                f"{label}: page ready p99, N={count}", p99(latencies), "s", **(held if goal else {})
            ),
        ]
    figures.append(Figure(f"{label}: errors, N={count}", len(errors), "errors"))
    return figures


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
    parser.add_argument("--quick", action="store_true", help="shorter runs (30 s per N)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per N")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    seconds = args.seconds or (30.0 if args.quick else 90.0)
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
        wait_for_port(port)
        url = f"http://127.0.0.1:{port}"
        Sessions(url, 1, reading=None).run(5.0)  # warm-up: the first page of each kind
        comet, comet_port = start_comet(root, folder)
        feeder = Feeder(root, folder, comet_port)
        feeder.start()
        for count in SESSIONS:
            figures += measure(
                "users", Sessions(url, count, reading=READING_S), seconds, server.pid, goal=True
            )
        hurried = Sessions(url, STRESS_SESSIONS, reading=HURRIED_READING_S)
        figures += measure("hurried users", hurried, seconds, server.pid)
        stress = Sessions(url, STRESS_SESSIONS, reading=None)
        figures += measure("stress", stress, seconds / 3, server.pid)
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
    tracebacks = (folder / "server.log").read_text(errors="replace").count("Traceback")
    figures += [
        Figure("tracebacks in the server's log", tracebacks, "errors"),
        Figure(
            "status files ingested",
            files_in,
            "files",
            baseline=len(feeder.files),
            baseline_name="sent",
            goal_ratio=1.0,
            higher_is_better=True,
        ),
        Figure(
            "alerts stored",
            alerts_in,
            "alerts",
            baseline=len(feeder.ivorns),
            baseline_name="sent",
            goal_ratio=1.0,
            higher_is_better=True,
        ),
    ]
    print_figures("load", figures)
    if args.keep:
        print(f"# kept {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
