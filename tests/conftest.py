"""Fixtures shared by the test suite: real servers on loopback, and status records.

Under ``CI=true`` a server that cannot start fails the test (:func:`service_unavailable`);
elsewhere it skips with the reason.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qs, urlsplit

import pytest

from analysis.telemetry import STATUS_FIELDS


def service_unavailable(reason: str) -> NoReturn:
    """Skip the test because a service cannot start; fail it instead under ``CI=true``."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: a service that cannot start fails the test)")
    pytest.skip(reason)


# -- PostgreSQL -------------------------------------------------------------------------
@dataclass
class PgServer:
    """A PostgreSQL server started by pgserver for the test session."""

    server: Any  # pgserver.PostgresServer

    def uri(self, database: str | None = None) -> str:
        """libpq URI of ``database`` (the ``postgres`` database by default)."""
        return self.server.get_uri(database)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL (pgserver), started once per session on a Unix socket.

    Its data folder lies outside pytest's temporary folders, which a concurrent pytest
    run may clean up; pgserver deletes it when the server stops.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            import pgserver

            holder = tempfile.TemporaryDirectory(prefix="gic-test-pg-", ignore_cleanup_errors=True)
            server = pgserver.get_server(Path(holder.name) / "pgdata", cleanup_mode="delete")
    except Exception as exc:  # any reason at all: it is reported, as a skip or a failure
        service_unavailable(f"PostgreSQL (pgserver) cannot start: {type(exc).__name__}: {exc}")
    yield PgServer(server)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server.cleanup()
    holder.cleanup()


@pytest.fixture
def pg_database(pg_server: PgServer) -> Iterator[str]:
    """The URI of a new, empty database of :func:`pg_server`, dropped after the test."""
    import psycopg
    from psycopg import sql

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.uri(), autocommit=True) as con:
        con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield pg_server.uri(name)
    with psycopg.connect(pg_server.uri(), autocommit=True) as con:
        con.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


# -- HTTP -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    """What the local HTTP server answers: a status, a body, after a delay (seconds)."""

    status: int = 200
    body: bytes = b"[]"
    delay_s: float = 0.0


class LocalHttpServer:
    """A real HTTP server on 127.0.0.1, on a port the system chose, in a thread.

    ``respond(query)`` decides each answer (``query``: the request's parameters, one
    value each); :meth:`script` answers a fixed sequence instead. Every request's
    parameters are kept in ``requests``.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.respond: Callable[[dict[str, str]], Reply] = lambda query: Reply()
        self._stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server spelling
                query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
                owner.requests.append(query)
                reply = owner.respond(query)
                if reply.delay_s:
                    owner._stop.wait(reply.delay_s)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up waiting (the timeout tests)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/status"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def script(self, *replies: Reply) -> None:
        """Answer these replies in turn, the last one from then on."""
        queue = list(replies)

        def respond(query: dict[str, str]) -> Reply:
            return queue.pop(0) if len(queue) > 1 else queue[0]

        self.respond = respond

    def close(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def http_server() -> Iterator[LocalHttpServer]:
    """A real local HTTP server (see :class:`LocalHttpServer`), closed after the test."""
    try:
        server = LocalHttpServer()
    except OSError as exc:
        service_unavailable(f"a local HTTP server cannot start: {exc}")
    yield server
    server.close()


@pytest.fixture
def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/status"


# -- status records ---------------------------------------------------------------------
@pytest.fixture
def status_record() -> Callable[..., dict[str, Any]]:
    """A factory of status records with all 15 fields, as the design notes show them.

    ``status_record(name="dome-temperature", value="+12.5", date="2024-03-01T00:00:00",
    type="float", error_code=0, **other_fields)``; pass ``drop=("unit",)`` to leave
    fields out.
    """

    def make(
        name: str = "dome-temperature",
        value: str = "+12.5",
        date: str = "2024-03-01T00:00:00",
        *,
        drop: tuple[str, ...] = (),
        **fields: Any,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "name": name,
            "value": value,
            "date": date,
            "pretty_name": name.replace("-", " "),
            "subsystem": "dome",
            "component": "D0",
            "group": "temperature",
            "model": "dummy",
            "identifier": "0",
            "firmware": "",
            "type": "float",
            "unit": "C",
            "correction_model": "",
            "raw_value": value,
            "error_code": 0,
        }
        unknown = set(fields) - set(STATUS_FIELDS)
        if unknown:
            raise TypeError(f"status_record: unknown fields {sorted(unknown)}")
        record.update(fields)
        return {k: v for k, v in record.items() if k not in drop}

    return make


@pytest.fixture
def write_status_file() -> Callable[[Path, list], Path]:
    """``write_status_file(path, records)``: write a status JSON file (folders created)."""

    def write(path: Path, records: list) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(records, indent=1), encoding="utf-8")
        return path

    return write


# -- workspaces, the demo, public data, the served workbench and a browser ---------------
import shutil  # noqa: E402
import time  # noqa: E402
from datetime import datetime  # noqa: E402

from data_access.stores import Stores  # noqa: E402
from data_access.workspace import Workspace  # noqa: E402
from demo.telemetry import write_status_files  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
CHROMIUM = Path("/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public files of ../shared/data (not part of the repository)."""
    if not SHARED_DATA.is_dir():
        service_unavailable(f"{SHARED_DATA} is absent (public test data kept beside the repo)")
    return SHARED_DATA


#: ``GIC_TEST_CATALOG=postgres`` puts the lake catalog of every test workspace in a database
#: of :func:`pg_server` (tests/data_access/test_postgres_catalog.py runs the store tests so).
TEST_CATALOG = os.environ.get("GIC_TEST_CATALOG", "sqlite")


@pytest.fixture
def workspace(tmp_path, request) -> Workspace:
    root = tmp_path / "ws"
    if TEST_CATALOG == "postgres":
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        dsn = make_conninfo(**conninfo_to_dict(request.getfixturevalue("pg_database")))
        config = Workspace.open(root).config_path  # the default gic.toml, then its catalog
        text = config.read_text()
        assert text.count('\npostgres = ""\n') == 1, "the default gic.toml changed"
        config.write_text(text.replace('\npostgres = ""\n', f"\npostgres = {json.dumps(dsn)}\n"))
        opened = Workspace.open(root)
        assert opened.lake.postgres == dsn
        return opened
    return Workspace.open(root)


@pytest.fixture
def stores(workspace) -> Iterator[Stores]:
    opened = Stores(workspace)
    yield opened
    opened.close()


@pytest.fixture
def status_folder(tmp_path) -> Path:
    """Six hours of generated 5-minute status files (72 files, 210 sensors each)."""
    folder = tmp_path / "status"
    write_status_files(folder, datetime(2026, 11, 1), 0.25, dead_day=None)
    return folder


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    """A small demo workspace (two days), built once through `gic demo build`'s path (once
    for all the worker processes of a ``pytest -n`` run: the first builds it, under a lock,
    in their common temporary folder). Tests read it, or copy it (:func:`demo_copy`)."""
    import fcntl

    from demo import build_demo

    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "demo-shared"
        shared.mkdir(exist_ok=True)
    else:
        shared = tmp_path_factory.mktemp("demo")
    with open(shared / "build.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "built").is_file():
            build_demo(shared / "ws", days=2)
            (shared / "built").touch()
    return shared / "ws"


@dataclass(frozen=True)
class DemoBursts:
    """The demo's bursts the tests look at, read from the built demo: their IDs carry the day
    the demo was built (its burst to reprocess has T0 at 06:00 UTC of the last night over)."""

    reprocess: str  # the burst whose frames the demo writes: sbYYMMDD90, its T0's day
    reprocess_t0: datetime
    products: str  # the burst with an approved product and six awaiting approval


@pytest.fixture(scope="session")
def demo_bursts(demo_root) -> DemoBursts:
    stores = Stores.open(demo_root, read_only=True)
    try:
        [(reprocess, t0)] = stores.cache.execute(  # the demo's rule: f"sb{t0:%y%m%d}90"
            "SELECT DISTINCT burst_id, t0 FROM alert "
            "WHERE burst_id = 'sb' || strftime(t0, '%y%m%d') || '90'"
        )
        [(products,)] = stores.cache.execute(
            "SELECT DISTINCT burst_id FROM product WHERE state = 'approved'"
        )
    finally:
        stores.close()
    return DemoBursts(reprocess, t0, products)


@pytest.fixture
def demo_copy(demo_root, tmp_path) -> Path:
    """A private copy of the demo workspace, for tests that hold its cache."""
    target = tmp_path / "demo"
    shutil.copytree(demo_root, target)
    return target


def _serve_demo_copy(root: Path, demo_root: Path, prepare=None) -> Iterator[tuple[str, Stores]]:
    """Serve a copy of the demo workspace at ``root`` (``prepare(root)`` first) on a free port."""
    import panel as pn

    from app.server import serve

    shutil.copytree(demo_root, root)
    if prepare is not None:
        prepare(root)
    # Panel keeps the cookie secret and the OAuth settings in its process-wide config: a
    # server started here sets its workspace's, which the servers already running in the
    # test process (one workspace each) would then read their cookies with. Put them back
    # when this one stops.
    login_settings = {
        name: getattr(pn.config, name)
        for name in pn.config.param
        if name.startswith(("_oauth", "_cookie"))
    }
    stores = Stores.open(root)
    port = free_port()
    # The background work (tests/app/test_worker.py) would run its scheduled jobs in this
    # process during the other tests, through the faults they inject.
    server = serve(stores, port=port, threaded=True, start_services=False, background="never")
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        service_unavailable(f"the workbench server did not start on port {port}")
    yield f"http://localhost:{port}", stores
    server.stop()
    stores.close()
    pn.config.param.update(**login_settings)


@pytest.fixture(scope="session")
def served_workbench(tmp_path_factory, demo_root) -> Iterator[tuple[str, Stores]]:
    """The workbench served on a free loopback port over a copy of the demo workspace."""
    yield from _serve_demo_copy(tmp_path_factory.mktemp("served") / "ws", demo_root)


#: The users of :func:`served_with_login`: name -> (password, roles).
LOGIN_USERS = {"alice": ("alice-pw", ["approver"]), "bob": ("bob-pw", ["viewer"])}


def _add_login_users(root: Path) -> None:
    from data_access.users import UsersFile

    config = root / "gic.toml"
    config.write_text(config.read_text().replace('users_file = ""', 'users_file = "users.json"'))
    for name, (password, roles) in LOGIN_USERS.items():
        UsersFile(root / "users.json").set(name, password, roles)


@pytest.fixture(scope="session")
def served_with_login(tmp_path_factory, demo_root) -> Iterator[tuple[str, Stores]]:
    """The workbench with its login on (users of :data:`LOGIN_USERS`), over a demo copy."""
    yield from _serve_demo_copy(
        tmp_path_factory.mktemp("login") / "ws", demo_root, _add_login_users
    )


def log_in(page, url: str, name: str) -> None:
    """Log in as one of :data:`LOGIN_USERS` on the workbench's login page."""
    page.goto(url + "/login")
    page.get_by_label("User").fill(name)
    page.get_by_label("Password").fill(LOGIN_USERS[name][0])
    page.get_by_role("button", name="Log in").click()


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright (never a browser Playwright downloads).

    Module-scoped: Playwright's sync API keeps an event loop and greenlets running in the
    main thread while it is open, which breaks ``asyncio.run`` and ``ast.parse`` in the
    tests that follow; each browser module starts and stops its own."""
    if not CHROMIUM.exists():
        service_unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_unavailable("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """A fresh browser page; every request it makes off this machine is recorded in
    ``page.external_requests`` (the workbench must work offline: no CDN)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.external_requests = []
    local = ("http://localhost", "ws://localhost", "http://127.0.0.1", "data:", "blob:")
    opened.on(
        "request",
        lambda r: None if r.url.startswith(local) else opened.external_requests.append(r.url),
    )
    yield opened
    context.close()
