"""Documents from the CDB's HTTP endpoint."""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import requests

from analysis.limits import load_json
from data_access.cdb.sync import FetchedPage, StatusSourceError, newest_position
from data_access.config import CdbHttpConfig
from data_access.redact import redact_url
from data_access.safe_files import write_atomic
from data_access.telemetry.store import MAX_FILE_BYTES, StatusDocument

#: Largest answer of an HTTP source read, in bytes (the largest status document ingested).
MAX_ANSWER_BYTES = MAX_FILE_BYTES

#: The source's name, as stored beside every document it brought.
CDB_HTTP = "cdb-http"

T = TypeVar("T")


_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


class AttemptFailed(RuntimeError):
    """An attempt worth repeating failed (a timeout, a refused connection, a 5xx answer);
    the text says why, never the URL."""


def with_retries(
    attempt: Callable[[], T],
    *,
    retries: int,
    backoff_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``attempt()``, repeated ``retries`` times while it raises :class:`AttemptFailed`,
    waiting ``backoff_s``, then twice as long after each further failure.

    Raises
    ------
    AttemptFailed
        The last failure, its text followed by the number of attempts made.
    """
    attempts = retries + 1
    for number in range(attempts):
        if number:
            sleep(backoff_s * 2 ** (number - 1))
        try:
            return attempt()
        except AttemptFailed as exc:
            failure = str(exc)
    tries = f"{attempts} attempts" if attempts > 1 else "1 attempt"
    raise AttemptFailed(f"{failure} after {tries}")


def status_failure(answer: requests.Response, where: str, error: type[Exception]) -> Exception:
    """The error of a request answered with a status that is not a success: an
    :class:`AttemptFailed` for a 5xx answer (worth repeating), else ``error`` naming
    ``where`` and the status (not retried)."""
    failure = f"HTTP {answer.status_code} {answer.reason or ''}".strip()
    if answer.status_code >= 500:
        return AttemptFailed(failure)
    return error(f"{where}: {failure} (not retried)")


def request_failure(exc: requests.RequestException, timeout_s: float) -> str:
    """What went wrong with a request, without the URL (whose query may hold a secret)."""
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout_s:g} s"
    found = _ERRNO_TEXT.search(str(exc))
    return found.group(1).strip().lower() if found else f"cannot connect ({type(exc).__name__})"


def _bounded_content(answer: requests.Response, where: str) -> bytes:
    """The body of a streamed answer, refused once it exceeds :data:`MAX_ANSWER_BYTES`.

    Raises
    ------
    StatusSourceError
        Naming ``where`` and the limit.
    """
    content = bytearray()
    for chunk in answer.iter_content(chunk_size=1 << 20):
        content += chunk
        if len(content) > MAX_ANSWER_BYTES:
            raise StatusSourceError(
                f"{where}: the answer is larger than the {MAX_ANSWER_BYTES} bytes allowed"
            )
    return bytes(content)


class CdbHttpSource:
    """Status documents from the CDB's HTTP endpoint.

    The contract: ``GET url?since=CURSOR`` answers a JSON list of the status records
    newer than ``since`` (every record when ``since`` is absent). A non-empty answer is
    kept as received under ``raw_dir`` and ingested under the key of its SHA-256, so a
    repeated answer adds nothing; the cursor becomes the newest record date of an answer
    that went in. A malformed answer is kept and handed to the ingest, which rejects it
    with the reason (and the cursor stays).

    Parameters
    ----------
    config : CdbHttpConfig
        ``url``, ``timeout_s``, ``retries``, ``backoff_s``.
    raw_dir : Path
        Folder for the answers as received (``WORKSPACE/raw/status/cdb-http``).
    session : requests.Session, optional
        Used for every request (authentication, proxies); by default each fetch opens
        and closes its own.
    sleep : callable(seconds), optional
        Waits between attempts (tests pass a recorder).
    url : str, optional
        The endpoint read instead of ``config.url`` (same contract, same settings).
    url_setting : str, optional
        The configuration key of ``url``, named in errors.
    date_key : str, optional
        The key of a record's date in the answer (``DATE`` for calibration reports).
    """

    name = CDB_HTTP

    def __init__(
        self,
        config: CdbHttpConfig,
        raw_dir: Path,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        url: str | None = None,
        url_setting: str = "cdb.http.url",
        date_key: str = "date",
    ) -> None:
        self.url = config.url if url is None else url
        if not self.url:
            raise ValueError(f"{url_setting} is empty: the HTTP source is off")
        self.config = config
        self.raw_dir = Path(raw_dir)
        self.session = session
        self._sleep = sleep
        self.date_key = date_key

    def __repr__(self) -> str:
        return f"CdbHttpSource({redact_url(self.url)!r})"

    def request_params(self, cursor: str | None) -> dict[str, str]:
        """The query parameters of a fetch from ``cursor``."""
        return {"since": cursor} if cursor else {}

    def fetch(self, cursor: str | None) -> bytes:
        """The endpoint's answer to a fetch from ``cursor``, retrying where it makes sense.

        Connection errors, timeouts and 5xx answers are retried ``config.retries`` times,
        waiting ``backoff_s``, then twice as long after each further failure; a 4xx answer
        is not retried.

        Raises
        ------
        StatusSourceError
            Naming the URL (its secrets masked) and the HTTP status or the failure; also
            when the answer is larger than :data:`MAX_ANSWER_BYTES`.
        ValueError
            If ``retries`` is negative, ``timeout_s`` not positive or ``backoff_s`` negative.
        """
        c = self.config
        if c.retries < 0 or c.timeout_s <= 0 or c.backoff_s < 0:
            raise ValueError(
                "cdb.http needs retries >= 0, timeout_s > 0 and backoff_s >= 0, got "
                f"{c.retries}, {c.timeout_s}, {c.backoff_s}"
            )
        with contextlib.ExitStack() as stack:
            session = self.session or stack.enter_context(requests.Session())
            return self._fetch(session, cursor)

    def _fetch(self, session: requests.Session, cursor: str | None) -> bytes:
        c, where = self.config, redact_url(self.url)

        def attempt() -> bytes:
            try:
                with session.get(
                    self.url, params=self.request_params(cursor), timeout=c.timeout_s, stream=True
                ) as answer:
                    if 200 <= answer.status_code < 300:
                        return _bounded_content(answer, f"CDB endpoint {where}")
            except requests.RequestException as exc:
                raise AttemptFailed(request_failure(exc, c.timeout_s)) from None
            raise status_failure(answer, f"CDB endpoint {where}", StatusSourceError)

        try:
            return with_retries(
                attempt, retries=c.retries, backoff_s=c.backoff_s, sleep=self._sleep
            )
        except AttemptFailed as exc:
            raise StatusSourceError(f"CDB endpoint {where}: {exc}") from None

    def collect(self, cursor: str | None) -> Iterator[FetchedPage]:
        """One page with the endpoint's answer since ``cursor``, or nothing if it is ``[]``."""
        content = self.fetch(cursor)
        try:
            records = load_json(content)
        except ValueError:  # not JSON, or nested too deeply: kept, and the ingest says why
            records = None
        if records == []:
            return
        sha = hashlib.sha256(content).hexdigest()
        path = write_atomic(self.raw_dir, f"{sha}.json", content)
        dates = (
            [r.get(self.date_key) for r in records if isinstance(r, dict)]
            if isinstance(records, list)
            else []
        )
        newest = newest_position([d for d in dates if isinstance(d, str)])
        yield FetchedPage([StatusDocument(self.name, sha, path)], {sha: newest} if newest else {})
