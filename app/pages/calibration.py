"""The Bias, Dark and Flat pages: one module, one view, the type given by the page's entry.

``/bias``, ``/dark`` and ``/flat`` all route here with their ``caltype`` (see
:data:`app.pages.PAGES`); the page shows :class:`~app.views.calibration.CalibrationTrends`
for that type, with the instrument, filter and nights in the URL so that a link can be
shared.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import panel as pn

from app.pages.layout import page, shown_safely
from app.views.calibration import CalibrationTrends
from app.views.nightly_runs import NightlyRunsView
from data_access.calibration.nightly_runs import NightlyRuns
from data_access.stores import Stores

URL_STATE = {"instrument": "instrument", "filter": "filter", "start": "start", "end": "end"}

#: Nights the home card's headline looks back over.
HEADLINE_NIGHTS = 30


def headline(stores: Stores, caltype: str) -> str:
    """Last night's series of this type (how many OK) and its invalid and missing series of
    the last 30 nights (since the first series came, when later)."""
    store = stores.calibration
    kinds = store.kinds(caltype)
    if kinds.empty:
        return "No calibration yet."
    last = store.night_of(datetime.now(UTC).replace(tzinfo=None)) - timedelta(days=1)
    grid = store.completeness(last - timedelta(days=HEADLINE_NIGHTS - 1), last, caltype)
    first = grid.loc[grid["arrived"], "night"].min()
    if pd.isna(first):
        return f"Nothing arrived in the last {HEADLINE_NIGHTS} nights."
    grid = grid[grid["night"] >= first]  # since the first series came
    tonight = grid[grid["night"] == last]
    ok = int((tonight["verdict"] == "OK").sum())
    invalid = int((grid["verdict"] == "invalid").sum())
    missing = int((grid["verdict"] == "missing").sum())
    return (
        f"Last night ({last:%Y-%m-%d}): {ok} of {len(tonight)} series OK; "
        f"since {first:%Y-%m-%d}: {invalid} invalid, {missing} missing"
    )


@shown_safely
def create(stores: Stores, caltype: str):
    trends = CalibrationTrends(stores.calibration, caltype=caltype, users=stores.users)
    if pn.state.location is not None:
        pn.state.location.sync(trends, URL_STATE)
    main = pn.Column(
        trends.display(), NightlyRunsView(NightlyRuns(stores.cache)), sizing_mode="stretch_width"
    )
    return page(caltype.capitalize(), main, sidebar=trends.controls(), slug=caltype)
