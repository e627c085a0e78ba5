"""The Reprocess page: a burst's frames through the GP2 steps, with the parameters in hand.

Pick a burst (or a folder of frames), see its frames with their headers, the telemetry at
each exposure and the masters in force that night; choose the steps and parameters; run
on the process's Dask client with a progress bar; see the reduced frame with its sources
and candidates, the light curve and its decay fit; compare two runs; save a run as a new
product version. The folder and the runs shown are in the URL
(``/reprocess?folder=…&run=…&compare=…``).
"""

from __future__ import annotations

import panel as pn

from app.auth import current_user
from app.pages.layout import page, shown_safely
from app.views.reprocess import ReprocessDesk, shared_client_factory
from data_access.stores import Stores

URL_STATE = {"folder": "folder", "run_id": "run", "compare_id": "compare"}


def headline(stores: Stores) -> str:
    """Folders of frames ready to reprocess and the runs made, in one line."""
    store = stores.reprocess
    folders, runs = store.folders(), store.runs()
    if folders.empty:
        return "No frames to reprocess yet."
    newest = f"; newest run {runs.iloc[0]['run_id']}" if len(runs) else ""
    images = int(folders["n_images"].sum())
    return f"{len(folders)} folders of frames ({images} images); {len(runs)} runs{newest}"


@shown_safely
def create(stores: Stores):
    desk = ReprocessDesk.from_stores(
        stores, user=current_user(stores.users), client_factory=shared_client_factory(stores)
    )
    if pn.state.location is not None:
        pn.state.location.sync(desk, URL_STATE)
    return page("Reprocess", desk.display(), sidebar=desk.controls(), slug="reprocess")
