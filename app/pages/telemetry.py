"""The Telemetry page: the explorer, kept fresh as readings arrive, its selection in the URL."""

from __future__ import annotations

import logging
from datetime import timedelta

import panel as pn

from app.pages.layout import page, shown_safely
from app.views.feedback import guarded
from app.views.telemetry import TelemetryExplorer, describe_age
from data_access.stores import Stores

URL_STATE = {
    "subsystem": "subsystem",
    "component": "component",
    "group": "group",
    "sensors": "sensors",
    "window": "range",
    "search": "search",
    "problems_only": "problems",
}


def headline(stores: Stores) -> str:
    """Sensors, the newest reading's age, stale sensors and rejected files, in one line."""
    settings = stores.workspace.config.telemetry
    latest = stores.status.latest(stale_after=timedelta(minutes=settings.stale_after_min))
    if latest["ts"].isna().all():
        return "No readings yet."
    rejected = len(stores.status.rejected())
    return (
        f"{len(latest)} sensors; newest reading {describe_age(latest['age_s'].min())} ago; "
        f"{int(latest['stale'].sum())} stale; {rejected} rejected files"
    )


@shown_safely
def create(stores: Stores):
    settings = stores.workspace.config.telemetry
    explorer = TelemetryExplorer(
        stores.status,
        stale_after_min=settings.stale_after_min,
        max_points=settings.max_points,
        cadence_min=settings.cadence_min,
        default_sensors=list(settings.default_sensors),
    )
    if pn.state.location is not None:
        pn.state.location.sync(explorer, URL_STATE)
    if pn.state.curdoc is not None:
        pn.state.add_periodic_callback(
            guarded("Looking for new readings", logging.getLogger("gic.telemetry"))(
                explorer.refresh
            ),
            period=int(settings.refresh_s * 1000),
        )
    return page("Telemetry", explorer.display(), sidebar=explorer.controls(), slug="telemetry")
