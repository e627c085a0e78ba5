"""Settings of the telescope's site (``[site]``)."""

from __future__ import annotations

from dataclasses import dataclass

from data_access.config.setting import _setting


@dataclass(frozen=True)
class SiteConfig:
    name: str = _setting("OAN San Pedro Martir", "The telescope's site, as pages name it")
    latitude_deg: float = _setting(31.0439, "Geodetic latitude of the telescope, deg (north > 0)")
    longitude_deg: float = _setting(
        -115.4637, "Geodetic longitude of the telescope, deg (east > 0, so SPM's is negative)"
    )
    elevation_m: float = _setting(2800.0, "Height of the telescope above sea level, m")
