"""Several page servers behind one port, each browser kept on the one that built its page.

A Panel page lives in the process that built it: its websocket must reach that same process.
Panel's own ``--num-procs`` forks processes that share one socket, so that the page and its
websocket may land in two different processes, the second of which does not know the
session (holoviz/panel#6678). With ``[server] processes`` N above 1, ``gic serve`` therefore
runs N page servers on loopback ports (:class:`PageServers`, each started again if it stops)
and this proxy on the public address (:class:`StickyProxy`): a browser's first request goes
to the page server with the fewest browsers, a cookie (``gic_process``) names it, and every
later request of that browser, its websockets included, goes to the same one. The proxy
passes everything through unchanged (the login cookies, the Host and Origin the page servers
check) but the browser's address: it sets ``X-Forwarded-For`` to the address the browser
connected from, which the page servers, listening on loopback only, take as the client's
(the login's lockout and the page builds' quota count per address).
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from pathlib import Path

import tornado.httpclient
import tornado.web
import tornado.websocket
from tornado.httputil import HTTPHeaders

from data_access.background import KeptProcess

log = logging.getLogger("gic.proxy")

COOKIE = "gic_process"
#: Headers that belong to one connection and are never passed on.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
#: Headers the page servers would take for the browser's address or scheme: a browser's are
#: dropped, and the proxy sets ``X-Forwarded-For`` itself.
ADDRESS_HEADERS = {"x-forwarded-for", "x-real-ip", "x-forwarded-proto", "x-scheme"}
#: Bokeh's websocket messages may be large (a page's whole document).
MAX_MESSAGE_BYTES = 200 * 1024 * 1024
STARTUP_S = 180.0


class Backends:
    """The page servers' ports and how many browsers each was given."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.browsers = [0] * len(ports)
        self._lock = threading.Lock()

    def choose(self, cookie: str | None, *, avoid: int | None = None) -> int:
        """The page server of a browser: the one its cookie names, else the one with the
        fewest browsers (never ``avoid``, one that just failed, when another exists)."""
        if cookie is not None and cookie.isdigit() and int(cookie) < len(self.ports):
            if int(cookie) != avoid:
                return int(cookie)
        with self._lock:
            candidates = [i for i in range(len(self.ports)) if i != avoid] or [0]
            index = min(candidates, key=lambda i: self.browsers[i])
            self.browsers[index] += 1
            return index


def _forwarded_headers(handler: tornado.web.RequestHandler) -> HTTPHeaders:
    """The browser's headers for its page server, with the browser's address as the one
    ``X-Forwarded-For`` (whatever the browser itself sent as its address is dropped)."""
    headers, dropped = HTTPHeaders(), HOP_BY_HOP | ADDRESS_HEADERS
    for name, value in handler.request.headers.get_all():
        if name.lower() not in dropped and not name.lower().startswith("sec-websocket"):
            headers.add(name, value)
    headers.add("X-Forwarded-For", handler.request.remote_ip or "")
    return headers


class _Forward(tornado.web.RequestHandler):
    """Every HTTP request, passed to the browser's page server and its answer passed back."""

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

    def initialize(self, backends: Backends) -> None:
        self.backends = backends

    def set_default_headers(self) -> None:
        self.clear_header("Content-Type")  # the page server's own headers are sent instead
        self.clear_header("Server")

    async def _forward(self) -> None:
        cookie = self.get_cookie(COOKIE)
        index = self.backends.choose(cookie)
        response = await self._fetch(index)
        if response.code == 599 and self.request.method in ("GET", "HEAD"):
            index = self.backends.choose(None, avoid=index)  # that page server is down
            response = await self._fetch(index)
        if response.code == 599:
            self.set_status(502)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish("The page server did not answer; try again in a minute.\n")
            return
        self.set_status(response.code, response.reason)
        for name, value in response.headers.get_all():
            if name.lower() not in HOP_BY_HOP:
                self.add_header(name, value)
        if cookie != str(index):
            self.set_cookie(COOKIE, str(index), httponly=True, samesite="Lax")
        if response.body and self.request.method != "HEAD":
            self.write(response.body)
        self.finish()

    async def _fetch(self, index: int) -> tornado.httpclient.HTTPResponse:
        method = self.request.method
        request = tornado.httpclient.HTTPRequest(
            f"http://127.0.0.1:{self.backends.ports[index]}{self.request.uri}",
            method=method,
            headers=_forwarded_headers(self),
            body=self.request.body if method in ("POST", "PUT", "PATCH") else None,
            follow_redirects=False,
            decompress_response=False,
            allow_nonstandard_methods=True,
            request_timeout=600,
        )
        try:
            return await tornado.httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        except OSError as exc:
            return tornado.httpclient.HTTPResponse(request, 599, error=exc)

    get = head = post = put = patch = delete = options = _forward


class _Socket(tornado.websocket.WebSocketHandler):
    """A browser's websocket, joined to one on the page server that built its page."""

    def initialize(self, backends: Backends) -> None:
        self.backends = backends
        self.upstream: tornado.websocket.WebSocketClientConnection | None = None

    def check_origin(self, origin: str) -> bool:
        return True  # passed on: the page server checks it against its allowed origins

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return subprotocols[0] if subprotocols else None  # Bokeh's "bokeh", its token after

    async def open(self, *args: str) -> None:
        index = self.backends.choose(self.get_cookie(COOKIE))
        port = self.backends.ports[index]
        request = tornado.httpclient.HTTPRequest(
            f"ws://127.0.0.1:{port}{self.request.uri}", headers=_forwarded_headers(self)
        )
        try:
            self.upstream = await tornado.websocket.websocket_connect(
                request,
                subprotocols=self.request.headers.get("Sec-WebSocket-Protocol", "").split(", "),
                on_message_callback=self._from_page_server,
                max_message_size=MAX_MESSAGE_BYTES,
            )
        except (OSError, tornado.httpclient.HTTPClientError) as exc:
            log.warning(
                "websocket %s: page server on port %s refused: %s", self.request.uri, port, exc
            )
            self.close(1011, "the page server did not answer")

    def on_message(self, message: str | bytes) -> None:
        if self.upstream is not None:
            self.upstream.write_message(message, binary=isinstance(message, bytes))

    def _from_page_server(self, message: str | bytes | None) -> None:
        if message is None:
            self.close()
        elif self.ws_connection is not None:
            self.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        if self.upstream is not None:
            self.upstream.close()


class StickyProxy:
    """The proxy of :mod:`app.sticky_proxy` on ``address:port``, in front of ``ports``."""

    def __init__(self, ports: list[int]) -> None:
        self.backends = Backends(ports)
        tornado.httpclient.AsyncHTTPClient.configure(None, max_clients=1000)
        settings = {"websocket_max_message_size": MAX_MESSAGE_BYTES}
        handlers = [
            (r".*/ws", _Socket, {"backends": self.backends}),
            (r".*", _Forward, {"backends": self.backends}),
        ]
        self.application = tornado.web.Application(handlers, **settings)

    def listen(self, address: str, port: int) -> None:
        self.application.listen(port, address=address, xheaders=False)


def free_port() -> int:
    """A loopback port no one listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PageServers:
    """``count`` page servers of the workspace (``gic serve`` on loopback ports, no background
    work, no demo services), each a :class:`~data_access.background.KeptProcess` (started
    again if it stops), until :meth:`stop`.

    Parameters
    ----------
    root : Path
        The workspace.
    count : int
    public_port : int
        The port the browsers reach (its websocket origins are allowed).
    """

    def __init__(self, root: Path, count: int, public_port: int) -> None:
        self.root = Path(root)
        self.public_port = public_port
        self.ports = [free_port() for _ in range(count)]
        self.servers = [
            KeptProcess(
                f"page server {index}",
                lambda port=port: self.command(port),
                self.root / "logs" / f"page-server-{index}.log",
                first_wait_s=2.0,
            )
            for index, port in enumerate(self.ports)
        ]

    def command(self, port: int) -> list[str]:
        gic = [sys.executable, "-m", "app.cli", "--workspace", str(self.root)]
        options = ["--address", "127.0.0.1", "--port", str(port), "--processes", "1"]
        options += ["--public-port", str(self.public_port), "--background", "never"]
        return [*gic, "serve", *options, "--no-services"]

    def start(self) -> PageServers:
        for server in self.servers:
            server.start()
        deadline = time.monotonic() + STARTUP_S
        for port in self.ports:
            while not _listening(port):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the page server on port {port} did not start")
                time.sleep(0.2)
        return self

    def stop(self) -> None:
        for server in self.servers:  # all asked at once, then each waited for
            server.terminate()
        for server in self.servers:
            server.stop()


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True
