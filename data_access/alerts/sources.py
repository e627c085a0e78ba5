"""Where alerts and operations messages come from: Comet, GCN Kafka and NATS.

Every source hands its bytes to the same functions of :mod:`data_access.alerts.receive`
(:func:`~data_access.alerts.receive.receive_packet` for packets,
:func:`~data_access.alerts.receive.receive_operations_message` for NATS messages).

- **Comet** (VOEvent Transport Protocol): :func:`comet_command` builds the ``twistd -n comet``
  command line that receives locally and/or subscribes to a remote broker and runs
  ``gic-alert-handler`` on every packet, with Comet's ivorn database and saved events
  inside the workspace.
- **GCN Kafka**: :func:`consume_alerts` is the consumer loop, written against the small
  part of the confluent-kafka ``Consumer`` interface it uses (``consume``, ``commit``); it
  reads the VOEvent and the JSON topics (:func:`kafka_topics`) alike. Offsets are committed
  only after the packet is stored (or spooled, or quarantined); a commit refused while the
  broker is away is retried until it comes back. :func:`open_kafka_consumer` opens GCN
  Kafka with the credentials (:func:`open_gcn_consumer`), or a broker named by
  ``[alerts.kafka] bootstrap_servers`` without them (a local broker; the tests use
  librdkafka's mock cluster); :func:`replay_from` rewinds to a date.
- **NATS**: :func:`watch_operations` subscribes to the configured subjects, hands every
  message on, and reconnects for ever when the server goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from confluent_kafka import KafkaException

from analysis.voevent import VOEventError
from data_access.config import AlertsKafkaConfig
from data_access.workspace import Workspace

log = logging.getLogger(__name__)

HANDLER_SCRIPT = "gic-alert-handler"


# -- Comet --------------------------------------------------------------------------------
def find_script(name: str) -> Path | None:
    """A console script beside the running Python (the virtualenv's bin), else on PATH."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


def comet_command(
    workspace: Workspace,
    *,
    remote: str | None = None,
    receive: bool = True,
    receive_port: int | None = None,
    handler: Path | None = None,
    twistd: Path | None = None,
) -> list[str]:
    """The ``twistd -n comet`` command line of ``gic alerts listen``.

    Parameters
    ----------
    workspace : Workspace
        Gives the settings (``[alerts.comet]``) and the folders for ``--eventdb`` and
        ``--save-event-directory``; run the command with ``GIC_WORKSPACE`` set to its root.
    remote : str, optional
        ``host:port`` of a broker to subscribe to (default: ``[alerts.comet] remote``).
    receive : bool, optional
        Also listen for packets sent to this machine (``--receive``).
    receive_port : int, optional
        TCP port to receive on (default: ``[alerts.comet] receive_port``).
    handler, twistd : Path, optional
        The handler script and ``twistd`` (default: found beside the running Python).

    Raises
    ------
    FileNotFoundError
        If ``twistd`` or ``gic-alert-handler`` cannot be found (install the workbench).
    ValueError
        If nothing would be received (no remote and ``receive`` false).
    """
    settings = workspace.config.alerts.comet
    remote = settings.remote if remote is None else remote
    if not remote and not receive:
        raise ValueError("Comet would receive nothing: give a remote broker or receive locally")
    handler = handler or find_script(HANDLER_SCRIPT)
    twistd = twistd or find_script("twistd")
    for name, path in (("gic-alert-handler", handler), ("twistd (package comet)", twistd)):
        if path is None:
            raise FileNotFoundError(
                f"{name} not found; install the workbench with `pip install -e .`"
            )
    command = [
        str(twistd),
        "-n",
        "--pidfile=",
        "comet",
        f"--local-ivo={settings.local_ivo}",
        f"--eventdb={workspace.path(settings.eventdb_dir)}",
        "--save-event",
        f"--save-event-directory={workspace.path(settings.save_event_dir)}",
        f"--cmd={handler}",
    ]
    if receive:
        command += ["--receive", f"--receive-port={receive_port or settings.receive_port}"]
    if remote:
        command.append(f"--remote={remote}")
    return command


# -- GCN Kafka ----------------------------------------------------------------------------
class KafkaMessage(Protocol):
    """The part of ``confluent_kafka.Message`` the consumer loop uses."""

    def error(self) -> Any: ...
    def value(self) -> bytes | None: ...
    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...


class KafkaConsumer(Protocol):
    """The part of ``confluent_kafka.Consumer`` the consumer loop uses."""

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[KafkaMessage]: ...
    def commit(self, message: KafkaMessage | None = None, asynchronous: bool = True) -> Any: ...


@dataclass
class ConsumeSummary:
    """What a run of :func:`consume_alerts` did."""

    received: int = 0
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)
    commit_retries: int = 0


def consume_alerts(
    consumer: KafkaConsumer,
    receive: Callable[[bytes, str], object],
    *,
    stop: Callable[[], bool] = lambda: False,
    max_messages: int | None = None,
    batch: int = 10,
    timeout_s: float = 1.0,
) -> ConsumeSummary:
    """Consume alert packets (VOEvents or GCN JSON notices), hand each to ``receive``, commit
    its offset once it is kept.

    Parameters
    ----------
    consumer : KafkaConsumer
        A subscribed consumer with ``enable.auto.commit`` false.
    receive : callable(packet: bytes, source: str)
        Stores a packet (normally ``receive_packet`` on the workspace). A malformed packet
        raises :class:`~analysis.voevent.VOEventError` after being quarantined: its offset is
        committed too. Any other exception stops the loop with the offset not committed, so
        the packet comes again when the consumer restarts.
    stop : callable, optional
        Checked between batches; return True to stop.
    max_messages : int, optional
        Stop after this many messages (for tests and replays).
    batch, timeout_s : int, float, optional
        Messages and seconds of one ``consume`` call; ``timeout_s`` is also the wait between
        two tries of a commit the broker refused (it is away: the packet is already kept).

    Raises
    ------
    RuntimeError
        On a fatal Kafka error; the message gives Kafka's.
    """
    summary = ConsumeSummary()
    while not stop():
        for message in consumer.consume(num_messages=batch, timeout=timeout_s):
            error = message.error()
            if error is not None:
                if getattr(error, "fatal", lambda: False)():
                    raise RuntimeError(f"GCN Kafka: fatal error: {error}")
                log.warning("GCN Kafka: %s", error)
                summary.errors.append(str(error))
                continue
            where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
            try:
                receive(message.value() or b"", "kafka")
            except VOEventError as exc:  # already quarantined; do not read it again
                log.warning("GCN Kafka %s: %s", where, exc)
                summary.quarantined += 1
            _commit(consumer, message, summary, stop=stop, retry_s=timeout_s)
            summary.received += 1
            if max_messages is not None and summary.received >= max_messages:
                return summary
    return summary


def _commit(
    consumer: KafkaConsumer,
    message: KafkaMessage,
    summary: ConsumeSummary,
    *,
    stop: Callable[[], bool],
    retry_s: float,
) -> None:
    """Commit a kept packet's offset, trying again while the broker is away (until ``stop``:
    then the offset stays uncommitted and the packet, already kept, comes again).

    Raises
    ------
    RuntimeError
        On a fatal Kafka error.
    """
    while True:
        try:
            consumer.commit(message=message, asynchronous=False)
            return
        except KafkaException as exc:
            error = exc.args[0] if exc.args else exc
            if getattr(error, "fatal", lambda: False)():
                raise RuntimeError(f"GCN Kafka: fatal error on commit: {error}") from exc
            log.warning(
                "GCN Kafka: commit of offset %s refused (%s); retrying", message.offset(), error
            )
            summary.commit_retries += 1
            if stop():  # the packet is kept: it comes again after a restart, a duplicate
                return
            time.sleep(retry_s)


def kafka_topics(settings: AlertsKafkaConfig) -> list[str]:
    """The VOEvent topics, then the JSON topics, each once."""
    return list(dict.fromkeys([*settings.topics, *settings.json_topics]))


def open_kafka_consumer(settings: AlertsKafkaConfig, client_secret: str) -> Any:
    """The consumer of ``gic alerts kafka``: GCN Kafka with the credentials, or the broker of
    ``[alerts.kafka] bootstrap_servers`` without them; auto-commit off, in the group.

    Raises
    ------
    ValueError
        If GCN Kafka is meant and no client ID or secret is configured.
    """
    if not settings.bootstrap_servers:
        return open_gcn_consumer(settings, client_secret)
    from confluent_kafka import Consumer

    return Consumer({"bootstrap.servers": settings.bootstrap_servers, **_consumer_config(settings)})


def _consumer_config(settings: AlertsKafkaConfig) -> dict[str, Any]:
    return {
        "group.id": settings.group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": round(settings.session_timeout_s * 1000),
        "heartbeat.interval.ms": round(settings.session_timeout_s * 100),
    }


def replay_from(consumer: Any, topics: Iterable[str], since: datetime) -> None:
    """Subscribe so that every partition starts at the first message at or after ``since``.

    Parameters
    ----------
    consumer : confluent_kafka.Consumer
    topics : iterable of str
    since : datetime
        Aware, or naive meaning UTC.
    """
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    start_ms = int(since.timestamp() * 1000)

    def on_assign(cons: Any, partitions: list) -> None:
        for partition in partitions:
            partition.offset = start_ms
        cons.assign(cons.offsets_for_times(partitions, timeout=30))

    consumer.subscribe(list(topics), on_assign=on_assign)


def open_gcn_consumer(settings: AlertsKafkaConfig, client_secret: str) -> Any:
    """A real GCN Kafka consumer in the configured group, auto-commit off (thin on purpose).

    Raises
    ------
    ValueError
        If no client ID or secret is configured.
    """
    if not settings.client_id or not client_secret:
        raise ValueError(
            "GCN Kafka needs [alerts.kafka] client_id in gic.toml and the secret in "
            f"${settings.client_secret_env}"
        )
    from gcn_kafka import Consumer  # imported here: only this command needs librdkafka

    return Consumer(
        client_id=settings.client_id,
        client_secret=client_secret,
        domain=settings.domain,
        config=_consumer_config(settings),
    )


# -- NATS ---------------------------------------------------------------------------------
async def watch_operations(
    url: str,
    subjects: Iterable[str],
    on_message: Callable[[str, bytes], object],
    *,
    stop: asyncio.Event,
    credentials_file: str | None = None,
    reconnect_wait_s: float = 1.0,
) -> None:
    """Subscribe to NATS subjects until ``stop`` is set, handing every message to ``on_message``.

    The client reconnects for ever when the server goes away (first connection included).
    An exception raised by ``on_message`` is logged with the subject and the watch goes on:
    one bad message never stops the feed.

    Parameters
    ----------
    url : str
        ``nats://host:port``.
    subjects : iterable of str
    on_message : callable(subject: str, data: bytes)
    stop : asyncio.Event
    credentials_file : str, optional
        A NATS ``.creds`` file.
    reconnect_wait_s : float, optional
        Seconds between reconnection attempts.
    """
    import nats  # imported here: only ``gic watch`` needs it

    subjects = list(subjects)

    async def handle(msg: Any) -> None:
        try:
            on_message(msg.subject, msg.data)
        except Exception:  # noqa: BLE001 - the feed's boundary: log with the subject, go on
            log.exception("operations message on %s could not be recorded", msg.subject)

    async def on_error(exc: Exception) -> None:
        log.warning("NATS %s: %s", url, exc)

    async def on_disconnected() -> None:
        log.warning("NATS %s: disconnected; reconnecting", url)

    async def on_reconnected() -> None:
        log.info("NATS %s: reconnected", url)

    options = {
        "servers": [url],
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": reconnect_wait_s,
        "allow_reconnect": True,
        "connect_timeout": 2,
        "error_cb": on_error,
        "disconnected_cb": on_disconnected,
        "reconnected_cb": on_reconnected,
    }
    if credentials_file:
        options["user_credentials"] = credentials_file
    client = None
    while client is None and not stop.is_set():
        try:
            client = await nats.connect(**options)
        except (TimeoutError, OSError, nats.errors.NoServersError) as exc:
            log.warning(
                "NATS %s: cannot connect (%s); retrying in %.1f s", url, exc, reconnect_wait_s
            )
            await _wait(stop, reconnect_wait_s)
    if client is None:
        return
    for subject in subjects:
        await client.subscribe(subject, cb=handle)
    # the server has the subscriptions once it answers: "watching" holds from here (a server
    # gone meanwhile gets them again at the reconnection)
    with contextlib.suppress(nats.errors.FlushTimeoutError):
        await client.flush()
    log.info("NATS %s: watching %s", url, ", ".join(subjects))
    await stop.wait()
    await client.drain()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):  # the wait is over: try again
        await asyncio.wait_for(stop.wait(), timeout=seconds)
