"""The Alerts page: the browser, kept live as packets arrive, the chosen burst and packet in
the URL."""

from __future__ import annotations

import logging

import panel as pn

from app.pages.layout import page, shown_safely
from app.views.alerts import AlertsBrowser
from app.views.feedback import guarded
from data_access.stores import Stores


def headline(stores: Stores) -> str:
    """Alerts, bursts, and the newest burst, in one line."""
    bursts = stores.alerts.bursts()
    count = stores.alerts.last_change()[0]
    if not count:
        return "No alert received yet."
    newest = bursts.iloc[0]["burst_id"] if len(bursts) else "none"
    return f"{count} alerts; {len(bursts)} SVOM bursts; newest burst {newest}"


@shown_safely
def create(stores: Stores):
    browser = AlertsBrowser(stores.alerts, site=stores.workspace.config.site)
    if pn.state.location is not None:
        pn.state.location.sync(
            browser, {"burst": "burst", "ivorn": "ivorn", "include_tests": "tests"}
        )
    if pn.state.curdoc is not None:
        period = round(stores.workspace.config.alerts.refresh_s * 1000)
        pn.state.add_periodic_callback(
            guarded("Looking for new alerts", logging.getLogger("gic.alerts"))(browser.refresh),
            period=period,
        )
    return page("Alerts", browser.display(), sidebar=browser.controls(), slug="alerts")
