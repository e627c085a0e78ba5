"""The demo workspace: realistic data the project generates itself, through the real paths.

``gic demo build`` (and ``./panel_serve.sh`` when no demo workspace exists) calls
:func:`build_demo`, which runs every builder of :data:`DEMO_BUILDERS` in turn. It needs
nothing but the project: no network, no shared data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from data_access.stores import Stores
from data_access.telemetry.store import IngestSummary, documents_in
from demo.alerts import SHARED_VOEVENTS, demo_notices, write_demo_packets
from demo.calibration import build_calibration_demo
from demo.products import build_products_demo
from demo.quality import build_quality_demo
from demo.reprocess import build_reprocess_demo
from demo.telemetry import CADENCE, write_status_files

Progress = Callable[[str, int, int], None]


DEMO_MARKER = "DEMO"


def _last_cadence_tick(now: datetime) -> datetime:
    now = now.replace(tzinfo=None, second=0, microsecond=0)
    return now - timedelta(minutes=now.minute % 5)


def build_telemetry_demo(stores: Stores, *, days: float, progress: Progress | None) -> str:
    """A month (``days``) of 5-minute status files, ending now, into the drop folder, ingested."""
    end = _last_cadence_tick(datetime.now(UTC))
    start = end - timedelta(days=days) + CADENCE
    folder = stores.workspace.status_drop_dir
    if progress:
        progress("writing status files", 0, 1)
    paths = write_status_files(folder, start, days)
    summary: IngestSummary = stores.status.ingest(
        documents_in(paths),
        progress=(lambda done, total: progress("ingesting status files", done, total))
        if progress
        else None,
    )
    return f"telemetry: {len(paths)} status files, {summary.describe()}"


def build_alerts_demo(stores: Stores, *, days: float, progress: Progress | None) -> str:
    """Generated SVOM notices over the last ``days`` (written to ``raw/voevents/``), plus the
    public packets of ``../shared/data/voevents`` when present, stored through the real path."""
    notices = demo_notices(datetime.now(UTC).replace(tzinfo=None), days)
    paths = write_demo_packets(stores.workspace.path("raw/voevents"), notices)
    if SHARED_VOEVENTS.is_dir():
        paths += sorted(SHARED_VOEVENTS.rglob("*.xml"))
    if progress:
        progress("storing alerts", 0, len(paths))
    receipts, refused = stores.alerts.store_files(paths, source="files")
    triggers = {r.trigger_file for r in receipts if r.trigger_file is not None}
    return (
        f"alerts: {len(receipts)} packets stored ({len(notices)} generated), "
        f"{len(triggers)} trigger files, {len(refused)} refused"
    )


#: Each builder fills one capability's part of the demo and says what it did.
DEMO_BUILDERS: tuple[Callable[..., str], ...] = (
    build_telemetry_demo,
    build_alerts_demo,
    build_calibration_demo,
    build_products_demo,
    build_reprocess_demo,
    build_quality_demo,
)


def build_demo(root: Path, *, days: float = 30, progress: Progress | None = None) -> list[str]:
    """Build the demo workspace at ``root`` (which must not hold a cache yet).

    Returns
    -------
    list of str
        One line per builder saying what it added.
    """
    stores = Stores.open(root)
    try:
        lines = [builder(stores, days=days, progress=progress) for builder in DEMO_BUILDERS]
    finally:
        stores.close()
    (Path(root) / DEMO_MARKER).write_text("built by gic demo build; the server keeps it live\n")
    return lines


def is_demo(root: Path) -> bool:
    """True for a workspace built by :func:`build_demo`."""
    return (Path(root) / DEMO_MARKER).exists()


def feed_demo_status(stores: Stores, *, now: datetime | None = None) -> dict[str, str]:
    """Keep a demo live: write the status files due since the newest one (a day at most) into
    the drop folder, as the TCS would; the next sync ingests them."""
    folder = stores.workspace.status_drop_dir
    newest = max((p.name for p in folder.glob("status_*.json")), default=None)
    end = _last_cadence_tick(now or datetime.now(UTC))
    start = end - timedelta(days=1) + CADENCE
    if newest:
        start = max(start, datetime.strptime(newest, "status_%Y%m%dT%H%M%S.json") + CADENCE)
    if start > end:
        return {"demo feed": "nothing due"}
    days = ((end - start) + CADENCE) / timedelta(days=1)
    written = write_status_files(folder, start, days, seed=int(start.timestamp()), dead_day=None)
    return {"demo feed": f"{len(written)} new status files"}
