from datetime import UTC, datetime
from pathlib import Path

import pytest

from data_access.alerts.receive import receive_packet
from data_access.alerts.sources import comet_command, consume_alerts, replay_from
from data_access.stores import Stores


def test_comet_command_keeps_everything_in_the_workspace(workspace, tmp_path):
    handler, twistd = tmp_path / "gic-alert-handler", tmp_path / "twistd"
    command = comet_command(workspace, receive_port=18099, handler=handler, twistd=twistd)
    assert command[:4] == [str(twistd), "-n", "--pidfile=", "comet"]
    assert "--local-ivo=ivo://svom/colibri" in command
    assert "--receive" in command and "--receive-port=18099" in command
    assert f"--cmd={handler}" in command and "--save-event" in command
    assert f"--eventdb={workspace.root / 'comet' / 'eventdb'}" in command
    assert f"--save-event-directory={workspace.root / 'comet' / 'events'}" in command
    remote = comet_command(
        workspace, remote="fsc.svom.org:20099", receive=False, handler=handler, twistd=twistd
    )
    assert "--remote=fsc.svom.org:20099" in remote and "--receive" not in remote
    with pytest.raises(ValueError, match="receive nothing"):
        comet_command(workspace, receive=False, handler=handler, twistd=twistd)


class FakeError:
    def __init__(self, fatal: bool) -> None:
        self._fatal = fatal

    def fatal(self) -> bool:
        return self._fatal

    def __str__(self) -> str:
        return "broker transport failure"


class FakeMessage:
    """A message as confluent_kafka.Consumer.consume returns it."""

    def __init__(self, value: bytes, offset: int, error: FakeError | None = None) -> None:
        self._value, self._offset, self._error = value, offset, error

    def error(self):
        return self._error

    def value(self):
        return self._value

    def topic(self):
        return "gcn.notices.svom.voevent.eclairs"

    def partition(self):
        return 0

    def offset(self):
        return self._offset


class FakeConsumer:
    """The consumer boundary: hands out the given messages, records commits."""

    def __init__(self, messages: list[FakeMessage], events: list) -> None:
        self.messages, self.events = list(messages), events

    def consume(self, num_messages=1, timeout=-1):
        batch, self.messages = self.messages[:num_messages], self.messages[num_messages:]
        return batch

    def commit(self, message=None, asynchronous=True):
        assert asynchronous is False
        self.events.append(("commit", message.offset()))


def svom_packets(voevents: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((voevents / "svom").rglob("*.xml"))]


@pytest.mark.shared_data
def test_kafka_offsets_are_committed_only_after_storing(workspace, shared_data):
    packets = svom_packets(shared_data / "voevents")
    events: list = []
    messages = [FakeMessage(b, i) for i, b in enumerate(packets)]
    messages.insert(3, FakeMessage(b"", -1, FakeError(fatal=False)))
    messages.insert(5, FakeMessage(b"<VOEvent", 99))

    def receive(packet, source):
        events.append(("store", len(events)))
        return receive_packet(workspace, packet, source=source)

    summary = consume_alerts(FakeConsumer(messages, events), receive, max_messages=len(packets) + 1)
    assert summary.received == len(packets) + 1 and summary.quarantined == 1
    assert summary.errors == ["broker transport failure"]
    kinds = [kind for kind, _ in events]
    assert kinds == ["store", "commit"] * (len(packets) + 1)  # each commit follows its store
    stores = Stores(workspace)
    try:
        frame = stores.alerts.alerts()
        assert len(frame) == len(packets) and set(frame["source"]) == {"kafka"}
        assert len(stores.alerts.quarantined()) == 1
    finally:
        stores.close()


@pytest.mark.shared_data
def test_kafka_packet_not_stored_is_not_committed(workspace, shared_data):
    packets = svom_packets(shared_data / "voevents")[:3]
    events: list = []
    consumer = FakeConsumer([FakeMessage(b, i) for i, b in enumerate(packets)], events)

    def receive(packet, source):
        if len(events) == 2:
            raise OSError("disk full")
        events.append(("store", None))
        return receive_packet(workspace, packet, source=source)

    with pytest.raises(OSError, match="disk full"):
        consume_alerts(consumer, receive)
    assert [e for e in events if e[0] == "commit"] == [("commit", 0)]


def test_kafka_fatal_error_stops(workspace):
    consumer = FakeConsumer([FakeMessage(b"", 0, FakeError(fatal=True))], [])
    with pytest.raises(RuntimeError, match="fatal error"):
        consume_alerts(consumer, lambda packet, source: None)


def test_replay_from_a_date_seeks_every_partition():
    class Partition:
        def __init__(self, number):
            self.partition, self.offset = number, -1

    class Consumer:
        def subscribe(self, topics, on_assign):
            self.topics = topics
            on_assign(self, [Partition(0), Partition(1)])

        def offsets_for_times(self, partitions, timeout):
            self.asked = [p.offset for p in partitions]
            return partitions

        def assign(self, partitions):
            self.assigned = partitions

    consumer = Consumer()
    replay_from(consumer, ("a", "b"), datetime(2026, 2, 11, tzinfo=UTC))
    assert consumer.topics == ["a", "b"]
    assert consumer.asked == [1770768000000, 1770768000000] and len(consumer.assigned) == 2
