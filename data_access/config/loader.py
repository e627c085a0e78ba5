"""The whole configuration, :class:`Config`, read from ``gic.toml`` (unknown keys and wrong
types refused, naming the file and the key), listed for ``gic config --show`` and the
README, and written as the commented file a new workspace starts with."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_access.config.alerts import AlertsConfig
from data_access.config.attention import AttentionConfig
from data_access.config.cache import CacheConfig
from data_access.config.calibration import CalibrationConfig
from data_access.config.gp2 import Gp2Config
from data_access.config.notifications import NotificationsConfig
from data_access.config.products import ProductsConfig, SdbConfig
from data_access.config.quality import QualityConfig
from data_access.config.server import AuthConfig, ServerConfig
from data_access.config.setting import ConfigError
from data_access.config.site import SiteConfig
from data_access.config.telemetry import CdbConfig, TelemetryConfig
from data_access.config.worker import WorkerConfig


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
