"""A sandbox of the SVOM science database: the import and export APIs on loopback.

``gic sandbox serve`` runs it so that the demo and the tests work offline; the client
(:class:`~data_access.products.sdb_client.SdbClient`) is the same one that talks to the real
servers. What it receives is stored on disk::

    STORAGE/cards/<CARD>.json                 product cards (a_spjson)
    STORAGE/products/<burst ID>/<file>.fits   products (a_product), checked against their card
    STORAGE/images/<burst ID>/<file>          images, put there by whoever seeds the sandbox

Endpoints (the OpenAPI description is served at ``/openapi.json``):

- ``POST /import/v0/a_spjson`` form field ``spjson``: ``{"OK": "SP Card updated."}``
- ``POST /import/v0/a_product`` form field ``product``: ``{"OK": "Product inserted."}``, or
  HTTP 400 ``{"error": ..., "deviations": [...]}`` when the file does not match its card
- ``GET /export/v0/products?burst_id=X`` and ``GET /export/v0/images?burst_id=X``
- ``GET /export/v0/products/<burst ID>/<name>`` and ``GET /export/v0/images/<burst ID>/<name>``
- ``GET /search/result/sp_cards``: the cards received

Faults can be injected for the tests (:meth:`SandboxServer.inject`): an HTTP status, a
delay, or a connection closed without an answer.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from analysis.limits import DocumentLimitError, load_json
from analysis.products.descriptor import MAX_DESCRIPTOR_CHARS, DescriptorError, ProductDescriptor
from analysis.products.validate import validate_product
from data_access.products.files import MAX_PRODUCT_BYTES, ProductFileError, read_fits_bytes
from data_access.safe_files import safe_file_stem, write_atomic

CARD_UPDATED = {"OK": "SP Card updated."}


class SandboxStorage:
    """The sandbox's files: cards, products and images by burst."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        for folder in ("cards", "products", "images"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    def card(self, card: str) -> ProductDescriptor | None:
        path = self.root / "cards" / f"{safe_file_stem(card)}.json"
        if not path.is_file():
            return None
        return ProductDescriptor.from_dict(load_json(path.read_bytes()), source=str(path))

    def cards(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "cards").glob("*.json"))

    def put_card(self, content: bytes) -> str:
        """Store a card (descriptor JSON); returns its name. Raises DescriptorError."""
        try:
            data = load_json(content.decode("utf-8"), max_bytes=MAX_DESCRIPTOR_CHARS)
        except DocumentLimitError as exc:
            raise DescriptorError(f"spjson: {exc}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DescriptorError(f"spjson: not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise DescriptorError("spjson: not a JSON object")
        descriptor = ProductDescriptor.from_dict(data, source="spjson")
        write_atomic(self.root / "cards", f"{safe_file_stem(descriptor.card)}.json", content)
        return descriptor.card

    def put_file(self, kind: str, burst_id: str, name: str, content: bytes) -> Path:
        folder = self.root / kind / safe_file_stem(burst_id)
        return write_atomic(folder, safe_file_stem(name), content)

    def listing(self, kind: str, burst_id: str) -> list[dict[str, Any]]:
        folder = self.root / kind / safe_file_stem(burst_id)
        items = []
        for path in sorted(folder.glob("*")) if folder.is_dir() else []:
            if path.is_file() and not path.name.startswith("."):
                content = path.read_bytes()
                card = path.name.split("_sb")[0] if kind == "products" else ""
                items.append(
                    {
                        "name": path.name,
                        "size": len(content),
                        "card": card,
                        "sha256": hashlib.sha256(content).hexdigest(),
                    }
                )
        return items

    def file(self, kind: str, burst_id: str, name: str) -> Path | None:
        path = self.root / kind / safe_file_stem(burst_id) / safe_file_stem(name)
        return path if path.is_file() else None


def check_product(storage: SandboxStorage, name: str, content: bytes) -> tuple[int, dict[str, Any]]:
    """The import API's answer to a product: read it, find its card, check it against the card."""
    try:
        hdul = read_fits_bytes(content, name)
    except ProductFileError as exc:
        return 400, {"error": str(exc)}
    header = hdul[0].header
    card, burst_id = header.get("CARD", ""), header.get("BURST_ID", "")
    descriptor = storage.card(card) if card else None
    if descriptor is None:
        return 400, {"error": f"{name}: unknown card {card!r}; insert it first with a_spjson"}
    report = validate_product(hdul, descriptor)
    if not report.valid:
        return 400, {
            "error": f"{name}: {len(report.deviations)} deviation(s) from {card}",
            "deviations": [str(d) for d in report.deviations],
        }
    existed = storage.file("products", burst_id, name) is not None
    storage.put_file("products", burst_id, name, content)
    return 200, {
        "OK": "Product updated." if existed else "Product inserted.",
        "card": card,
        "burst_id": burst_id,
        "name": name,
    }


def openapi() -> dict[str, Any]:
    """The OpenAPI 3 description of the sandbox."""
    answer = {
        "description": "answer",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    upload = lambda field: {  # noqa: E731
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [field],
                    "properties": {field: {"type": "string", "format": "binary"}},
                }
            }
        },
    }
    burst = {
        "name": "burst_id",
        "in": "query",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    }
    path_params = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
        for n in ("burst_id", "name")
    ]
    download = {
        "get": {
            "parameters": path_params,
            "responses": {
                "200": {
                    "description": "the file",
                    "content": {
                        "application/octet-stream": {
                            "schema": {"type": "string", "format": "binary"}
                        }
                    },
                },
                "401": answer,
                "404": answer,
            },
        }
    }
    refused = {"400": answer, "401": answer}  # a bad request; a missing or wrong token
    return {
        "openapi": "3.0.3",
        "info": {"title": "GIC SDB/MDB sandbox", "version": "1"},
        "paths": {
            "/import/v0/a_spjson": {
                "post": {
                    "requestBody": upload("spjson"),
                    "responses": {"200": answer, **refused, "413": answer},
                }
            },
            "/import/v0/a_product": {
                "post": {
                    "requestBody": upload("product"),
                    "responses": {"200": answer, **refused, "413": answer},
                }
            },
            "/export/v0/products": {
                "get": {"parameters": [burst], "responses": {"200": answer, **refused}}
            },
            "/export/v0/images": {
                "get": {"parameters": [burst], "responses": {"200": answer, **refused}}
            },
            "/export/v0/products/{burst_id}/{name}": download,
            "/export/v0/images/{burst_id}/{name}": download,
            "/search/result/sp_cards": {"get": {"responses": {"200": answer, "401": answer}}},
        },
    }


class SandboxServer:
    """The sandbox on ``host:port`` (port 0: a free one), served from a thread.

    Parameters
    ----------
    storage : Path
        Where the received files go (see the module docstring).
    host : str, optional
    port : int, optional
    token : str or None, optional
        When set, requests must carry ``Authorization: Bearer <token>``.
    """

    def __init__(
        self, storage: Path, *, host: str = "127.0.0.1", port: int = 0, token: str | None = None
    ) -> None:
        self.storage = SandboxStorage(storage)
        self.token = token
        self.requests: list[tuple[str, str]] = []
        self._faults: deque[tuple[str, float]] = deque()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def inject(self, *faults: tuple[str, float]) -> None:
        """Answer the next requests with these faults, in turn: ``("status", 500)``,
        ``("delay", seconds)`` (then answer normally), ``("close", 0)`` (no answer)."""
        with self._lock:
            self._faults.extend(faults)

    def next_fault(self) -> tuple[str, float] | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def start(self) -> SandboxServer:
        """Serve from a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self._httpd.serve_forever()

    def close_socket(self) -> None:
        """Release the port (after :meth:`serve_forever` returned)."""
        self._httpd.server_close()

    def close(self) -> None:
        """Stop serving (from another thread than the one serving) and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _handler(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

        def _reply(self, status: int, body: Any, content_type: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")  # a body left unread cannot spoil the next
            self.close_connection = True
            self.end_headers()
            self.wfile.write(data)

        def _faulted(self) -> bool:
            server.requests.append((self.command, self.path))
            fault = server.next_fault()
            if fault is None:
                return False
            kind, value = fault
            if kind == "delay":
                time.sleep(value)
                return False
            if kind == "close":
                self.close_connection = True
                self.connection.close()
                return True
            self._reply(int(value), {"error": f"injected HTTP {int(value)}"})
            return True

        def _authorised(self) -> bool:
            if server.token and self.headers.get("Authorization") != f"Bearer {server.token}":
                self._reply(401, {"error": "missing or wrong token"})
                return False
            return True

        def do_GET(self) -> None:  # noqa: N802
            if self._faulted() or not self._authorised():
                return
            parts = urlsplit(self.path)
            segments = [unquote(s) for s in parts.path.strip("/").split("/")]
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/openapi.json":
                return self._reply(200, openapi())
            if parts.path == "/search/result/sp_cards":
                return self._reply(200, {"cards": server.storage.cards()})
            if (
                segments[:2] == ["export", "v0"]
                and len(segments) == 3
                and segments[2] in ("products", "images")
            ):
                burst_id = query.get("burst_id", "")
                if not burst_id:
                    return self._reply(400, {"error": "burst_id is required"})
                return self._reply(
                    200,
                    {
                        "burst_id": burst_id,
                        segments[2]: server.storage.listing(segments[2], burst_id),
                    },
                )
            if (
                segments[:2] == ["export", "v0"]
                and len(segments) == 5
                and segments[2] in ("products", "images")
            ):
                path = server.storage.file(segments[2], segments[3], segments[4])
                if path is None:
                    return self._reply(
                        404, {"error": f"no {segments[2][:-1]} {segments[4]!r} for {segments[3]!r}"}
                    )
                return self._reply(200, path.read_bytes(), "application/octet-stream")
            return self._reply(404, {"error": f"no such endpoint: {parts.path}"})

        def _form_file(self, field: str) -> tuple[str, bytes] | None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_PRODUCT_BYTES:
                self._reply(413, {"error": f"upload larger than {MAX_PRODUCT_BYTES} bytes"})
                return None
            body = self.rfile.read(length)
            content_type = self.headers.get("Content-Type", "")
            if not content_type.startswith("multipart/form-data"):
                self._reply(400, {"error": f"expected multipart/form-data with field {field!r}"})
                return None
            message = BytesParser(policy=HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body
            )
            for part in message.iter_parts() if message.is_multipart() else []:
                if part.get_param("name", header="content-disposition") == field:
                    return part.get_filename() or field, part.get_payload(decode=True) or b""
            self._reply(400, {"error": f"form field {field!r} missing"})
            return None

        def do_POST(self) -> None:  # noqa: N802
            if self._faulted() or not self._authorised():
                return
            path = urlsplit(self.path).path
            if path == "/import/v0/a_spjson":
                upload = self._form_file("spjson")
                if upload is None:
                    return None
                try:
                    server.storage.put_card(upload[1])
                except DescriptorError as exc:
                    return self._reply(400, {"error": str(exc)})
                return self._reply(200, CARD_UPDATED)
            if path == "/import/v0/a_product":
                upload = self._form_file("product")
                if upload is None:
                    return None
                status, answer = check_product(server.storage, Path(upload[0]).name, upload[1])
                return self._reply(status, answer)
            return self._reply(404, {"error": f"no such endpoint: {path}"})

    return Handler
