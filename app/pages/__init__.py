"""The workbench's pages: one module each, listed in :data:`PAGES`.

A page module has ``create(stores) -> Viewable``: it composes views over the stores,
syncs its shareable state with the URL, and is wrapped in :func:`app.pages.layout.page`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    """A page of the workbench: its URL slug, title, one-line summary and module."""

    slug: str
    title: str
    summary: str
    module: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "telemetry",
        "Telemetry",
        "Status and sensor readings of the TCS, dome, weather station and cameras: series, "
        "latest values, stale sensors and error codes.",
        "app.pages.telemetry",
    ),
)
