"""The Night page: a night's image quality (``/night?night=YYYYMMDD&instrument=...&filter=...``)."""

from __future__ import annotations

import panel as pn

from app.pages.layout import page, shown_safely
from app.views.night import NightQuality
from data_access.stores import Stores

URL_STATE = {"night": "night", "instrument": "instrument", "filter": "filter"}


def headline(stores: Stores) -> str:
    """The newest night with frames, and how many of its frames lie outside the limits."""
    store = stores.quality
    nights = store.nights()
    if not nights:
        return "No science frame recorded yet."
    frames = store.frames(nights[0])
    outside = int((frames["outside"] != "").sum())
    return f"Night {nights[0]:%Y-%m-%d}: {len(frames)} frames, {outside} outside the limits"


@shown_safely
def create(stores: Stores):
    quality = NightQuality(stores.quality, **_asked())
    if pn.state.location is not None:
        pn.state.location.sync(quality, URL_STATE)
    return page("Night", quality, sidebar=quality.controls(), slug="night")


def _asked() -> dict[str, str]:
    """The URL's night, instrument and filter (read before the first build)."""
    arguments = pn.state.session_args if pn.state.curdoc is not None else {}
    return {
        name: arguments[name][0].decode("utf-8", errors="replace")
        for name in URL_STATE
        if arguments.get(name)
    }
