"""The workspace configuration: one TOML file, ``gic.toml``, with documented defaults.

Every setting is a field of a frozen dataclass below, with its default and a
``help`` text. :func:`load_config` reads the file, rejects an unknown key by naming
it and the file, and returns a frozen :class:`Config`. :func:`default_config_text`
writes the commented file a new workspace starts with, and :func:`describe_config`
lists every field for ``gic config --show`` and the README's reference table.

One module per capability's settings (:mod:`.server`, :mod:`.telemetry`, :mod:`.alerts`,
:mod:`.calibration`, :mod:`.products`, :mod:`.gp2`, :mod:`.site`, :mod:`.notifications`,
:mod:`.quality`, :mod:`.attention`, :mod:`.cache`, :mod:`.worker`), :mod:`.setting` (one
setting and its help) and :mod:`.loader` (the whole :class:`Config`, read and written).
A new setting is a field of its capability's dataclass; a new section is a dataclass in
its own module and a field of :class:`Config`.
"""

from data_access.config.alerts import (
    AlertsCometConfig,
    AlertsConfig,
    AlertsKafkaConfig,
    AlertsNatsConfig,
)
from data_access.config.attention import AttentionConfig
from data_access.config.cache import CacheConfig
from data_access.config.calibration import (
    CalibrationConfig,
    CalibrationLimitsConfig,
    CalibrationNightlyConfig,
)
from data_access.config.gp2 import Gp2Config
from data_access.config.loader import (
    Config,
    config_from_dict,
    default_config_text,
    describe_config,
    load_config,
    plain,
)
from data_access.config.notifications import NotificationsConfig
from data_access.config.products import ProductsConfig, SdbConfig
from data_access.config.quality import QualityConfig
from data_access.config.server import AuthConfig, ServerConfig
from data_access.config.setting import ConfigError
from data_access.config.site import SiteConfig
from data_access.config.telemetry import (
    CdbConfig,
    CdbHttpConfig,
    CdbPostgresConfig,
    TelemetryConfig,
)
from data_access.config.worker import WorkerConfig

__all__ = [
    "AlertsCometConfig",
    "AlertsConfig",
    "AlertsKafkaConfig",
    "AlertsNatsConfig",
    "AttentionConfig",
    "AuthConfig",
    "CacheConfig",
    "CalibrationConfig",
    "CalibrationLimitsConfig",
    "CalibrationNightlyConfig",
    "CdbConfig",
    "CdbHttpConfig",
    "CdbPostgresConfig",
    "Config",
    "ConfigError",
    "Gp2Config",
    "NotificationsConfig",
    "ProductsConfig",
    "QualityConfig",
    "SdbConfig",
    "ServerConfig",
    "SiteConfig",
    "TelemetryConfig",
    "WorkerConfig",
    "config_from_dict",
    "default_config_text",
    "describe_config",
    "load_config",
    "plain",
]
