"""The client of the SVOM science database's import and export APIs (SDB/MDB).

In the astroquery style: ``SdbClient(base_url, token=..., timeout=...)``, a pure
``_payload`` method per request (testable offline), ``raise_for_status`` semantics and
parsed answers. The import API is the one the design notes show with curl::

    curl --form spjson=@DT_GFT_FGFT.json  $SDB/import/v0/a_spjson   → {"OK":"SP Card updated."}
    curl --form product=@DT_GFT_FGFT.fits $SDB/import/v0/a_product  → {"OK": ...} or an error

The export API searches a burst's products and images and downloads them. Timeouts,
refused connections and 5xx answers are retried with a doubling back-off; a 4xx answer
is not (the server has said no). ``gic sandbox serve`` implements both APIs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from analysis.limits import DocumentLimitError, load_json
from data_access.config import SdbConfig
from data_access.redact import redact_secrets, redact_url

IMPORT_CARD = "/import/v0/a_spjson"
IMPORT_PRODUCT = "/import/v0/a_product"
EXPORT_SEARCH = "/export/v0/{kind}"
EXPORT_FILE = "/export/v0/{kind}/{burst_id}/{name}"
KINDS = ("products", "images")
#: Largest JSON answer read, in bytes (an answer is a few kB; a listing, a few hundred).
MAX_ANSWER_BYTES = 16 * 1024 * 1024


class SdbError(RuntimeError):
    """The SDB could not be reached or answered with a failure; the message says which."""


class SdbUnavailable(SdbError):
    """No answer after every retry (timeout, refused connection, 5xx)."""


class SdbRejected(SdbError):
    """The SDB answered and refused the request (4xx, or an answer without "OK")."""

    def __init__(self, message: str, answer: Any) -> None:
        super().__init__(message)
        self.answer = answer


@dataclass(frozen=True)
class RemoteFile:
    """A file the export API lists: its name, kind, size (bytes), SHA-256 and burst."""

    burst_id: str
    kind: str
    name: str
    size: int
    sha256: str
    card: str = ""

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


class SdbClient:
    """The SDB/MDB import and export APIs.

    Parameters
    ----------
    base_url : str
        Import API root, e.g. ``https://svom-sdb.lal.in2p3.fr``.
    token : str or None, optional
        Sent as ``Authorization: Bearer <token>`` when given.
    timeout : float, optional
        Seconds before a request is abandoned.
    retries : int, optional
        Further attempts after a timeout, a refused connection or a 5xx answer.
    backoff_s : float, optional
        First wait between attempts, doubled each time.
    export_url : str or None, optional
        Export API root; ``base_url`` when None.
    sleep : callable, optional
        The wait function (tests pass a no-op).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff_s: float = 1.0,
        export_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"SDB URL must start with http:// or https://, got {redact_url(base_url)!r}"
            )
        self.base_url = base_url.rstrip("/")
        self.export_url = (export_url or base_url).rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._session = requests.Session()
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def from_config(cls, config: SdbConfig, environ: Mapping[str, str] | None = None) -> SdbClient:
        """A client for the URLs of ``[sdb]``; the token comes from the variable it names."""
        environ = os.environ if environ is None else environ
        return cls(
            config.import_url,
            token=environ.get(config.token_env) or None,
            timeout=config.timeout_s,
            retries=config.retries,
            backoff_s=config.backoff_s,
            export_url=config.export_url,
        )

    # -- payloads (pure) ----------------------------------------------------------------
    def _card_payload(self, card: str, descriptor_json: bytes) -> dict[str, Any]:
        return {
            "method": "POST",
            "url": self.base_url + IMPORT_CARD,
            "files": {"spjson": (f"{card}.json", descriptor_json, "application/json")},
        }

    def _product_payload(self, file_name: str, content: bytes) -> dict[str, Any]:
        if not file_name.endswith(".fits") or "/" in file_name:
            raise ValueError(f"product file name must be a bare *.fits name, got {file_name!r}")
        return {
            "method": "POST",
            "url": self.base_url + IMPORT_PRODUCT,
            "files": {"product": (file_name, content, "application/fits")},
        }

    def _search_payload(self, burst_id: str, kind: str) -> dict[str, Any]:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if not burst_id:
            raise ValueError("a burst ID is needed")
        return {
            "method": "GET",
            "url": self.export_url + EXPORT_SEARCH.format(kind=kind),
            "params": {"burst_id": burst_id},
        }

    def _download_payload(self, remote: RemoteFile) -> dict[str, Any]:
        path = EXPORT_FILE.format(
            kind=remote.kind,
            burst_id=quote(remote.burst_id, safe=""),
            name=quote(remote.name, safe=""),
        )
        return {"method": "GET", "url": self.export_url + path}

    # -- requests -----------------------------------------------------------------------
    def _send(self, payload: dict[str, Any]) -> requests.Response:
        what = f"{payload['method']} {redact_url(payload['url'])}"
        attempts = self.retries + 1
        wait = self.backoff_s
        for attempt in range(1, attempts + 1):
            try:
                response = self._session.request(timeout=self.timeout, **payload)
            except requests.Timeout:
                problem = f"no answer within {self.timeout:g} s"
            except requests.ConnectionError as exc:
                problem = f"cannot connect ({type(exc).__name__})"
            else:
                if response.status_code < 500:
                    return response
                problem = f"HTTP {response.status_code}: {redact_secrets(response.text[:200])}"
            if attempt < attempts:
                self._sleep(wait)
                wait *= 2
        raise SdbUnavailable(f"{what}: {problem} (after {attempts} attempt(s))")

    @staticmethod
    def _answer(response: requests.Response, what: str) -> dict[str, Any]:
        try:
            answer = load_json(response.content, max_bytes=MAX_ANSWER_BYTES)
        except DocumentLimitError as exc:
            answer = {"error": f"unreadable answer: {exc}"}
        except ValueError:
            answer = {"error": response.text[:500]}
        if not response.ok:
            raise SdbRejected(f"{what}: HTTP {response.status_code}: {_message(answer)}", answer)
        if not isinstance(answer, dict) or "OK" not in answer:
            raise SdbRejected(f"{what}: the server did not answer OK: {_message(answer)}", answer)
        return answer

    def upload_card(self, card: str, descriptor_json: bytes) -> dict[str, Any]:
        """Insert or update a product card (``a_spjson``); returns the answer (``{"OK": ...}``).

        Raises
        ------
        SdbUnavailable, SdbRejected
        """
        payload = self._card_payload(card, descriptor_json)
        return self._answer(self._send(payload), f"card {card}")

    def upload_product(self, file_name: str, content: bytes) -> dict[str, Any]:
        """Insert a product file (``a_product``); returns the answer (``{"OK": ...}``).

        Raises
        ------
        SdbUnavailable
            No answer after every retry.
        SdbRejected
            The server checked the file and refused it (the answer is in ``.answer``).
        """
        payload = self._product_payload(file_name, content)
        return self._answer(self._send(payload), f"product {file_name}")

    def search(self, burst_id: str, *, kind: str = "products") -> list[RemoteFile]:
        """The products (or images) the export API holds for a burst."""
        payload = self._search_payload(burst_id, kind)
        response = self._send(payload)
        if not response.ok:
            raise SdbRejected(
                f"search {kind} of {burst_id}: HTTP {response.status_code}", response.text[:500]
            )
        try:
            items = load_json(response.content, max_bytes=MAX_ANSWER_BYTES)[kind]
            return [
                RemoteFile(
                    burst_id=burst_id,
                    kind=kind,
                    name=i["name"],
                    size=int(i["size"]),
                    sha256=i["sha256"],
                    card=i.get("card", ""),
                )
                for i in items
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise SdbError(f"search {kind} of {burst_id}: unexpected answer: {exc}") from exc

    def download(self, remote: RemoteFile) -> bytes:
        """The bytes of a file the export API listed."""
        response = self._send(self._download_payload(remote))
        if not response.ok:
            raise SdbRejected(
                f"download {remote.name}: HTTP {response.status_code}", response.text[:500]
            )
        return response.content

    def close(self) -> None:
        self._session.close()


def answer_sentence(answer: Any) -> str:
    """What the SDB said, as a sentence for a person: the text of its ``OK`` (or ``error``,
    ``message``), ended with a full stop; "no answer" when there is none.

    >>> answer_sentence({"OK": "Product inserted.", "card": "DT_GFT_FGFT"})
    'Product inserted.'
    """
    if not answer:
        return "no answer."
    ok = answer.get("OK") if isinstance(answer, dict) else None
    said = (ok if isinstance(ok, str) else _message(answer) if ok is None else "OK").strip()
    said = said[:500] or "OK"
    return said if said.endswith((".", "!", "?")) else said + "."


def _message(answer: Any) -> str:
    if isinstance(answer, dict):
        return str(answer.get("error") or answer.get("message") or answer)[:500]
    return str(answer)[:500]
