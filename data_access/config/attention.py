"""Settings of the home page's attention list (``[attention]``)."""

from __future__ import annotations

from dataclasses import dataclass

from data_access.config.setting import _setting


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
