"""Settings of the background work (``[worker]``): the alert sources it runs, the
nightly calibration run, restarts."""

from __future__ import annotations

from dataclasses import dataclass

from data_access.config.setting import _setting


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
