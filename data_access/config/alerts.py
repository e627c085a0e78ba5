"""Settings of the alerts (``[alerts]``) and of their sources: Comet, GCN Kafka, NATS."""

from __future__ import annotations

from dataclasses import dataclass, field

from data_access.config.setting import _setting


@dataclass(frozen=True)
class AlertsCometConfig:
    local_ivo: str = _setting(
        "ivo://svom/colibri", "IVOA identifier of this Comet broker (--local-ivo)"
    )
    receive_port: int = _setting(8099, "TCP port Comet receives packets on (gic alerts listen)")
    remote: str = _setting(
        "",
        "Remote broker host:port to subscribe to, e.g. 'fsc.svom.org:20099'; empty = receive only",
    )
    eventdb_dir: str = _setting(
        "comet/eventdb", "Comet's database of ivorns seen (--eventdb), relative to the workspace"
    )
    save_event_dir: str = _setting(
        "comet/events",
        "Folder Comet saves every packet in (--save-event), relative to the workspace",
    )


@dataclass(frozen=True)
class AlertsKafkaConfig:
    client_id: str = _setting("", "GCN Kafka client ID (gcn.nasa.gov credentials); empty = off")
    client_secret_env: str = _setting(
        "GCN_KAFKA_CLIENT_SECRET", "Environment variable holding the GCN Kafka client secret"
    )
    domain: str = _setting("gcn.nasa.gov", "GCN Kafka domain")
    group_id: str = _setting("colibri-gic", "Kafka consumer group (offsets are kept per group)")
    topics: tuple = _setting(
        (
            "gcn.notices.svom.voevent.eclairs",
            "gcn.notices.svom.voevent.grm",
            "gcn.notices.svom.voevent.mxt",
        ),
        "Kafka topics of VOEvent packets to consume",
    )
    json_topics: tuple = _setting(
        ("gcn.notices.svom", "gcn.notices.einstein_probe.wxt.alert"),
        "Kafka topics of GCN JSON notices to consume (SVOM, Einstein Probe WXT)",
    )
    bootstrap_servers: str = _setting(
        "",
        "host:port of a Kafka broker read without GCN credentials (a local or test broker); "
        "empty = GCN Kafka at the domain above",
    )
    session_timeout_s: float = _setting(
        45.0,
        "Seconds the broker waits for a silent consumer before another consumer of the group "
        "takes its topics over (Kafka session.timeout.ms)",
    )


@dataclass(frozen=True)
class AlertsNatsConfig:
    url: str = _setting(
        "", "NATS server of the operations feed, e.g. 'nats://host:4222'; empty = off"
    )
    subjects: tuple = _setting(
        (">",), "NATS subjects gic watch subscribes to ('>' = every subject)"
    )
    credentials_file: str = _setting("", "NATS .creds file (JWT and seed); empty = no credentials")
    spool_dir: str = _setting(
        "incoming/operations",
        "Folder (relative to the workspace) keeping messages received while the cache could not be reached",
    )


@dataclass(frozen=True)
class AlertsConfig:
    triggers_dir: str = _setting(
        "triggers", "Folder of trigger_<burstid>.dat files (relative to the workspace, or absolute)"
    )
    quarantine_dir: str = _setting(
        "quarantine",
        "Folder keeping malformed or hostile packets with the reason (relative or absolute)",
    )
    spool_dir: str = _setting(
        "incoming/alerts",
        "Folder (relative to the workspace) keeping packets received while the cache could not be reached",
    )
    max_packet_kb: int = _setting(
        1000, "Largest packet accepted, in kB; larger ones are quarantined"
    )
    cache_wait_s: float = _setting(
        1.0, "Seconds the alert handler retries a cache it cannot open before spooling the packet"
    )
    refresh_s: float = _setting(
        2.0, "Seconds between two looks of an open Alerts page for new alerts and messages"
    )
    comet: AlertsCometConfig = field(default_factory=AlertsCometConfig)
    kafka: AlertsKafkaConfig = field(default_factory=AlertsKafkaConfig)
    nats: AlertsNatsConfig = field(default_factory=AlertsNatsConfig)
