"""The workbench's pages: one module each, listed in :data:`PAGES`.

A page module has ``create(stores) -> Viewable``: it composes views over the stores,
syncs its shareable state with the URL, and is wrapped in :func:`app.pages.layout.page`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class PageSpec:
    """A page of the workbench: its URL slug, title, one-line summary, module, and the
    keyword arguments its module's ``create`` and ``headline`` take (one module may serve
    several pages, as the Bias, Dark and Flat pages share one)."""

    slug: str
    title: str
    summary: str
    module: str
    options: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "telemetry",
        "Telemetry",
        "Status and sensor readings of the TCS, dome, weather station and cameras: series, "
        "latest values, stale sensors and error codes.",
        "app.pages.telemetry",
    ),
    PageSpec(
        "alerts",
        "Alerts",
        "SVOM VOEvents from Comet and GCN Kafka: bursts newest first, sky map with error "
        "circles, every Param and the raw XML, trigger files, the NATS operations feed.",
        "app.pages.alerts",
    ),
    PageSpec(
        "bias",
        "Bias",
        "Master biases: MEDIAN, RMS and the difference with the reference against DATE, "
        "invalid masters, completeness, and each master with its difference image.",
        "app.pages.calibration",
        MappingProxyType({"caltype": "bias"}),
    ),
    PageSpec(
        "dark",
        "Dark",
        "Master darks: trends, invalid masters, completeness, each master and its "
        "difference with the reference; certify a verdict by hand.",
        "app.pages.calibration",
        MappingProxyType({"caltype": "dark"}),
    ),
    PageSpec(
        "flat",
        "Flat",
        "Master flats per instrument and filter: trends of the ratio new/ref, invalid "
        "masters, completeness, each master and its ratio image.",
        "app.pages.calibration",
        MappingProxyType({"caltype": "flat"}),
    ),
    PageSpec(
        "products",
        "Products",
        "GFT products of each burst: the review queue, headers, tables, light curve with its "
        "fit, validation and versions; approve, reject, push to the SDB, pull, archive.",
        "app.pages.products",
    ),
    PageSpec(
        "reprocess",
        "Reprocess",
        "GP2 reprocessing of a burst's frames: thumbnails and headers, telemetry and masters of "
        "the night, steps and parameters, the reduced frame with its sources, the light curve; "
        "compare runs, save one as a product version.",
        "app.pages.reprocess",
    ),
    PageSpec(
        "burst",
        "Burst",
        "One burst's dossier: notices, trigger file, observability, timeline, frames with the "
        "masters of their night and the telemetry at each exposure, GP2 runs, products, audit.",
        "app.pages.burst",
    ),
    PageSpec(
        "night",
        "Night",
        "Each night's image quality: every science frame's zero point, FWHM, ellipticity, sky, "
        "limiting magnitude and airmass with the telemetry at the exposure, frames outside the "
        "limits flagged, and the trends per instrument and filter over the nights.",
        "app.pages.night",
    ),
)
