"""What one master served: the GP2 runs that used it, the product versions built from them,
the master of its kind in force now, and the reprocessing asked for, joined for the
calibration page and ``gic calib impact MASTER --format json``.

Use::

    impact = stores.impact
    report = master_impact(impact, stores.calibration, "bias_DDRAGO1_NONE_20261201.fits",
                           runs=stores.reprocess)              # or the master's id
    queue_reprocessing(impact, report["master"]["master_id"], user="ana", runs=stores.reprocess)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from data_access.calibration.impact import MasterImpact
from data_access.calibration.store import CalibrationStore
from data_access.gp2.runs import ReprocessStore
from pipelines.dossier import json_records, json_row


def master_impact(
    impact: MasterImpact,
    calibration: CalibrationStore,
    key: str | int,
    *,
    runs: ReprocessStore | None = None,
) -> dict:
    """Everything one master served, JSON-ready (times in ISO UTC, NaN as None).

    Parameters
    ----------
    impact : MasterImpact
    calibration : CalibrationStore
        Gives the master of the same kind in force now.
    key : str or int
        The master's id, its file name, or its path in the masters folder.
    runs : ReprocessStore, optional
        Gives each run's frames folder (``source``; '' without it).

    Returns
    -------
    dict
        ``master`` (its row, ``bad``, ``why`` and ``in_force_now``: the file of its kind in
        force now), ``runs`` (that used it, with their frames folder), ``products`` (built
        from those runs; ``warning`` True where it stands), ``requests`` (of reprocessing).

    Raises
    ------
    CalibrationStoreError
        If no master, or more than one, answers to ``key``.
    """
    master = impact.master(key)
    now = calibration.in_force(master["caltype"], master["instrument"], master["filter"])
    used = impact.runs(master["master_id"])
    used["source"] = used["run_id"].map(run_sources(runs, used["run_id"]))
    return {
        "master": json_row({**master, "in_force_now": now.name if now else ""}),
        "runs": json_records(used),
        "products": json_records(impact.products(master["master_id"])),
        "requests": json_records(impact.requests(master["master_id"])),
    }


def run_sources(runs: ReprocessStore | None, run_ids) -> dict[str, str]:
    """The frames folder of each run (its ``run.json`` source), '' for a run gone or when
    the runs are not known."""
    listed = runs.runs() if runs is not None else pd.DataFrame(columns=["run_id", "source"])
    known = dict(zip(listed["run_id"], listed["source"], strict=True))
    return {run_id: known.get(run_id, "") for run_id in run_ids}


def queue_reprocessing(
    impact: MasterImpact, master_id: int, *, user: str, runs: ReprocessStore | None = None
) -> pd.DataFrame:
    """Queue every run that used a master for reprocessing with the masters now in force
    (:meth:`~data_access.calibration.impact.MasterImpact.queue_reprocessing`); returns the
    requests made now."""
    used = impact.runs(master_id)["run_id"]
    return impact.queue_reprocessing(master_id, user=user, sources=run_sources(runs, used))


def describe_impact(report: dict) -> list[str]:
    """The impact report in a few plain lines (for the command's text and a page)."""
    master = report["master"]
    name = Path(master["path"]).name
    state = master["why"] if master["bad"] else f"{master['status']}, not bad"
    standing = sum(bool(p["warning"]) for p in report["products"])
    queued = sum(r["state"] == "queued" for r in report["requests"])
    lines = [
        f"master {master['master_id']} {name} ({state}); in force now: "
        f"{master['in_force_now'] or 'none'}",
        f"{len(report['runs'])} run(s) used it, {len(report['products'])} product version(s) "
        f"were built from them, {standing} carry its warning; {queued} reprocessing queued",
    ]
    snapshot = master.get("lake_snapshot")
    if snapshot is not None:
        lines.append(
            f"promoted from lake snapshot {snapshot}: `gic --at {snapshot} calib impact "
            f"{master['master_id']}` shows the cache as it was then"
        )
    return lines
