"""Load benchmark: users on the served workbench, through its page servers, while data arrives.

Run ``.venv/bin/python bench/load.py`` (or ``./bench/run.sh load``; ``--quick`` for a smoke
run of a few users and about a minute). It builds a small demo workspace in a temporary
folder (:func:`demo.build_demo`, syncs every 2 s), serves it with ``gic serve --processes
N`` (N page servers behind the sticky proxy of :mod:`app.sticky_proxy` when N > 1), starts
a real Comet broker (``twistd -n comet``, from
:func:`data_access.alerts.sources.comet_command`) running ``gic-alert-handler``, and then,
while a status file arrives in the drop folder every 3 s and an SVOM notice
(:func:`demo.alerts.svom_voevent`) is sent with ``comet-sendvo`` every 4 s, runs U users
(coroutines of this process) for N = 1 and 2 page servers and U = 20 and 40.

Each user behaves like a browser where the server can tell (:class:`User`):

- it asks for the page over HTTP (the server builds the document then), keeps the
  ``gic_process`` cookie the sticky proxy sets, so that its websocket and its next pages
  reach the same page server, and opens the page's websocket with the session's token;
- it pulls the document and then sends Bokeh's ``document_ready`` event, as BokehJS does
  once the page is rendered, so that the page's ``pn.state.onload`` callbacks run
  (the Products page checks the SDB then);
- it opens each tab of the page's Tabs in turn, as a reader does: Panel builds the
  content of a ``dynamic=True`` tab (the Products page's detail, audit log and SDB tabs)
  only when it is first shown, and sends it as a patch, whose arrival is the tab's
  latency (a tab with no patch within :data:`TAB_WAIT_S` is counted apart: built before,
  or slower than that);
- it keeps the page open (its periodic refreshes running on the server) for a reading
  time drawn uniformly from :data:`READING_S` (10 to 30 s, seeded), then opens the next.

"Page ready" is from the HTTP request to the document received. Each load runs until it
has at least :data:`MIN_SAMPLES` pages ready (so that its p99 rests on enough samples)
and for at least its duration. It reports p50 and p99 of pages and of tabs with the
samples behind each, the errors (failed pages and tabs, and tracebacks in the server's
log), the servers' CPU use, and, after the server has stopped, whether every status file
and every alert sent during the run is in the cache. Goal: 40 users, p99 under 2 s, no
error, nothing lost.
"""

from __future__ import annotations

import argparse
import asyncio
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
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import Figure, machine_description, p99, print_figures  # noqa: E402

PAGES = ("/", "/telemetry", "/bias", "/products")
USERS = (20, 40)
PROCESSES = (1, 2)
#: How long a user reads a page before opening the next one (uniform), in s.
READING_S = (10.0, 30.0)
#: Pages ready a load waits for before it stops (the samples behind its p99).
MIN_SAMPLES = 300
#: How long a user waits for a tab's content before taking the tab as built already, in s
#: (the time spent waiting is part of the page's reading time).
TAB_WAIT_S = 10.0
#: How long the server may take, once nothing more is sent, to store what was sent, in s.
STORED_WAIT_S = 60.0
STATUS_EVERY_S = 3.0
ALERT_EVERY_S = 4.0
GOAL_P99_S = 2.0
COOKIE = "gic_process"
MAX_MESSAGE_BYTES = 200 * 1024 * 1024


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


# -- the workspace and its servers --------------------------------------------------------
def build_workspace(root: Path, days: float) -> None:
    from demo import build_demo

    build_demo(root, days=days)
    config = root / "gic.toml"
    text = config.read_text()
    text = re.sub(r"(?m)^sync_every_s = .*$", "sync_every_s = 2.0", text, count=1)
    text = re.sub(r"(?m)^spool_every_s = .*$", "spool_every_s = 1.0", text, count=1)
    config.write_text(text)


def start_server(root: Path, port: int, processes: int, log: Path) -> subprocess.Popen:
    """``gic serve --processes N`` on the workspace, its output appended to ``log``."""
    out = open(log, "ab")  # noqa: SIM115 - the child keeps it
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--workspace", str(root), "serve"]
        + ["--port", str(port), "--processes", str(processes)],
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[1],
        start_new_session=True,
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

    def __init__(self, root: Path, folder: Path, comet_port: int, *, first: int = 0) -> None:
        super().__init__(name="feeder", daemon=True)
        self.first = first  # the number of the first alert: ivorns differ from run to run
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
            f"sb98{os.getpid() % 100:02d}{self.first + number:04d}",
            ECLAIRS_WAKEUP,
            "ECLAIRs",
            now,
            now,
            ra=(37.0 * number) % 360,
            dec=-20.0,
            error_deg=0.1,
        )
        path = self.folder / f"alert_{self.first + number}.xml"
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


# -- the users -----------------------------------------------------------------------------
class Socket:
    """A page's Bokeh websocket: Bokeh protocol messages (header, metadata, content, then
    for each of the header's ``num_buffers`` buffers its reference and its bytes) in and out. A task reads every message
    as it arrives into a queue, so that waiting for one with a timeout never stops in the
    middle of a message."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.messages: asyncio.Queue = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def send(self, msgtype: str, content: dict) -> None:
        header = {"msgid": uuid.uuid4().hex, "msgtype": msgtype}
        for part in (header, {}, content):
            await self.connection.write_message(json.dumps(part))

    async def _read(self) -> None:
        """Queue each message's type and content (its buffers read and dropped); a
        ConnectionError once the server closes the websocket."""
        try:
            while True:
                header = json.loads(await self._fragment())
                await self._fragment()  # metadata
                content = json.loads(await self._fragment())
                for _ in range(2 * header.get("num_buffers", 0)):  # a buffer's ref, its bytes
                    await self._fragment()
                await self.messages.put((header["msgtype"], content))
        except ConnectionError as exc:
            await self.messages.put(exc)

    async def _fragment(self) -> str | bytes:
        fragment = await self.connection.read_message()
        if fragment is None:
            raise ConnectionError("the server closed the websocket")
        return fragment

    async def receive_until(self, wanted, timeout_s: float) -> dict | None:
        """The content of the first message for which ``wanted(msgtype, content)`` holds,
        or None after ``timeout_s`` (the messages before it are dropped)."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = await asyncio.wait_for(self.messages.get(), left)
            except TimeoutError:
                return None
            if isinstance(message, ConnectionError):
                raise message
            msgtype, content = message
            if msgtype == "ERROR":
                raise RuntimeError(f"server error: {content}")
            if wanted(msgtype, content):
                return content
        return None

    def close(self) -> None:
        self.reader.cancel()
        self.connection.close()


def tab_panels(document: dict) -> list[list[str]]:
    """The ids of the tab panels of every Tabs model in a pulled document, per Tabs."""
    found: list[list[str]] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            attributes = node.get("attributes")
            if str(node.get("name", "")).endswith("Tabs") and isinstance(attributes, dict):
                panels = [tab.get("id") for tab in attributes.get("tabs", [])]
                if len(panels) > 1:
                    found.append([node["id"], *panels])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return found


def _document_ready() -> dict:
    """The patch BokehJS sends once the page is rendered (Bokeh's DocumentReady event)."""
    event = {"type": "event", "name": "document_ready", "values": {"type": "map"}}
    return {"events": [{"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": event}]}


def _tab_opened(tabs_id: str, index: int) -> dict:
    """The patch a browser sends when the user clicks a tab."""
    return {
        "events": [
            {"kind": "ModelChanged", "model": {"id": tabs_id}, "attr": "active", "new": index}
        ]
    }


def _touches(content: dict, ids: set[str]) -> bool:
    """Whether a patch changes one of the models ``ids`` (a tab panel getting its content)."""
    return any(event.get("model", {}).get("id") in ids for event in content.get("events", []))


@dataclass
class Measured:
    """What the users of one load saw."""

    pages: dict[str, list[float]] = field(default_factory=lambda: {page: [] for page in PAGES})
    tabs: list[float] = field(default_factory=list)
    tabs_unanswered: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def latencies(self) -> list[float]:
        return [t for times in self.pages.values() for t in times]


class User:
    """One browser: its cookie, the pages it opens in turn and how long it reads them, and
    its own machine: it connects from a loopback address of its own (``127.1.0.1`` for the
    first), as users on their own machines do, so that the server's quota of page builds
    per address (:data:`app.web_security.MAX_WAITING_PAGES`) counts it alone."""

    def __init__(self, url: str, number: int, measured: Measured, reading: tuple[float, float]):
        self.url = url
        self.number = number
        self.measured = measured
        self.reading = reading
        self.rng = random.Random(number)
        self.cookie: str | None = None
        self.address = f"127.1.{number // 250}.{number % 250 + 1}"

    def headers(self) -> dict[str, str]:
        return {"Cookie": f"{COOKIE}={self.cookie}"} if self.cookie else {}

    def keep_cookie(self, response) -> None:
        for header in response.headers.get_list("Set-Cookie"):
            name, _, rest = header.partition("=")
            if name.strip() == COOKIE:
                self.cookie = rest.split(";", 1)[0]

    async def open_page(self, page: str) -> None:
        """Open a page, send document_ready, open its tabs, read it, close it."""
        import tornado.httpclient
        import tornado.websocket

        reading_ends = time.monotonic() + self.rng.uniform(*self.reading)
        started = time.perf_counter()
        response = await tornado.httpclient.AsyncHTTPClient().fetch(
            self.url + page,
            headers=self.headers(),
            request_timeout=120,
            network_interface=self.address,
        )
        self.keep_cookie(response)
        token = re.search(r'"token"\s*:\s*"([^"]+)"', response.body.decode(errors="replace"))
        if token is None:
            raise RuntimeError("the page carries no session token")
        ws_url = self.url.replace("http", "ws", 1) + page.rstrip("/") + "/ws"
        connection = await tornado.websocket.websocket_connect(
            tornado.httpclient.HTTPRequest(
                ws_url,
                headers=self.headers(),
                request_timeout=120,
                network_interface=self.address,
            ),
            subprotocols=["bokeh", token.group(1)],
            max_message_size=MAX_MESSAGE_BYTES,
        )
        socket_ = Socket(connection)
        try:
            await socket_.receive_until(lambda kind, _: kind == "ACK", 120)
            await socket_.send("PULL-DOC-REQ", {})
            reply = await socket_.receive_until(lambda kind, _: kind == "PULL-DOC-REPLY", 120)
            if reply is None or not reply["doc"]["roots"]:
                raise RuntimeError("no document")
            self.measured.pages[page].append(time.perf_counter() - started)
            await socket_.send("PATCH-DOC", _document_ready())
            for tabs_id, *panels in tab_panels(reply["doc"]):
                await self.open_tabs(socket_, tabs_id, panels)
            await socket_.receive_until(lambda *_: False, reading_ends - time.monotonic())
        finally:
            socket_.close()

    async def open_tabs(self, socket_: Socket, tabs_id: str, panels: list[str]) -> None:
        """Show each tab after the first; a tab whose content arrives as a patch (of its tab
        panel, or of the Tabs' list of panels) was built lazily, and the time it took is a
        tab latency."""
        for index in range(1, len(panels)):
            started = time.perf_counter()
            await socket_.send("PATCH-DOC", _tab_opened(tabs_id, index))
            built = await socket_.receive_until(
                lambda kind, content, ids={tabs_id, panels[index]}: (
                    kind == "PATCH-DOC" and _touches(content, ids)
                ),
                TAB_WAIT_S,
            )
            if built is None:
                self.measured.tabs_unanswered += 1
            else:
                self.measured.tabs.append(time.perf_counter() - started)

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.sleep(self.rng.uniform(0.0, self.reading[1]))  # users arrive spread out
        turn = self.number
        while not stop.is_set():
            page = PAGES[turn % len(PAGES)]
            try:
                await self.open_page(page)
            except Exception as exc:  # every failure is a figure of this benchmark
                self.measured.errors.append(f"{page}: {type(exc).__name__}: {exc}")
            turn += 1


async def run_users(
    url: str, count: int, *, reading: tuple[float, float], seconds: float, min_samples: int
) -> Measured:
    """``count`` users for at least ``seconds`` and until ``min_samples`` pages are ready
    (at most four times ``seconds`` more)."""
    import tornado.httpclient

    # every browser has its own connections: the client's default pool of 10 requests at
    # once would hold back the pages of some users behind those of others
    tornado.httpclient.AsyncHTTPClient.configure(None, max_clients=count + 10)
    measured = Measured()
    stop = asyncio.Event()
    users = [asyncio.create_task(User(url, n, measured, reading).run(stop)) for n in range(count)]
    started = time.monotonic()
    while time.monotonic() - started < seconds or (
        len(measured.latencies) < min_samples and time.monotonic() - started < 5 * seconds
    ):
        await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait(users, timeout=READING_S[1] + 60)
    return measured


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo += children.get(tree[-1], [])
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants so far (Linux /proc), in s."""
    total = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def quantiles(label: str, times: list[float], *, goal: bool) -> list[Figure]:
    """p50 and p99 of ``times`` (s), the p99's samples in its name, held to the goal."""
    if not times:
        return []
    held = {"baseline": GOAL_P99_S, "baseline_name": "goal", "goal_ratio": 1.0} if goal else {}
    return [
        Figure(f"{label} p50", statistics.median(times), "s"),
        Figure(f"{label} p99 ({len(times)} samples)", p99(times), "s", **held),
    ]


def measure(label: str, url: str, count: int, server_pid: int, args) -> list[Figure]:
    """Run ``count`` users and turn what they saw into figures."""
    cpu = cpu_seconds(server_pid)
    started = time.monotonic()
    measured = asyncio.run(
        run_users(url, count, reading=READING_S, seconds=args.seconds, min_samples=args.min_samples)
    )
    elapsed = time.monotonic() - started
    busy = (cpu_seconds(server_pid) - cpu) / elapsed
    latencies, errors = measured.latencies, measured.errors
    print(
        f"# {label}: {len(latencies)} pages ready and {len(measured.tabs)} tabs built in "
        f"{elapsed:.0f} s, {len(errors)} errors" + (f"; first: {errors[0]}" if errors else ""),
        flush=True,
    )
    print(
        "#   per page, p50 / p99 / max (s): "
        + "; ".join(
            f"{page} {statistics.median(times):.2f} / {p99(times):.2f} / {max(times):.2f}"
            for page, times in measured.pages.items()
            if times
        ),
        flush=True,
    )
    return [
        Figure(f"{label}: pages ready", len(latencies) / elapsed, "pages/s", higher_is_better=True),
        Figure(f"{label}: servers' CPU", busy, "cores"),
        *quantiles(f"{label}: page ready", latencies, goal=True),
        *quantiles(f"{label}: lazy tab built", measured.tabs, goal=True),
        Figure(
            f"{label}: tabs with no patch in {TAB_WAIT_S:g} s", measured.tabs_unanswered, "tabs"
        ),
        Figure(f"{label}: errors (goal: none)", len(errors), "errors"),
    ]


# -- the check after the run ---------------------------------------------------------------
def ingested(root: Path, files: list[str], ivorns: list[str]) -> tuple[int, int]:
    """How many of the status files and alerts sent are in the cache."""
    from data_access.stores import Stores

    stores = Stores.open(root)
    try:
        keys = {row[0] for row in stores.cache.execute("SELECT key FROM status_document")}
        stored = {row[0] for row in stores.cache.execute("SELECT ivorn FROM alert")}
    finally:
        stores.close()
    return sum(f in keys for f in files), sum(i in stored for i in ivorns)


def stop(process: subprocess.Popen) -> None:
    """Stop a server started by :func:`start_server` and the page servers it started."""
    try:
        os.killpg(process.pid, 15)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait(timeout=10)


def serve_and_measure(root: Path, folder: Path, processes: int, args) -> list[Figure]:
    """Serve the workspace from ``processes`` page servers, run every load of users on it
    while status files and alerts arrive, then check that they were all stored."""
    port = free_port()
    log = folder / f"server-{processes}.log"
    server = start_server(root, port, processes, log)
    comet = feeder = None
    figures: list[Figure] = []
    try:
        wait_for_port(port)
        url = f"http://127.0.0.1:{port}"
        for page in PAGES:  # warm-up: the first page of each kind, on every page server
            for number in range(processes):
                user = User(url, number, Measured(), (0.0, 0.0))
                asyncio.run(user.open_page(page))
        comet, comet_port = start_comet(root, folder)
        feeder = Feeder(root, folder, comet_port, first=1000 * processes)
        feeder.start()
        for count in args.users:
            label = f"{count} users, {processes} process" + ("es" if processes > 1 else "")
            figures += measure(label, url, count, server.pid, args)
        feeder.stop_event.set()
        feeder.join(timeout=60)
        deadline = time.monotonic() + STORED_WAIT_S  # the last files and alerts go in
        while time.monotonic() < deadline and ingested(root, feeder.files, feeder.ivorns) != (
            len(feeder.files),
            len(feeder.ivorns),
        ):
            time.sleep(2.0)
    finally:
        if feeder is not None:
            feeder.stop_event.set()
        if comet is not None:
            comet.terminate()
            comet.wait(timeout=20)
        stop(server)
    files_in, alerts_in = ingested(root, feeder.files, feeder.ivorns)
    tracebacks = log.read_text(errors="replace").count("Traceback")
    suffix = f", {processes} process" + ("es" if processes > 1 else "")
    return figures + [
        Figure(f"tracebacks in the servers' log{suffix}", tracebacks, "errors"),
        Figure(
            f"status files stored{suffix}",
            files_in,
            "files",
            baseline=len(feeder.files),
            baseline_name="sent",
            goal_ratio=1.0,
            higher_is_better=True,
        ),
        Figure(
            f"alerts stored{suffix}",
            alerts_in,
            "alerts",
            baseline=len(feeder.ivorns),
            baseline_name="sent",
            goal_ratio=1.0,
            higher_is_better=True,
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 users on 1 and 2 processes, 20 s and 10 pages each",
    )
    parser.add_argument("--seconds", type=float, default=None, help="least seconds per load")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--workspace", type=Path, help="serve a copy of this demo workspace instead of building one"
    )
    args = parser.parse_args()
    args.seconds = args.seconds or (20.0 if args.quick else 90.0)
    args.users = (3,) if args.quick else USERS
    args.min_samples = 10 if args.quick else MIN_SAMPLES
    folder = Path(tempfile.mkdtemp(prefix="gic-load-"))
    root = folder / "ws"
    print(f"# load: {machine_description()}")
    started = time.monotonic()
    if args.workspace is not None:
        shutil.copytree(args.workspace, root)
    else:
        print(f"# building the demo workspace in {root} ...", flush=True)
        build_workspace(root, days=1.0 if args.quick else 2.0)
        print(f"# built in {time.monotonic() - started:.0f} s; serving", flush=True)
    figures: list[Figure] = []
    for processes in PROCESSES:
        figures += serve_and_measure(root, folder, processes, args)
    print_figures(
        "load" + (" (--quick: smoke run, not the benchmark)" if args.quick else ""), figures
    )
    if args.keep:
        print(f"# kept {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
