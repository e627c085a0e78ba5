"""The reprocessing asked for after a master was certified bad or demoted
(:meth:`~data_access.calibration.impact.MasterImpact.queue_reprocessing`), done: each queued
request, one at a time, runs its run's plan again over the run's frames with the masters in
force now, records the new run (and the masters it used), marks the request done or failed
with its reason, and tells of it (notification kind ``reprocessed``).

Use::

    outcome = run_next_request(stores)        # one request, None when nothing is queued
    outcomes = run_queued(stores)             # every request queued (``gic calib impact
                                              # --run-queued``)

The background work (:mod:`app.worker`) takes one request per turn.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from data_access.gp2.config import ModuleSettings, PipelineSettings
from data_access.gp2.records import RunPlan
from data_access.gp2.runs import ReprocessError, ReprocessStore
from data_access.notifications import Notifier
from pipelines.frame_quality import QualityRecorder
from pipelines.reprocess import reprocess

log = logging.getLogger("gic.reprocess_queue")


@dataclasses.dataclass(frozen=True)
class RequestOutcome:
    """What became of one request: the new run's id, or why it failed."""

    request_id: int
    run_id: str
    master_id: int
    new_run_id: str | None = None
    reason: str = ""

    def describe(self) -> str:
        """One plain line (a command's output, a notification, a log)."""
        what = f"reprocessing request {self.request_id} (run {self.run_id}, master "
        if self.reason:
            return f"{what}{self.master_id}) failed: {self.reason}"
        return f"{what}{self.master_id}) done: run {self.new_run_id}"


def replan(pipeline: PipelineSettings, meta: dict, store: ReprocessStore) -> RunPlan:
    """The plan of a stored run (``run.json``: its steps, parameters and T0) over its
    folder's pipeline configuration, with no master named so that those in force now are
    used. Only the parameters that differ from the configuration's are applied (as the
    Reprocess page does)."""
    defaults = dataclasses.asdict(pipeline.settings_for("pipeline").parameters)
    changed = {k: v for k, v in meta.get("parameters", {}).items() if defaults.get(k) != v}
    modules = pipeline.modules or {"pipeline": pipeline.settings_for("pipeline")}
    settings = {step: _in_force(s, changed) for step, s in modules.items()}
    return RunPlan(
        steps=tuple(meta["steps"]),
        settings=settings,
        headers=(),
        t0=meta.get("t0") or "",
        keywords=store.keywords,
    )


def _in_force(settings: ModuleSettings, changed: dict) -> ModuleSettings:
    parameters = dataclasses.replace(settings.parameters, **changed)
    return dataclasses.replace(settings, bias="", dark="", flat="", parameters=parameters)


def run_next_request(stores) -> RequestOutcome | None:
    """Take the oldest queued request, run it, record and tell what became of it; None
    when nothing is queued. A request that cannot be run is marked failed with its reason
    (its run folder removed); nothing is raised for it."""
    request = stores.impact.claim_request()
    if request is None:
        return None
    outcome = RequestOutcome(int(request["request_id"]), request["run_id"], request["master_id"])
    try:
        outcome = dataclasses.replace(outcome, new_run_id=_run_again(stores, request))
    except Exception as exc:  # the request's failure, kept with it; the next one goes on
        log.warning("reprocessing request %s failed", outcome.request_id, exc_info=True)
        outcome = dataclasses.replace(outcome, reason=str(exc) or type(exc).__name__)
    stores.impact.finish_request(
        outcome.request_id, new_run_id=outcome.new_run_id, reason=outcome.reason
    )
    Notifier.from_workspace(stores.workspace).raise_event("reprocessed", outcome.describe())
    return outcome


def run_queued(stores) -> list[RequestOutcome]:
    """Every queued request, one after the other (:func:`run_next_request`)."""
    outcomes = []
    while (outcome := run_next_request(stores)) is not None:
        outcomes.append(outcome)
    return outcomes


def _run_again(stores, request: dict) -> str:
    """Run a request's run again into a new run folder; returns the new run's id."""
    store: ReprocessStore = stores.reprocess
    meta = store.load(request["run_id"]).meta
    source = request["source"] or meta["source"]
    if not source or not Path(source).is_dir():
        raise ReprocessError(f"run {request['run_id']}: its frames folder {source!r} is gone")
    plan = replan(store.pipeline(source), meta, store)
    frames = store.images(source)[0]["path"]
    run_id, folder = store.new_run(request["burst_id"] or meta["burst_id"])
    try:
        reprocess(
            store,
            frames,
            plan,
            run_id,
            folder,
            source=source,
            burst_id=request["burst_id"] or meta["burst_id"],
            user=request["user_name"],
            calibration=stores.calibration,
            quality=QualityRecorder.from_stores(stores),
        )
    except BaseException:
        store.remove(run_id)
        raise
    return run_id
