"""``gic alerts kafka`` against a broker that speaks the Kafka protocol: librdkafka's mock
cluster (the library confluent-kafka ships), on loopback, with the real packets as messages.

The cluster is made through librdkafka's C mock API (``rd_kafka_mock_cluster_new``, the
cluster ``Producer({"test.mock.num.brokers": 1})`` starts), because only that API can take
its broker down and bring it back; topics, consumer groups and committed offsets behave as
a broker's.
"""

import ctypes
import dataclasses
import itertools
import json
import threading
from pathlib import Path

import confluent_kafka
import pytest

from app.cli import main
from data_access.alerts.receive import receive_packet
from data_access.alerts.sources import consume_alerts, kafka_topics, open_kafka_consumer
from data_access.stores import Stores
from data_access.workspace import Workspace
from tests.conftest import REPO, service_unavailable

EXAMPLES = REPO / "tests" / "data" / "gcn_notices"
_NAMES = itertools.count()


class MockCluster:
    """One librdkafka mock broker on loopback; ``down()``/``up()`` take it away and back."""

    def __init__(self) -> None:
        found = sorted(
            (Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs").glob(
                "librdkafka*.so*"
            )
        )
        if not found:
            service_unavailable("librdkafka of confluent-kafka not found (no mock cluster)")
        lib = self.lib = ctypes.CDLL(str(found[0]))
        lib.rd_kafka_conf_new.restype = ctypes.c_void_p
        lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
        lib.rd_kafka_conf_set.argtypes += [ctypes.c_char_p, ctypes.c_size_t]
        lib.rd_kafka_new.restype = ctypes.c_void_p
        lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p]
        lib.rd_kafka_new.argtypes += [ctypes.c_size_t]
        lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
        lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
        lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
        for name in ("rd_kafka_mock_broker_set_down", "rd_kafka_mock_broker_set_up"):
            getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_int32]
        lib.rd_kafka_mock_group_initial_rebalance_delay_ms.argtypes = [ctypes.c_void_p]
        lib.rd_kafka_mock_group_initial_rebalance_delay_ms.argtypes += [ctypes.c_int32]
        lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.rd_kafka_mock_topic_create.argtypes += [ctypes.c_int, ctypes.c_int]
        lib.rd_kafka_mock_cluster_destroy.argtypes = [ctypes.c_void_p]
        lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
        errors = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        lib.rd_kafka_conf_set(conf, b"log_level", b"0", errors, 512)
        self._handle = lib.rd_kafka_new(0, conf, errors, 512)  # 0: a producer handle
        self._cluster = lib.rd_kafka_mock_cluster_new(self._handle, 1)
        lib.rd_kafka_mock_group_initial_rebalance_delay_ms(self._cluster, 0)
        self.bootstrap = lib.rd_kafka_mock_cluster_bootstraps(self._cluster).decode()

    def down(self) -> None:
        self.lib.rd_kafka_mock_broker_set_down(self._cluster, 1)

    def up(self) -> None:
        self.lib.rd_kafka_mock_broker_set_up(self._cluster, 1)

    def produce(self, topic: str, values: list[bytes]) -> None:
        """Create ``topic`` (one partition) and put ``values`` in it, in order."""
        self.lib.rd_kafka_mock_topic_create(self._cluster, topic.encode(), 1, 1)
        producer = confluent_kafka.Producer({"bootstrap.servers": self.bootstrap, "log_level": 0})
        for value in values:
            producer.produce(topic, value)
        assert producer.flush(10) == 0

    def committed(self, group: str, topic: str) -> int:
        consumer = confluent_kafka.Consumer(
            {"bootstrap.servers": self.bootstrap, "group.id": group, "log_level": 0}
        )
        try:
            (partition,) = consumer.committed([confluent_kafka.TopicPartition(topic, 0)], 10)
        finally:
            consumer.close()
        return partition.offset

    def close(self) -> None:
        self.lib.rd_kafka_mock_cluster_destroy(self._cluster)
        self.lib.rd_kafka_destroy(self._handle)


@pytest.fixture(scope="module")
def cluster():
    mock = MockCluster()
    yield mock
    mock.close()


@pytest.fixture
def kafka_ws(tmp_path, cluster):
    """A workspace reading a VOEvent topic and a JSON topic of their own from the mock; a
    short session, so that a restarted consumer of the group gets the topics within seconds
    (the mock hands them over when the old member's session ends)."""
    n = next(_NAMES)
    root = tmp_path / "ws"
    root.mkdir()
    (root / "gic.toml").write_text(
        f'[alerts.kafka]\nbootstrap_servers = "{cluster.bootstrap}"\ngroup_id = "gic-{n}"\n'
        f'topics = ["voevent-{n}"]\njson_topics = ["json-{n}"]\nsession_timeout_s = 5.0\n',
        encoding="utf-8",
    )
    return Workspace.open(root)


@pytest.fixture
def packets(shared_data) -> list[bytes]:
    return [p.read_bytes() for p in sorted((shared_data / "voevents" / "svom").rglob("*.xml"))]


def stored(ws: Workspace):
    stores = Stores(ws)
    try:
        return stores.alerts.alerts()
    finally:
        stores.close()


def gic_kafka(ws: Workspace, count: int) -> int:
    return main(["--workspace", str(ws.root), "alerts", "kafka", "--max-messages", str(count)])


def test_restart_resumes_without_loss_or_duplicate(cluster, kafka_ws, packets, capsys):
    settings = kafka_ws.config.alerts.kafka
    notices = [p.read_bytes() for p in sorted(EXAMPLES.glob("*.json"))]
    packets = packets[::4]  # every instrument, retractions included; each store opens the cache
    cluster.produce(settings.topics[0], packets)
    cluster.produce(settings.json_topics[0], notices)
    total = len(packets) + len(notices)
    assert gic_kafka(kafka_ws, 5) == 0
    assert gic_kafka(kafka_ws, total - 5) == 0  # a new consumer of the group: the rest
    assert capsys.readouterr().out.splitlines() == [
        "5 packets, 0 quarantined",
        f"{total - 5} packets, 0 quarantined",
    ]
    frame = stored(kafka_ws)
    assert len(frame) == total and frame["ivorn"].is_unique and frame["duplicates"].sum() == 0
    assert set(frame["source"]) == {"kafka"}
    assert cluster.committed(settings.group_id, settings.topics[0]) == len(packets)
    assert cluster.committed(settings.group_id, settings.json_topics[0]) == len(notices)
    # the same burst as a VOEvent and as JSON notices: the JSON ones link to the example burst
    assert set(frame.loc[frame["burst_id"] == "sb24022203", "instrument"]) == {"ECLAIRs", "GRM"}


def test_offset_is_committed_only_after_the_packet_is_stored(cluster, kafka_ws, packets):
    settings = kafka_ws.config.alerts.kafka
    topic = settings.topics[0]
    cluster.produce(topic, packets[:4])
    kept = []

    def store_until_the_disk_fails(packet: bytes, source: str) -> None:
        if len(kept) == 2:
            raise OSError("No space left on device")
        receive_packet(kafka_ws, packet, source=source)
        kept.append(packet)

    consumer = open_kafka_consumer(settings, "")
    consumer.subscribe(kafka_topics(settings))
    try:
        with pytest.raises(OSError, match="No space left"):
            consume_alerts(consumer, store_until_the_disk_fails, batch=1)
    finally:
        consumer.close()
    assert cluster.committed(settings.group_id, topic) == 2  # the third was never stored
    assert gic_kafka(kafka_ws, 2) == 0
    assert len(stored(kafka_ws)) == 4 and stored(kafka_ws)["duplicates"].sum() == 0


def test_broker_goes_away_and_comes_back(cluster, kafka_ws, packets):
    # a session longer than the outage, however loaded the machine: the consumer stays a member
    settings = dataclasses.replace(kafka_ws.config.alerts.kafka, session_timeout_s=30.0)
    cluster.produce(settings.topics[0], packets[:6])

    def receive_and_lose_the_broker(packet: bytes, source: str) -> None:
        receive_packet(kafka_ws, packet, source=source)
        if len(stored(kafka_ws)) == 3:  # stored, not yet committed: the broker goes away
            cluster.down()
            threading.Timer(1.0, cluster.up).start()

    consumer = open_kafka_consumer(settings, "")
    consumer.subscribe(kafka_topics(settings))
    try:
        summary = consume_alerts(consumer, receive_and_lose_the_broker, batch=1, max_messages=6)
    finally:
        consumer.close()
    assert summary.received == 6 and summary.quarantined == 0
    assert cluster.committed(settings.group_id, settings.topics[0]) == 6
    frame = stored(kafka_ws)
    assert len(frame) == 6 and frame["duplicates"].sum() == 0


def test_poison_messages_are_quarantined_and_skipped(cluster, kafka_ws, packets, capsys):
    settings = kafka_ws.config.alerts.kafka
    bad_notice = json.loads((EXAMPLES / "svom_grm_trigger.example.json").read_text())
    bad_notice["ra"] = "north"
    cluster.produce(settings.topics[0], [packets[0], b"\x89PNG\r\n\x1a\n", packets[1]])
    cluster.produce(settings.json_topics[0], [json.dumps(bad_notice).encode()])
    assert gic_kafka(kafka_ws, 4) == 0
    assert capsys.readouterr().out.strip() == "4 packets, 2 quarantined"
    assert len(stored(kafka_ws)) == 2
    assert cluster.committed(settings.group_id, settings.topics[0]) == 3
    stores = Stores(kafka_ws)
    try:
        reasons = sorted(stores.alerts.quarantined()["reason"])
    finally:
        stores.close()
    assert reasons[0].startswith("JSON notice fails schema svom/trigger: field 'ra'")
    assert reasons[1].startswith("packet is neither XML nor JSON")
