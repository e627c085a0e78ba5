"""Settings of the telemetry (``[telemetry]``) and of the CDB it comes from (``[cdb]``:
its PostgreSQL table and its HTTP endpoint)."""

from __future__ import annotations

from dataclasses import dataclass, field

from data_access.config.setting import _setting


@dataclass(frozen=True)
class TelemetryConfig:
    drop_dir: str = _setting(
        "incoming/status",
        "Folder (relative to the workspace) whose new or changed status JSON files each sync ingests",
    )
    cadence_min: float = _setting(
        5.0, "Minutes between status files; the narrowest time bucket a plot draws"
    )
    stale_after_min: float = _setting(
        15.0, "A sensor whose latest reading is older than this many minutes is shown as stale"
    )
    max_points: int = _setting(
        2000, "Most points drawn per sensor line; longer ranges are aggregated into buckets"
    )
    refresh_s: float = _setting(
        30.0, "Seconds between the Telemetry page's checks for new readings"
    )
    batch_files: int = _setting(
        2000, "Status files read by one ingest transaction (each file is all in or all out)"
    )
    default_sensors: tuple = _setting(
        (
            "instrument-ddrago1-detector-temperature",
            "instrument-ddrago2-detector-temperature",
            "instrument-cagire-detector-temperature",
            "dome-enclosure-thermal-probe-00",
            "weather-station-ws1-air-temperature",
            "weather-station-ws1-air-humidity",
            "weather-station-ws1-wind-speed",
        ),
        "Sensors the Telemetry page plots while none is chosen (names as `gic status latest` "
        "lists them)",
    )


@dataclass(frozen=True)
class CdbPostgresConfig:
    dsn: str = _setting(
        "",
        "libpq connection string of the CDB, e.g. 'host=cdb dbname=colibri user=gic'; empty = off",
    )
    password_env: str = _setting(
        "GIC_CDB_PASSWORD", "Environment variable holding the CDB password (never put it here)"
    )
    status_table: str = _setting("status", "Table holding one status document (JSONB) per row")
    id_column: str = _setting("id", "Column identifying a row of the status table")
    json_column: str = _setting("data", "JSONB column holding the status document")
    date_column: str = _setting(
        "date", "Timestamp column read incrementally (rows at or after the last one seen)"
    )
    calibration_table: str = _setting(
        "calibration",
        "Table holding one calibration report (the notes' JSON) per row, same columns as "
        "the status table; empty = off",
    )


@dataclass(frozen=True)
class CdbHttpConfig:
    url: str = _setting(
        "",
        "CDB endpoint answering GET ?since=ISO with a status document (list of records); empty = off",
    )
    timeout_s: float = _setting(10.0, "Seconds before a request to the CDB endpoint is abandoned")
    retries: int = _setting(3, "Further attempts after a failed request (timeouts, 5xx, refused)")
    backoff_s: float = _setting(1.0, "First wait between attempts, doubled after each failure")
    calibration_url: str = _setting(
        "",
        "CDB endpoint answering GET ?since=ISO with a list of calibration reports (the notes' "
        "JSON) newer than since; empty = off",
    )


@dataclass(frozen=True)
class CdbConfig:
    postgres: CdbPostgresConfig = field(default_factory=CdbPostgresConfig)
    http: CdbHttpConfig = field(default_factory=CdbHttpConfig)
