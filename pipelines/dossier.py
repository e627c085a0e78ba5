"""A burst's dossier: everything the workbench knows of one burst, joined from every store.

The notices (newest first, with their retractions and latency), the best position and its
history, the trigger file, the observability from the site, the frames of the burst with the
masters in force that night and the telemetry at each exposure, the GP2 runs and their light
curves, the product versions with their validation and push state, the audit trail, and a
timeline of all of it on one time axis. Use::

    dossier = burst_dossier(stores, "sb26120190", at=datetime.now(UTC))
    dossier.to_dict()        # what `gic burst show` prints and the Burst page shows
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from analysis.voevent import BURST_ID_PATTERN
from data_access.alerts.bursts import BurstQueries, _plain
from data_access.alerts.retractions import retractions
from data_access.alerts.trigger_extras import telescope_site
from data_access.stores import Stores
from pipelines.frame_quality import with_quality
from pipelines.reprocess import masters_at, telemetry_at

#: Columns of :attr:`Dossier.timeline`.
TIMELINE_COLUMNS = ["at", "since_t0_s", "event", "detail", "user"]


class DossierError(ValueError):
    """A burst ID that is not one (``sb`` and eight digits)."""


@dataclass(frozen=True)
class Dossier:
    """One burst joined from every store (see :func:`burst_dossier`).

    Attributes
    ----------
    burst_id : str
    report : dict
        :meth:`BurstQueries.report`: the best position, observability and ``packets``.
    trigger_file : dict or None
        path, written_at (UTC) and text of the burst's trigger file.
    frames : DataFrame
        The burst's frames: folder, name, instrument, filter, exptime, t_start, t_end, t_mid,
        quality (:func:`pipelines.frame_quality.with_quality`).
    masters : DataFrame
        :func:`pipelines.reprocess.masters_at` of the frames.
    telemetry : DataFrame
        :func:`pipelines.reprocess.telemetry_at` of the frames.
    runs : DataFrame
        The burst's GP2 runs (:meth:`ReprocessStore.runs`) with the T0 each used (t0,
        ISO UTC; '' when it had none).
    light_curves : dict
        run_id → the run's photometry table.
    products : DataFrame
        Every product version of the burst, newest first per card.
    audit : DataFrame
        Who did what to the burst's products, oldest first.
    timeline : DataFrame
        :data:`TIMELINE_COLUMNS`, oldest first.
    retracted_by : DataFrame
        The packets that retract the burst (ivorn, received_at); empty when it stands.
    warnings : DataFrame
        The burst's products built with a master since found bad
        (:meth:`~data_access.products.warnings.ProductWarnings.standing`).
    """

    burst_id: str
    report: dict
    trigger_file: dict | None
    frames: pd.DataFrame
    masters: pd.DataFrame
    telemetry: pd.DataFrame
    runs: pd.DataFrame
    light_curves: dict
    products: pd.DataFrame
    audit: pd.DataFrame
    timeline: pd.DataFrame
    retracted_by: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict:
        """The dossier JSON-ready: times in ISO UTC, NaN as None."""
        return {
            **self.report,
            "trigger_file": self.trigger_file and json_row(self.trigger_file),
            "position_history": self.position_history(),
            "frames": json_records(self.frames),
            "masters": json_records(self.masters),
            "telemetry": json_records(self.telemetry),
            "runs": json_records(self.runs),
            "light_curves": {run: json_records(lc) for run, lc in self.light_curves.items()},
            "products": json_records(self.products),
            "audit": json_records(self.audit),
            "timeline": json_records(self.timeline),
            "retracted_by": json_records(self.retracted_by),
            "warnings": json_records(self.warnings),
        }

    def position_history(self) -> list[dict]:
        """The positions the notices gave, oldest first: received_at, instrument, ra, dec,
        error_deg (the notices without a usable position left out)."""
        keys = ("received_at", "instrument", "ra", "dec", "error_deg")
        given = [
            {key: p[key] for key in keys}
            for p in self.report["packets"]
            if p["ra"] is not None and (p["error_deg"] or 0) > 0 and not p["retraction"]
        ]
        return given[::-1]


def check_burst_id(burst_id: str) -> str:
    """``burst_id`` if it is one; :class:`DossierError` naming it otherwise."""
    if not isinstance(burst_id, str) or not BURST_ID_PATTERN.match(burst_id):
        raise DossierError(f"{burst_id!r} is not a burst ID (sb and eight digits)")
    return burst_id


def burst_dossier(stores: Stores, burst_id: str, *, at: datetime) -> Dossier | None:
    """Join every store for one burst, observability seen from the site at ``at``.

    Returns
    -------
    Dossier or None
        None when no notice names the burst.

    Raises
    ------
    DossierError
        If ``burst_id`` is not a burst ID.
    """
    check_burst_id(burst_id)
    alerts = stores.alerts
    site = telescope_site(stores.workspace.config.site)
    report = BurstQueries(alerts.cache, alerts.triggers_dir).report(burst_id, site=site, at=at)
    if report is None:
        return None
    frames = with_quality(stores.quality, burst_frames(stores, burst_id))
    runs = stores.reprocess.runs()
    runs = runs[runs["burst_id"] == burst_id].reset_index(drop=True)
    stored = [stores.reprocess.load(run_id) for run_id in runs["run_id"]]
    runs = runs.assign(t0=[run.meta.get("t0") or "" for run in stored])
    products = stores.products.queue(burst_id, all_versions=True)
    audit = stores.products.audit(burst_id)
    trigger = trigger_record(stores, burst_id)
    retracted_by = retractions(alerts.cache, burst_id)
    empty_frames = frames.empty
    return Dossier(
        burst_id=burst_id,
        report=report,
        trigger_file=trigger,
        frames=frames,
        masters=pd.DataFrame() if empty_frames else masters_at(stores.calibration, frames),
        telemetry=pd.DataFrame() if empty_frames else telemetry_at(stores.status, frames),
        runs=runs,
        light_curves={run.run_id: run.light_curve for run in stored},
        products=products,
        audit=audit,
        timeline=timeline(report, trigger, frames, runs, audit, retracted_by),
        retracted_by=retracted_by,
        warnings=stores.products.warnings.standing(burst_id),
    )


def burst_frames(stores: Stores, burst_id: str) -> pd.DataFrame:
    """The frames of every folder of the burst (its TRGID or name), time-ordered, with the
    folder's name in a first column ``folder``."""
    folders = stores.reprocess.folders()
    parts = []
    for row in folders[folders["burst_id"] == burst_id].itertuples():
        images, _ = stores.reprocess.images(row.path)
        parts.append(images.drop(columns="path").assign(folder=row.name))
    if not parts:
        columns = ["folder", "name", "instrument", "filter", "exptime", "t_start", "t_end"]
        return pd.DataFrame(columns=[*columns, "t_mid"])
    frames = pd.concat(parts, ignore_index=True).sort_values("t_mid", ignore_index=True)
    return frames[["folder", *[c for c in frames.columns if c != "folder"]]]


def trigger_record(stores: Stores, burst_id: str) -> dict | None:
    """The burst's trigger file: path, written_at (its modification time, UTC), text."""
    path = stores.alerts.trigger_file(burst_id)
    if path is None:
        return None
    written = pd.Timestamp(path.stat().st_mtime, unit="s")
    return {"path": str(path), "written_at": written, "text": path.read_text("utf-8")}


def timeline(
    report: dict,
    trigger: dict | None,
    frames: pd.DataFrame,
    runs: pd.DataFrame,
    audit: pd.DataFrame,
    retracted_by: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The burst's life on one axis, oldest first (:data:`TIMELINE_COLUMNS`): T0, each
    notice's arrival (a retraction as its own event, and so each packet of
    ``retracted_by`` that retracts the burst from outside it), the trigger file, the first
    and last frame, each run, and each product action (built, approved, pushed...) with
    who did it."""
    rows = [(report["t0"], "T0", report["burst_id"], "")]
    for packet in report["packets"]:
        what = "retraction" if packet["retraction"] else f"packet type {packet['packet_type']}"
        event = "retraction" if packet["retraction"] else "notice"
        rows.append((packet["received_at"], event, f"{packet['instrument']}: {what}", ""))
    own = {packet["ivorn"] for packet in report["packets"]}
    if retracted_by is not None:
        for packet in retracted_by.itertuples():
            if packet.ivorn not in own:
                rows.append((packet.received_at, "retraction", packet.ivorn, ""))
    if trigger is not None:
        rows.append((trigger["written_at"], "trigger file", trigger["path"], ""))
    if len(frames):
        rows.append((frames["t_start"].min(), "first frame", frames["name"].iloc[0], ""))
        rows.append((frames["t_end"].max(), "last frame", frames["name"].iloc[-1], ""))
    for run in runs.itertuples():
        rows.append((run.started_at, "GP2 run", run.run_id, run.user))
    for act in audit.itertuples():
        detail = f"{act.card} v{act.version}" + (f": {act.comment}" if act.comment else "")
        rows.append((act.acted_at, f"product {act.action}", detail, act.user_name))
    frame = pd.DataFrame(rows, columns=["at", "event", "detail", "user"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True, format="mixed").dt.tz_localize(None)
    t0 = frame["at"].iloc[0]
    frame["since_t0_s"] = (frame["at"] - t0).dt.total_seconds()
    return frame.sort_values("at", kind="stable", ignore_index=True)[TIMELINE_COLUMNS]


def json_records(frame: pd.DataFrame) -> list[dict]:
    """The rows of a frame as JSON wants them (:func:`json_row`)."""
    return [json_row(row) for row in frame.to_dict("records")]


def json_row(row: dict) -> dict:
    """A row as JSON wants it: times in ISO UTC, dates as ISO, NaN as None."""
    return {key: _json_value(value) for key, value in row.items()}


def _json_value(value):
    """A cell as JSON wants it (:func:`data_access.alerts.bursts._plain`); a date as ISO."""
    if hasattr(value, "isoformat") and not isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    return _plain(value)
