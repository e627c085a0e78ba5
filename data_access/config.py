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
    allow_websocket_origin: tuple = _setting(
        (), "Extra host:port origins allowed to open the websocket (behind a proxy)"
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
    refresh_s: float = _setting(30.0, "Seconds between the Telemetry page's checks for new readings")
    batch_files: int = _setting(
        500, "Status files read by one ingest transaction (each file is all in or all out)"
    )


@dataclass(frozen=True)
class CdbPostgresConfig:
    dsn: str = _setting(
        "", "libpq connection string of the CDB, e.g. 'host=cdb dbname=colibri user=gic'; empty = off"
    )
    password_env: str = _setting(
        "GIC_CDB_PASSWORD", "Environment variable holding the CDB password (never put it here)"
    )
    status_table: str = _setting("status", "Table holding one status document (JSONB) per row")
    id_column: str = _setting("id", "Column identifying a row of the status table")
    json_column: str = _setting("data", "JSONB column holding the status document")
    date_column: str = _setting("date", "Timestamp column read incrementally (rows at or after the last one seen)")


@dataclass(frozen=True)
class CdbHttpConfig:
    url: str = _setting(
        "",
        "CDB endpoint answering GET ?since=ISO with a status document (list of records); empty = off",
    )
    timeout_s: float = _setting(10.0, "Seconds before a request to the CDB endpoint is abandoned")
    retries: int = _setting(3, "Further attempts after a failed request (timeouts, 5xx, refused)")
    backoff_s: float = _setting(1.0, "First wait between attempts, doubled after each failure")


@dataclass(frozen=True)
class CdbConfig:
    postgres: CdbPostgresConfig = field(default_factory=CdbPostgresConfig)
    http: CdbHttpConfig = field(default_factory=CdbHttpConfig)


@dataclass(frozen=True)
class Config:
    """Every setting of a workspace; see ``gic config --show``."""

    server: ServerConfig = field(default_factory=ServerConfig)
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    cdb: CdbConfig = field(default_factory=CdbConfig)


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
        raise ConfigError(
            f"{source}: {dotted} must be a {expected.__name__}, got {value!r}"
        )
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
