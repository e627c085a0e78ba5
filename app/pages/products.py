"""The Products page: the review queue of GFT products per burst, one product in full,
approve / reject / push with the roles checked on the server, and the SDB exchange.

The burst and the product shown are in the URL (``/products?burst=sb26030512&product=12``)
so that a link to a product can be shared; the page looks for changes made elsewhere
(another session, a build, a pull) every ``[products] refresh_s``.
"""

from __future__ import annotations

import logging

import panel as pn

from app.auth import current_user
from app.pages.layout import page, shown_safely
from app.views.feedback import guarded
from app.views.products import ProductsDesk, sdb_client_factory
from data_access.stores import Stores

URL_STATE = {"burst_id": "burst", "product_id": "product"}


def headline(stores: Stores) -> str:
    """Bursts with products and the products waiting for review or push, in one line."""
    bursts = stores.products.bursts()
    if bursts.empty:
        return "No product built yet."
    counts = {k: int(bursts[k].sum()) for k in ("new", "approved", "pushed", "push_failed")}
    return (
        f"{len(bursts)} bursts with products; {counts['new']} new, {counts['approved']} "
        f"approved, {counts['pushed']} pushed, {counts['push_failed']} push failed"
    )


@shown_safely
def create(stores: Stores):
    desk = ProductsDesk(
        stores.products,
        client_factory=sdb_client_factory(stores),
        user=current_user(stores.users),
    )
    if pn.state.location is not None:
        pn.state.location.sync(desk.selection, URL_STATE)
    if pn.state.curdoc is not None:
        period = round(stores.workspace.config.products.refresh_s * 1000)
        pn.state.add_periodic_callback(
            guarded("Looking for new products", logging.getLogger("gic.products"))(desk.refresh),
            period=period,
        )
        pn.state.onload(
            guarded("Checking the SDB", logging.getLogger("gic.products"))(desk.exchange.check_sdb)
        )
    return page("Products", desk.display(), sidebar=desk.controls(), slug="products")
