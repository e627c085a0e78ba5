"""The workspace configuration: one TOML file, ``gic.toml``, with documented defaults.

Every setting is a field of a frozen dataclass below, with its default and a
``help`` text. :func:`load_config` reads the file, rejects an unknown key by naming
it and the file, and returns a frozen :class:`Config`. :func:`default_config_text`
writes the commented file a new workspace starts with, and :func:`describe_config`
lists every field for ``gic config --show`` and the README's reference table.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.products.settings import BuildSettings


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""


def _setting(default: Any, help: str) -> Any:  # noqa: A002 - "help" reads best in the tables
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class ServerConfig:
    address: str = _setting(
        "127.0.0.1", "Address the Panel server listens on (loopback only by default)"
    )
    port: int = _setting(5006, "TCP port of the Panel server")
    sync_every_s: float = _setting(
        60.0, "Seconds between the server's scheduled syncs of every configured source; 0 = never"
    )
    spool_every_s: float = _setting(
        2.0, "Seconds between the server's ingests of alerts spooled while it held the cache"
    )
    allow_websocket_origin: tuple = _setting(
        (), "Extra host:port origins allowed to open the websocket (behind a proxy)"
    )
    behind_tls: bool = _setting(
        False, "The server is reached through HTTPS (a TLS proxy): cookies Secure, HSTS sent"
    )
    processes: int = _setting(
        1,
        "Processes that build pages; above 1, `gic serve` listens through a small proxy that "
        "keeps each browser on the process that built its page",
    )
    background: str = _setting(
        "auto",
        "auto: a server process runs the background work when no other process of the "
        "workspace does (and takes it over when that one stops); never: leave it to `gic worker`",
    )


@dataclass(frozen=True)
class AuthConfig:
    users_file: str = _setting(
        "",
        "Users file (relative to the workspace; `gic users add`) that turns the login on; "
        "empty = single-user mode, loopback only",
    )
    session_days: float = _setting(1.0, "Days a login stays valid")
    login_max_failures: int = _setting(
        5, "Failed logins, per user and per address, that lock the login (0 = never locked)"
    )
    login_window_min: float = _setting(5.0, "Minutes over which failed logins are counted")
    login_lockout_min: float = _setting(
        15.0, "Minutes a locked user or address is refused, even with the right password"
    )
    oauth_provider: str = _setting(
        "",
        "Log in through an OAuth/OIDC provider of Panel's (generic, github, gitlab, azure, "
        "google, okta...) instead of passwords; roles still come from the users file",
    )
    oauth_key: str = _setting("", "The OAuth client ID")
    oauth_secret_env: str = _setting(
        "GIC_OAUTH_SECRET", "Environment variable holding the OAuth client secret"
    )
    oauth_redirect_uri: str = _setting("", "The OAuth redirect URI registered with the provider")
    oauth_extra: tuple = _setting(
        (), "Extra provider parameters as 'KEY=value', e.g. 'AUTHORIZE_URL=...' for generic"
    )


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


@dataclass(frozen=True)
class CalibrationLimitsConfig:
    bias_meandiff_min: float = _setting(-2.0, "Lowest MEANDIFF (ADU) of a valid master bias")
    bias_meandiff_max: float = _setting(2.0, "Highest MEANDIFF (ADU) of a valid master bias")
    bias_rmsdiff_min: float = _setting(0.0, "Lowest RMSDIFF (ADU) of a valid master bias")
    bias_rmsdiff_max: float = _setting(3.0, "Highest RMSDIFF (ADU) of a valid master bias")
    bias_meandiff_mode: str = _setting(
        "absolute",
        "How the bias MEANDIFF limits are read: absolute (ADU), relative (× the reference's "
        "MEAN) or noise (× the reference's RMS)",
    )
    bias_rmsdiff_mode: str = _setting(
        "absolute", "How the bias RMSDIFF limits are read: absolute, relative or noise"
    )
    dark_meandiff_min: float = _setting(
        -0.2, "Lowest MEANDIFF of a valid master dark (by default × the reference's MEAN)"
    )
    dark_meandiff_max: float = _setting(
        0.2, "Highest MEANDIFF of a valid master dark (by default: a 20 % change is flagged)"
    )
    dark_rmsdiff_min: float = _setting(
        0.0, "Lowest RMSDIFF of a valid master dark (by default × the reference's RMS)"
    )
    dark_rmsdiff_max: float = _setting(
        3.0, "Highest RMSDIFF of a valid master dark (by default × the reference's RMS)"
    )
    dark_meandiff_mode: str = _setting(
        "relative", "How the dark MEANDIFF limits are read: absolute, relative or noise"
    )
    dark_rmsdiff_mode: str = _setting(
        "noise", "How the dark RMSDIFF limits are read: absolute, relative or noise"
    )
    flat_meandiff_min: float = _setting(0.99, "Lowest mean of the ratio new/ref of a valid flat")
    flat_meandiff_max: float = _setting(1.01, "Highest mean of the ratio new/ref of a valid flat")
    flat_rmsdiff_min: float = _setting(0.0, "Lowest RMS of the ratio new/ref of a valid flat")
    flat_rmsdiff_max: float = _setting(0.02, "Highest RMS of the ratio new/ref of a valid flat")
    flat_meandiff_mode: str = _setting(
        "absolute", "How the flat MEANDIFF limits are read: absolute (a ratio), relative or noise"
    )
    flat_rmsdiff_mode: str = _setting(
        "absolute", "How the flat RMSDIFF limits are read: absolute, relative or noise"
    )
    overrides: tuple = _setting(
        (),
        "Limits for one instrument/filter: 'TYPE INSTRUMENT FILTER meandiff=LO:HI rmsdiff=LO:HI' "
        "(FILTER may be *; either limit may be left out; LO:HI:MODE sets its mode too)",
    )


@dataclass(frozen=True)
class CalibrationNightlyConfig:
    links_table: str = _setting(
        "calibration_links",
        "CDB table holding one calibration links document per row, same columns as the status "
        "table (read when cdb.postgres.dsn is set); empty = off",
    )
    links_url: str = _setting(
        "",
        "CDB endpoint answering GET ?since=YYYYMMDD with a calibration links document (the "
        "nights at or after since); empty = off",
    )
    links_drop_dir: str = _setting(
        "drop/calibration-links", "Folder (relative to the workspace) of links documents dropped"
    )
    delay_h: float = _setting(
        1.0, "Hours after the morning astronomical twilight at the site that the nightly run starts"
    )
    lookback_days: int = _setting(3, "Nights before today the background run still considers")
    download_timeout_s: float = _setting(
        60.0, "Seconds without data before a download is abandoned"
    )
    download_retries: int = _setting(3, "Further attempts after a failed download")
    download_backoff_s: float = _setting(1.0, "First wait between attempts, doubled after each")
    download_parallel: int = _setting(4, "Frames downloaded at once")
    publish_dir: str = _setting(
        "",
        "Local Storage folder (absolute, or relative to the workspace) where the masters in "
        "force are written for GP1; empty = off",
    )
    publish_pattern: str = _setting(
        "master_{caltype}_{instrument}_{filter}.fits",
        "File name of a published master: {caltype}, {instrument}, {filter}, {night} (YYYYMMDD)",
    )
    keep_raw_days: int = _setting(
        7,
        "Days raw calibration frames are kept after their night's masters were built and "
        "validated; 0 keeps them (masters and reports are never deleted)",
    )


@dataclass(frozen=True)
class CalibrationConfig:
    raw_dir: str = _setting(
        "raw/calibration", "Folder (relative to the workspace) of raw calibration frames"
    )
    night_folder: str = _setting(
        "{night}", "Sub-folder of raw_dir holding one night's frames; {night} is YYYYMMDD"
    )
    masters_dir: str = _setting(
        "masters",
        "Folder (relative to the workspace) of the masters: in force, old, history, rejected",
    )
    reports_dir: str = _setting(
        "reports/calibration", "Folder where gic calib run also writes each report as JSON"
    )
    type_key: str = _setting(
        "IMAGETYP", "Header keyword naming the frame type (bias, dark, flat...)"
    )
    instrument_key: str = _setting("INSTRUME", "Header keyword naming the instrument")
    filter_key: str = _setting("FILTER", "Header keyword naming the filter")
    exptime_key: str = _setting("EXPTIME", "Header keyword of the exposure time, s")
    date_key: str = _setting("DATE-OBS", "Header keyword of the start of the exposure (ISO 8601)")
    saturation_key: str = _setting(
        "SATURATE", "Header keyword of the saturation level, ADU (else saturation_level)"
    )
    saturation_level: float = _setting(65535.0, "Saturation level, ADU, when the header has none")
    temperature_key: str = _setting("CCD-TEMP", "Header keyword of the CCD temperature, °C")
    binning_keys: tuple = _setting(
        ("XBINNING", "YBINNING"), "Header keywords of the binning (x, y)"
    )
    temperature_tolerance: float = _setting(
        1.0,
        "A frame whose CCD temperature is farther than this from the series' median (°C) is "
        "left out",
    )
    reference_temperature_tolerance: float = _setting(
        2.0,
        "A master whose CCD temperature is farther than this (°C) from its reference's, or "
        "from the bias or dark it subtracted, is invalid (the report says why)",
    )
    max_saturated_fraction: float = _setting(
        0.01, "A frame with a larger fraction of saturated pixels is left out"
    )
    min_frames: int = _setting(3, "Fewest good frames a master is built from")
    max_bias_exptime: float = _setting(0.0, "Longest exposure time a bias may have, s")
    method: str = _setting("median", "Combine method: median, or mean (sigma-clipped)")
    sigma: float = _setting(3.0, "Clipping threshold of the mean, robust standard deviations")
    dark_per_second: bool = _setting(
        True, "Darks in counts per second; false keeps them at one exposure time (all equal)"
    )
    filter_free_types: tuple = _setting(
        ("bias", "dark"), "Types built per instrument whatever the filter (their FILTER is NONE)"
    )
    night_offset_h: float = _setting(
        -19.0, "Hours added to a UTC time to get its night's date (SPM: UTC-7, then -12 h)"
    )
    origin: str = _setting("OAN/SPM", "ORIGIN of the masters and reports when the frames have none")
    telescope: str = _setting(
        "COLIBRI", "TELESCOP of the masters and reports when the frames have none"
    )
    expected: tuple = _setting(
        (),
        "Series expected every night, as 'INSTRUMENT/FILTER/TYPE' (e.g. 'DDRAGO1/g/flat'); "
        "the completeness grid marks them missing when absent",
    )
    block_mib: int = _setting(64, "MiB of input rows held at once while combining")
    max_pixels: int = _setting(268435456, "Largest frame accepted, in pixels")
    residual_max_mean_noise: float = _setting(
        0.5, "Residual check: largest |mean residual|, in units of the frames' own noise"
    )
    residual_max_noise_ratio: float = _setting(
        1.3, "Residual check: largest residual noise over the frames' own noise"
    )
    limits: CalibrationLimitsConfig = field(default_factory=CalibrationLimitsConfig)
    nightly: CalibrationNightlyConfig = field(default_factory=CalibrationNightlyConfig)


#: The products' defaults, where the builders define them.
_BUILD = BuildSettings()


@dataclass(frozen=True)
class ProductsConfig:
    products_dir: str = _setting(
        "products", "Folder (relative to the workspace) of GFT products, one sub-folder per burst"
    )
    descriptors_dir: str = _setting(
        "",
        "Folder of product descriptors (JSON) to use instead of the shipped ones; empty = shipped",
    )
    quick_window_s: float = _setting(_BUILD.quick_window_s, "Quick window after T0 (QF, QLC), s")
    fit_start_s: float = _setting(
        0.0, "Start of the decay fits' window (QTI, broken law), s after T0; 0 = from T0"
    )
    fit_stop_s: float = _setting(
        0.0, "End of the decay fits' window, s after T0; 0 = no end (with 0 start: whole curve)"
    )
    proc_ver: str = _setting(_BUILD.proc_ver, "PROC_VER written in every product")
    pip_ver: str = _setting(_BUILD.pip_ver, "PIP_VER written in every product")
    creator: str = _setting(_BUILD.creator, "CREATOR written in every product")
    origin: str = _setting(_BUILD.origin, "ORIGIN written in every product")
    fchart_url: str = _setting(
        "", "Finding chart link written as FCHART; {burst_id} is replaced; empty = none"
    )
    push_claim_s: float = _setting(
        600.0, "Seconds after which a push that never finished (process killed) may be retried"
    )
    refresh_s: float = _setting(
        3.0, "Seconds between two looks of an open Products page for products changed elsewhere"
    )


@dataclass(frozen=True)
class SdbConfig:
    import_url: str = _setting(
        "http://127.0.0.1:5080",
        "Base URL of the SDB import API (POST /import/v0/a_spjson, /import/v0/a_product); "
        "the default is `gic sandbox serve`",
    )
    export_url: str = _setting(
        "http://127.0.0.1:5080", "Base URL of the MDB/SDB export API (search and download by burst)"
    )
    token_env: str = _setting(
        "GIC_SDB_TOKEN", "Environment variable holding the SDB token (sent as a Bearer token)"
    )
    timeout_s: float = _setting(30.0, "Seconds before a request to the SDB is abandoned")
    retries: int = _setting(3, "Further attempts after a failed request (timeouts, 5xx, refused)")
    backoff_s: float = _setting(1.0, "First wait between attempts, doubled after each failure")
    sandbox_port: int = _setting(5080, "TCP port of `gic sandbox serve` (loopback)")
    sandbox_dir: str = _setting(
        "sandbox", "Folder (relative to the workspace) where the sandbox stores what it receives"
    )


@dataclass(frozen=True)
class Gp2Config:
    scheduler_address: str = _setting(
        "",
        "Dask scheduler of a real cluster, e.g. 'tcp://gp2-scheduler:8786'; empty = a LocalCluster",
    )
    n_workers: int = _setting(2, "Workers of the LocalCluster (one per core is right)")
    threads_per_worker: int = _setting(1, "Threads per LocalCluster worker")
    processes: bool = _setting(
        False, "LocalCluster workers as processes (true) or threads of this process (false)"
    )
    memory_limit: str = _setting(
        "2GiB", "Memory limit of each LocalCluster worker (processes only)"
    )
    input_dir: str = _setting(
        "raw/gp2",
        "Folder (relative to the workspace) of the frames the Reprocess page offers, one "
        "sub-folder per burst or set of frames",
    )
    output_dir: str = _setting(
        "reprocessing", "Folder (relative to the workspace) of the runs the Reprocess page starts"
    )
    frame_roots: tuple = _setting(
        (),
        "Extra folders (absolute, or relative to the workspace) whose sub-folders the Reprocess "
        "page offers as frame folders, beside input_dir",
    )
    gp1_poll_s: float = _setting(2.0, "Seconds between two looks of gic gp1 at its input folder")
    sync_every_s: float = _setting(
        10.0,
        "Seconds between two looks of the server at the burst syncs requested (a NATS message "
        "or a notice naming a burst); 0 = the server runs none (gic gp2 sync still does)",
    )
    saturate_key: str = _setting(
        "SATURATE", "Header keyword GP2 reads the saturation level from (absent: no saturation)"
    )
    exptime_key: str = _setting("EXPTIME", "Header keyword GP2 reads the exposure time from, s")
    filter_key: str = _setting("FILTER", "Header keyword GP2 reads the filter from")
    instrument_key: str = _setting(
        "INSTRUME", "Header keyword GP2 reads the instrument from (absent: no instrument)"
    )
    date_obs_key: str = _setting(
        "DATE-OBS",
        "Header keyword GP2 reads the start of the exposure from, ISO 8601 UTC (else MJD-OBS)",
    )


@dataclass(frozen=True)
class SiteConfig:
    name: str = _setting("OAN San Pedro Martir", "The telescope's site, as pages name it")
    latitude_deg: float = _setting(31.0439, "Geodetic latitude of the telescope, deg (north > 0)")
    longitude_deg: float = _setting(
        -115.4637, "Geodetic longitude of the telescope, deg (east > 0, so SPM's is negative)"
    )
    elevation_m: float = _setting(2800.0, "Height of the telescope above sea level, m")


@dataclass(frozen=True)
class NotificationsConfig:
    smtp_host: str = _setting("", "SMTP server the e-mails go through; empty = no e-mail")
    smtp_port: int = _setting(25, "TCP port of the SMTP server (587 with starttls)")
    smtp_starttls: bool = _setting(False, "Switch the SMTP connection to TLS (STARTTLS)")
    smtp_user: str = _setting("", "SMTP login name; empty = no login")
    smtp_password_env: str = _setting(
        "GIC_SMTP_PASSWORD", "Environment variable holding the SMTP password (never put it here)"
    )
    mail_from: str = _setting("gic@localhost", "Sender address of the e-mails")
    mail_to: tuple = _setting((), "Addresses the e-mails go to")
    webhook_url: str = _setting(
        "",
        'Incoming-webhook URL (Mattermost, Slack) sent {"text": ...} as JSON; empty = none',
    )
    timeout_s: float = _setting(10.0, "Seconds before a delivery attempt is abandoned")
    window_s: float = _setting(
        30.0,
        "Events of one kind within this many seconds of the first are sent as one message",
    )
    retry_s: float = _setting(30.0, "First wait after a failed delivery, doubled after each")
    retry_max_s: float = _setting(3600.0, "Longest wait between two delivery attempts")
    max_attempts: int = _setting(
        20, "Attempts after which a message is given up (kept in the spool's failed folder)"
    )
    spool_dir: str = _setting(
        "notifications", "Folder (relative to the workspace) of the messages waiting to be sent"
    )
    every_s: float = _setting(
        5.0, "Seconds between the server's deliveries of the waiting messages; 0 = never"
    )
    new_burst: bool = _setting(True, "Tell of a burst ID seen for the first time")
    retraction: bool = _setting(True, "Tell of a packet that retracts a burst")
    invalid_master: bool = _setting(True, "Tell of a master the night's run found invalid")
    stale_sensor: bool = _setting(True, "Tell of a sensor that became stale")
    failed_push: bool = _setting(True, "Tell of a product whose push to the SDB failed")
    frames_ready: bool = _setting(
        True, "Tell of a burst's frames pulled from the export API, ready for reprocessing"
    )
    reprocessed: bool = _setting(
        True, "Tell of a run done again (or failed) after its master was certified bad"
    )


@dataclass(frozen=True)
class AttentionConfig:
    burst_days: float = _setting(
        3.0, "Days back the home page looks for bursts (T0) that have no product yet"
    )
    master_nights: int = _setting(
        7,
        "Nights before last night whose calibration kinds last night must have too (a kind "
        "seen then and not last night is missing)",
    )


@dataclass(frozen=True)
class CacheConfig:
    postgres: str = _setting(
        "",
        "PostgreSQL catalog of the cache's lake, as libpq key=value (e.g. 'host=db dbname=gic "
        "user=gic'; the password from PGPASSWORD or ~/.pgpass); empty = the SQLite catalog in "
        "the workspace's lake/ folder",
    )
    data_path: str = _setting(
        "",
        "Folder of the lake's data files (absolute, or relative to the workspace; shared storage "
        "when several machines use one PostgreSQL catalog); empty = lake/data in the workspace",
    )
    maintain_every_h: float = _setting(
        24.0,
        "Hours between two maintenances of the lake by the background work (small files "
        "merged, old snapshots expired, unused files deleted); 0 = never",
    )
    keep_snapshots_days: float = _setting(
        30.0,
        "Days the lake keeps its snapshots (`gic --at`); those that a product version, a "
        "promotion, a certification or an approval records are kept for good",
    )


@dataclass(frozen=True)
class WorkerConfig:
    alert_sources: tuple = _setting(
        (),
        "Alert sources the background work runs, each started again when it stops: comet "
        "(`gic alerts listen`), kafka (`gic alerts kafka`), nats (`gic watch`)",
    )
    nightly_every_s: float = _setting(
        300.0,
        "Seconds between two looks of the background work for a night whose calibration run "
        "is due ([calibration.nightly]); 0 = never",
    )
    restart_after_s: float = _setting(
        5.0, "Seconds before an alert source that stopped is started again (doubled, to 5 min)"
    )


@dataclass(frozen=True)
class QualityConfig:
    fwhm_max_arcsec: float = _setting(
        3.0, "Largest PSF FWHM of a science frame, arcsec; a frame above it is flagged; 0 = off"
    )
    ellipticity_max: float = _setting(
        0.3, "Largest PSF ellipticity (1 - b/a) of a science frame; 0 = off"
    )
    zero_point_min: float = _setting(
        23.0, "Lowest zero point of a science frame, AB mag for 1 e-/s (clouds lower it); 0 = off"
    )
    sky_max_adu: float = _setting(
        30000.0, "Highest sky level of a science frame, ADU per pixel of the raw frame; 0 = off"
    )
    sky_min_mag_arcsec2: float = _setting(
        17.5, "Brightest sky of a science frame, AB mag/arcsec² (smaller is brighter); 0 = off"
    )
    airmass_max: float = _setting(2.5, "Largest airmass of a science frame; 0 = off")
    trend_nights: int = _setting(30, "Nights the Night page's trends look back over")


@dataclass(frozen=True)
class Config:
    """Every setting of a workspace; see ``gic config --show``."""

    server: ServerConfig = field(default_factory=ServerConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    cdb: CdbConfig = field(default_factory=CdbConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    products: ProductsConfig = field(default_factory=ProductsConfig)
    sdb: SdbConfig = field(default_factory=SdbConfig)
    gp2: Gp2Config = field(default_factory=Gp2Config)
    site: SiteConfig = field(default_factory=SiteConfig)
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    attention: AttentionConfig = field(default_factory=AttentionConfig)


def _section_type(f: dataclasses.Field) -> type:
    """The dataclass of a nested section (its default factory)."""
    return f.default_factory  # type: ignore[return-value]


def _build(cls: type, values: dict, where: str, source: Path | str) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in values:
        if key not in known:
            raise ConfigError(f"{source}: unknown key '{key}' in [{where or 'top level'}]")
    kwargs = {}
    for name, f in known.items():
        if name not in values:
            continue
        value = values[name]
        dotted = f"{where}.{name}" if where else name
        if f.metadata.get("help") is None:  # a nested section
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: [{dotted}] must be a table, got {value!r}")
            kwargs[name] = _build(_section_type(f), value, dotted, source)
            continue
        kwargs[name] = _check_value(f.default, value, dotted, source)
    return cls(**kwargs)


def _check_value(default: Any, value: Any, dotted: str, source: Path | str) -> Any:
    expected = type(default)
    if expected is tuple and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if type(value) is not expected:
        raise ConfigError(f"{source}: {dotted} must be a {expected.__name__}, got {value!r}")
    return value


def config_from_dict(values: dict, source: Path | str = "<dict>") -> Config:
    """Build a :class:`Config` from parsed TOML, rejecting unknown keys and wrong types."""
    return _build(Config, values, "", source)


def load_config(path: Path) -> Config:
    """Read ``gic.toml`` at ``path``.

    Raises
    ------
    ConfigError
        If the file is not valid TOML, holds an unknown key or a value of the wrong type;
        the message names the file and the key.
    """
    try:
        values = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return config_from_dict(values, path)


def plain(value: Any) -> Any:
    """A setting's value as JSON and TOML know it (tuples as lists)."""
    return list(value) if isinstance(value, tuple) else value


def describe_config(cls: type = Config, prefix: str = "") -> list[tuple[str, Any, str]]:
    """Every setting as ``(dotted.name, default, help)``, in file order."""
    rows: list[tuple[str, Any, str]] = []
    for f in dataclasses.fields(cls):
        dotted = f"{prefix}.{f.name}" if prefix else f.name
        if f.metadata.get("help") is None:
            rows.extend(describe_config(_section_type(f), dotted))
        else:
            rows.append((dotted, f.default, f.metadata["help"]))
    return rows


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def default_config_text() -> str:
    """The commented ``gic.toml`` a new workspace starts with: every setting at its default."""
    lines = [
        "# GIC Workbench workspace settings. Every key is shown at its default;",
        "# `gic config --show` lists them with their help. Secrets come from the environment.",
    ]
    section = None
    for dotted, default, help_text in describe_config():
        table, key = dotted.rsplit(".", 1)
        if table != section:
            lines += ["", f"[{table}]"]
            section = table
        lines += [f"# {help_text}", f"{key} = {_toml_value(default)}"]
    return "\n".join(lines) + "\n"
