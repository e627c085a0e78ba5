"""The Burst page: one burst's dossier, the burst in the URL (``/burst?id=sb26120190``)."""

from __future__ import annotations

import panel as pn

from app.pages.layout import page, shown_safely
from app.views.dossier import BurstDossier
from data_access.stores import Stores


@shown_safely
def create(stores: Stores):
    dossier = BurstDossier(stores, burst=_asked_burst())
    if pn.state.location is not None:
        pn.state.location.sync(dossier, {"burst": "id"})
    return page("Burst", dossier, slug="burst")


def _asked_burst() -> str:
    """The ``id`` of the page's URL, '' without one (read before the first build)."""
    arguments = pn.state.session_args if pn.state.curdoc is not None else {}
    values = arguments.get("id") or [b""]
    return values[0].decode("utf-8", errors="replace")
