"""Demo products: the seven GFT products of one or two demo bursts, built from generated
photometry through :meth:`ProductStore.build`, left for review.

The bursts are the demo's SVOM alerts (T0 and the best position of each, test packets and
retracted bursts left out), so the alerts builder must run first. The first burst is built
twice (a reprocessing with two more images per filter), so that its products have a version
history and a diff; one of its products is approved, the rest wait in the queue as new.

The demo starts no SDB: push, pull and coherence need ``gic sandbox serve`` (its default
port is the default ``[sdb] import_url``), and the Products page says so while it is down.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from astropy.time import Time

from analysis.products import Burst
from analysis.products.synthetic import synthetic_photometry
from data_access.alerts.store import AlertStore
from data_access.stores import Stores

Progress = Callable[[str, int, int], None]

#: Bursts given products, and the decay index α of each one's generated afterglow.
DEMO_DECAY_INDICES = (1.2, 0.9)

#: 5σ limit of a 30 s image (AB mag): shallow enough that the late images are upper limits.
DEMO_LIMIT_30S = 18.0

#: The user the demo's builds and approval are recorded under.
DEMO_USER = "demo"


def demo_bursts(alerts: AlertStore, *, count: int) -> list[Burst]:
    """The newest ``count`` real (not test, not retracted) bursts with T0 and a position,
    each with the position of its smallest error radius."""
    frame = alerts.alerts(include_tests=False)
    if frame.empty:
        return []
    frame = frame[~frame["retracted"].fillna(False).astype(bool)]
    frame = frame.dropna(subset=["burst_id", "t0", "ra", "dec"])
    bursts = []
    for burst_id, rows in frame.groupby("burst_id", sort=False):
        best = rows.sort_values("error_deg", na_position="last").iloc[0]
        error = 0.0 if pd.isna(best["error_deg"]) else float(best["error_deg"])
        t0 = Time(pd.Timestamp(best["t0"]).to_pydatetime(), scale="utc")
        bursts.append(
            Burst(str(burst_id), t0, float(best["ra"]) % 360.0, float(best["dec"]), error)
        )
        if len(bursts) == count:
            break
    return bursts


def build_products_demo(stores: Stores, *, days: float, progress: Progress | None) -> str:
    """Build the products of the newest demo bursts (see the module docstring)."""
    bursts = demo_bursts(stores.alerts, count=len(DEMO_DECAY_INDICES))
    if not bursts:
        return "products: no demo burst with T0 and a position, nothing built"
    built = 0
    for index, (burst, alpha) in enumerate(zip(bursts, DEMO_DECAY_INDICES, strict=False)):
        if progress:
            progress("building products", index, len(bursts))
        photometry = synthetic_photometry(
            burst, alpha=alpha, n_images=10, seed=index + 1, limit_30s=DEMO_LIMIT_30S
        )
        frame = stores.products.build(
            burst, photometry, user=DEMO_USER, comment="generated demo photometry"
        )
        built += int(frame["created"].sum())
    first = bursts[0]
    again = synthetic_photometry(
        first, alpha=DEMO_DECAY_INDICES[0], n_images=12, seed=1, limit_30s=DEMO_LIMIT_30S
    )
    frame = stores.products.build(
        first, again, user=DEMO_USER, comment="reprocessed with two more images per filter"
    )
    built += int(frame["created"].sum())
    dt = frame.loc[frame["card"] == "DT_GFT_FGFT", "product_id"]
    if len(dt):
        stores.products.review.approve(int(dt.iloc[0]), user=DEMO_USER, comment="demo: looks right")
    names = ", ".join(b.burst_id for b in bursts)
    return f"products: {built} product versions of {len(bursts)} burst(s) ({names}), one approved"
