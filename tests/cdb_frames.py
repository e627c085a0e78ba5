"""A stand-in for the CDB's storage in tests: a real HTTP server on 127.0.0.1 serving the
files of a folder (with range requests) and a links document, and the links of frames."""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from astropy.io import fits

from tests.conftest import service_unavailable


class FrameServer:
    """Serves ``folder``'s files at ``/frames/<name>`` and :attr:`links` at ``/links``.

    ``stall_after`` (bytes) makes every frame answer stop sending there and hang until
    :meth:`close` (a download to kill); ``fail`` maps a name to a status answered instead.
    ``requests`` lists every path asked, with its Range header.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.links: Any = []
        self.stall_after: int | None = None
        self.fail: dict[str, int] = {}
        self.requests: list[tuple[str, str | None]] = []
        self._stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server spelling
                path = unquote(urlsplit(self.path).path)
                owner.requests.append((path, self.headers.get("Range")))
                try:
                    owner._answer(self, path)
                except (BrokenPipeError, ConnectionResetError):
                    return

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _answer(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        if path == "/links":
            self._send(handler, 200, json.dumps(self.links).encode())
            return
        name = path.removeprefix("/frames/")
        file = self.folder / name
        if name in self.fail or not file.is_file():
            self._send(handler, self.fail.get(name, 404), b"")
            return
        content = file.read_bytes()
        start = _range_start(handler.headers.get("Range"))
        if start >= len(content) and start:
            self._send(handler, 416, b"")
            return
        self._send(handler, 206 if start else 200, content[start:], stall=self.stall_after)

    def _send(self, handler, status: int, body: bytes, *, stall: int | None = None) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if stall is None:
            handler.wfile.write(body)
            return
        handler.wfile.write(body[:stall])
        handler.wfile.flush()
        self._stop.wait(30)

    def frame_url(self, name: str) -> str:
        return f"{self.url}/frames/{name}"

    def close(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[FrameServer]:
    """A :class:`FrameServer` over ``folder``, closed after; a server that cannot start is
    reported as a service unavailable."""
    try:
        server = FrameServer(folder)
    except OSError as exc:
        service_unavailable(f"a local HTTP server cannot start: {exc}")
    try:
        yield server
    finally:
        server.close()


def _range_start(header: str | None) -> int:
    if not header or not header.startswith("bytes="):
        return 0
    return int(header.removeprefix("bytes=").split("-", 1)[0] or 0)


def link_of(path: Path, location: str, *, night: str = "20250301", **changes) -> dict:
    """The links entry of a frame on disk (its type, instrument, filter, exposure from its
    header; its size and SHA-256), with ``changes`` applied (None removes a key)."""
    header = fits.getheader(path, ext=1 if path.name.endswith(".fz") else 0)
    key = "url" if location.startswith("http") else "path"
    entry = {
        key: location,
        "night": night,
        "instrument": header.get("INSTRUME", "CAM"),
        "filter": header.get("FILTER"),
        "type": str(header.get("IMAGETYP", "bias")).lower(),
        "exptime_s": float(header.get("EXPTIME", 0.0)),
        "size_bytes": path.stat().st_size,
        "checksum": "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}
