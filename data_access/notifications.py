"""Telling people: events spooled in the workspace, sent by e-mail and webhook.

Any process (the alert handler, a CLI command, the server) raises an event with
:meth:`Notifier.raise_event`: one small JSON file written atomically in the spool's
``events/`` folder, so that raising never waits on a mail server. The one background
process (the server's scheduler, or ``gic notify send-pending``) calls
:meth:`Notifier.deliver_pending`, which gathers the events of one kind into one message
once ``window_s`` has passed since the first of them (a storm of packets makes one
message), puts one copy per channel in ``outbox/``, and sends each copy: by SMTP to
``mail_to``, and as ``{"text": ...}`` to an incoming webhook (Mattermost, Slack). A failed
copy is logged and tried again after a wait doubled at each failure; after
``max_attempts`` it is moved to ``failed/``.

Messages are plain text. Outside text (burst IDs, sensor names, errors) is never markup:
for the webhooks every Markdown special, ``&``, ``<``, ``>`` and ``@`` mentions are
escaped (:func:`webhook_text`).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import smtplib
import ssl
import time
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from data_access.config import NotificationsConfig
from data_access.safe_files import write_atomic

log = logging.getLogger("gic.notifications")

#: Each kind of event, as the settings switch it and as a message's subject names it.
KINDS: dict[str, str] = {
    "new_burst": "new burst",
    "retraction": "retraction",
    "invalid_master": "invalid master",
    "stale_sensor": "stale sensor",
    "failed_push": "failed push",
    "frames_ready": "frames ready for reprocessing",
    "reprocessed": "reprocessing done with the masters in force",
}

#: Most events a message lists; the others are counted.
MAX_LINES = 100

_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_MARKDOWN = re.compile(r"([\\`*_~\[\](){}#|!+>-])")


class DeliveryError(RuntimeError):
    """A message that a channel did not take; the text names the channel and the cause."""


def webhook_text(text: str) -> str:
    """``text`` shown as it is by a chat webhook (Mattermost's Markdown, Slack's mrkdwn).

    ``&``, ``<`` and ``>`` become entities (Slack's only escapes, which keep ``<!channel>``
    and ``<url|label>`` out), every other Markdown special gets a backslash (Mattermost
    hides it; Slack, which has no escape for ``*_~``, shows it), and ``@`` is followed by a
    zero-width space so that an outside text cannot mention ``@channel``. The pages'
    escaping (``app/markup.py``) follows the browser's rules, not the chats'.

    Examples
    --------
    >>> webhook_text("*sb25* <b> @all")
    '\\\\*sb25\\\\* &lt;b&gt; @\\u200ball'
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", text).replace("@", "@\u200b")


@dataclass
class DeliverySummary:
    """What one :meth:`Notifier.deliver_pending` did."""

    gathered: int = 0
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    given_up: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"{self.gathered} event(s) gathered, {len(self.sent)} sent, "
            f"{len(self.failed)} to retry, {len(self.given_up)} given up"
        )


class Notifier:
    """The notification spool of a workspace and its two channels.

    Parameters
    ----------
    config : NotificationsConfig
        The ``[notifications]`` settings.
    folder : Path
        The spool: ``events/``, ``outbox/``, ``failed/`` and the state of stale sensors.
    environ : mapping, optional
        Where the SMTP password is read (``smtp_password_env``); the process's environment
        by default.
    """

    def __init__(
        self,
        config: NotificationsConfig,
        folder: Path,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.folder = Path(folder)
        self.environ = os.environ if environ is None else environ

    @classmethod
    def from_workspace(cls, workspace) -> Notifier:
        """The notifier of a workspace, with its ``[notifications]`` settings."""
        config = workspace.config.notifications
        return cls(config, workspace.path(config.spool_dir))

    @property
    def channels(self) -> list[str]:
        """The channels configured: ``email`` and/or ``webhook``."""
        email = ["email"] if self.config.smtp_host and self.config.mail_to else []
        return email + (["webhook"] if self.config.webhook_url else [])

    def enabled(self, kind: str) -> bool:
        """Whether events of ``kind`` are told: switched on and a channel configured."""
        if kind not in KINDS:
            raise ValueError(f"unknown notification kind {kind!r}; known: {', '.join(KINDS)}")
        return bool(getattr(self.config, kind)) and bool(self.channels)

    # -- raising (any process) ----------------------------------------------------------
    def raise_event(self, kind: str, text: str, *, now: float | None = None) -> Path | None:
        """Spool one event of ``kind`` told by ``text`` (plain, may hold outside text; its
        control characters and line breaks become spaces).

        Never raises on a spool that cannot be written: the error is logged, and the work
        that raised the event goes on.

        Returns
        -------
        Path or None
            The event's file; None when the kind is off or the spool could not be written.
        """
        if not self.enabled(kind):
            return None
        now = time.time() if now is None else now
        text = " ".join(_CONTROLS.sub(" ", text).split())  # one line, whatever it quotes
        body = json.dumps({"kind": kind, "time": now, "text": text}).encode()
        name = f"{int(now * 1e6):020d}-{kind}-{uuid.uuid4().hex[:12]}.json"
        try:
            return write_atomic(self.folder / "events", name, body)
        except OSError as exc:
            log.error("notification %s not spooled in %s: %s", kind, self.folder, exc)
            return None

    def packet_stored(self, record, *, new_burst: bool) -> None:
        """Tell of an alert packet just stored: a retraction, or the first of its burst."""
        if record.retraction:
            retracted = f"burst {record.burst_id}" if record.burst_id else "the packets it cites"
            self.raise_event("retraction", f"{record.ivorn} retracts {retracted}")
        elif new_burst:
            where = (
                f" at RA {record.ra_deg:.4f} Dec {record.dec_deg:.4f} deg"
                if record.ra_deg is not None and record.dec_deg is not None
                else ""
            )
            self.raise_event(
                "new_burst", f"burst {record.burst_id} from {record.instrument}{where}"
            )

    def masters_invalid(self, night, outcomes: Iterable) -> None:
        """Tell of each master of a night's run that was found invalid (``rejected``)."""
        for o in outcomes:
            if o.action == "rejected":
                self.raise_event(
                    "invalid_master",
                    f"{o.caltype} master of {o.instrument}/{o.filter}, night {night:%Y%m%d}, "
                    f"is invalid: {o.detail}",
                )

    def push_failed(self, burst_id: str, file_name: str, error: str) -> None:
        """Tell of a product whose push to the SDB failed."""
        self.raise_event("failed_push", f"push of {file_name} (burst {burst_id}) failed: {error}")

    def sensors_stale(self, names: Iterable[str]) -> list[str]:
        """Tell of each sensor of ``names`` (those stale now) not already told as stale.

        A sensor that is no longer stale is forgotten, so that it is told again the next
        time it goes silent. Returns the names told now.
        """
        names = sorted(set(names))
        state = self.folder / "stale_sensors.json"
        try:
            told = set(json.loads(state.read_text(encoding="utf-8")))
        except (FileNotFoundError, ValueError):
            told = set()
        fresh = [name for name in names if name not in told]
        for name in fresh:
            self.raise_event("stale_sensor", f"sensor {name} is stale (no recent reading)")
        if set(names) != told:
            write_atomic(self.folder, state.name, json.dumps(names).encode())
        return fresh

    def check_sensors(self, status, *, stale_after_min: float) -> list[str]:
        """Tell of the sensors of ``status`` (a ``StatusStore``) newly stale: silent for more
        than ``stale_after_min`` minutes (:meth:`sensors_stale`). Returns those told."""
        if not self.enabled("stale_sensor"):
            return []
        latest = status.latest(stale_after=timedelta(minutes=stale_after_min))
        return self.sensors_stale(latest.loc[latest["stale"], "name"])

    # -- delivering (the one background process) ----------------------------------------
    def has_pending(self) -> bool:
        """Whether any event or message waits in the spool."""
        return any(
            next((self.folder / sub).glob("*.json"), None) is not None
            for sub in ("events", "outbox")
        )

    def deliver_pending(self, *, now: float | None = None) -> DeliverySummary:
        """Gather the events whose window has passed into messages and send every message
        due; another process delivering at the same time makes this one return at once."""
        summary = DeliverySummary()
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".deliver.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return summary
            now = time.time() if now is None else now
            summary.gathered = self._gather(now)
            for path in sorted((self.folder / "outbox").glob("*.json")):
                self._send_copy(path, now, summary)
        return summary

    def _gather(self, now: float) -> int:
        by_kind: dict[str, list[tuple[Path, dict]]] = {}
        for path in sorted((self.folder / "events").glob("[0-9]*.json")):
            try:
                event = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                log.error("notification event %s cannot be read, left out: %s", path, exc)
                path.unlink(missing_ok=True)
                continue
            by_kind.setdefault(event["kind"], []).append((path, event))
        gathered = 0
        for kind, events in by_kind.items():
            if min(e["time"] for _, e in events) + self.config.window_s > now:
                continue
            if kind not in KINDS:
                log.error("%d notification event(s) of unknown kind %r left out", len(events), kind)
            elif self.enabled(kind):
                self._queue(kind, [event for _, event in events], now)
                gathered += len(events)
            for path, _ in events:
                path.unlink(missing_ok=True)
        return gathered

    def _queue(self, kind: str, events: list[dict], now: float) -> None:
        label = KINDS[kind]
        subject = f"GIC Workbench: {label}" + (f" ({len(events)})" if len(events) > 1 else "")
        events = sorted(events, key=lambda e: e["time"])
        lines = [f"{_iso(e['time'])}  {e['text']}" for e in events[:MAX_LINES]]
        if len(events) > MAX_LINES:
            lines.append(f"... and {len(events) - MAX_LINES} more")
        stem = f"{int(now * 1e6):020d}-{kind}-{uuid.uuid4().hex[:12]}"
        for channel in self.channels:
            copy = {
                "channel": channel,
                "subject": subject,
                "lines": lines,
                "attempts": 0,
                "next_try": now,
            }
            write_atomic(
                self.folder / "outbox", f"{stem}-{channel}.json", json.dumps(copy).encode()
            )

    def _send_copy(self, path: Path, now: float, summary: DeliverySummary) -> None:
        raw = path.read_bytes()
        try:
            copy = json.loads(raw)
        except ValueError as exc:  # kept aside: it must not stop the others
            log.error("%s is not a message (%s), moved to failed/", path, exc)
            self._give_up(path, raw, summary)
            return
        if copy["next_try"] > now:
            return
        try:
            self._send(copy)
        except DeliveryError as exc:
            copy["attempts"] += 1
            if copy["attempts"] >= self.config.max_attempts:
                log.error("%s given up after %d attempts: %s", path.name, copy["attempts"], exc)
                self._give_up(path, json.dumps(copy).encode(), summary)
                return
            wait = min(self.config.retry_s * 2 ** (copy["attempts"] - 1), self.config.retry_max_s)
            copy["next_try"] = now + wait
            log.warning(
                "%s not delivered (attempt %d, next in %.0f s): %s",
                path.name,
                copy["attempts"],
                wait,
                exc,
            )
            write_atomic(path.parent, path.name, json.dumps(copy).encode())
            summary.failed.append(path.name)
            return
        path.unlink()
        summary.sent.append(path.name)

    def _give_up(self, path: Path, content: bytes, summary: DeliverySummary) -> None:
        write_atomic(self.folder / "failed", path.name, content)
        path.unlink()
        summary.given_up.append(path.name)

    def _send(self, copy: dict) -> None:
        if copy["channel"] == "email":
            self._send_email(copy["subject"], "\n".join(copy["lines"]))
        else:
            self._send_webhook(copy["subject"], copy["lines"])

    def _send_email(self, subject: str, body: str) -> None:
        config = self.config
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = config.mail_from
        message["To"] = ", ".join(config.mail_to)
        message.set_content(body + "\n")
        try:
            with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout_s) as smtp:
                if config.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if config.smtp_user:
                    smtp.login(config.smtp_user, self._smtp_password())
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(
                f"e-mail through {config.smtp_host}:{config.smtp_port}: {exc}"
            ) from exc

    def _smtp_password(self) -> str:
        name = self.config.smtp_password_env
        if not self.environ.get(name):
            raise DeliveryError(
                f"e-mail: notifications.smtp_user is set but ${name} (the password) is empty"
            )
        return self.environ[name]

    def _send_webhook(self, subject: str, lines: list[str]) -> None:
        if not self.config.webhook_url.startswith(("http://", "https://")):
            raise DeliveryError("webhook: notifications.webhook_url must be an http(s) URL")
        text = "\n".join(webhook_text(line) for line in [subject, *lines])
        request = urllib.request.Request(
            self.config.webhook_url,
            data=json.dumps({"text": text}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_s) as answer:
                answer.read()
        except OSError as exc:  # URLError and HTTPError (4xx, 5xx) are OSErrors
            raise DeliveryError(f"webhook {_host(self.config.webhook_url)}: {exc}") from exc


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _host(url: str) -> str:
    """The scheme and host of a webhook URL: its path is a secret and is never logged."""
    return "/".join(url.split("/")[:3])
