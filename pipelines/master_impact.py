"""What one master served: the GP2 runs that used it, the product versions built from them,
the master of its kind in force now, and the reprocessing asked for, joined for the
calibration page and ``gic calib impact MASTER --format json``.

Use::

    report = master_impact(stores, "bias_DDRAGO1_NONE_20261201.fits")   # or its id
    queue_reprocessing(stores, report["master"]["master_id"], user="ana")
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from data_access.stores import Stores
from pipelines.dossier import json_records, json_row


def master_impact(stores: Stores, key: str | int) -> dict:
    """Everything one master served, JSON-ready (times in ISO UTC, NaN as None).

    Parameters
    ----------
    stores : Stores
    key : str or int
        The master's id, its file name, or its path in the masters folder.

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
    impact = stores.impact
    master = impact.master(key)
    now = stores.calibration.in_force(master["caltype"], master["instrument"], master["filter"])
    runs = impact.runs(master["master_id"])
    runs["source"] = runs["run_id"].map(run_sources(stores, runs["run_id"]))
    return {
        "master": json_row({**master, "in_force_now": now.name if now else ""}),
        "runs": json_records(runs),
        "products": json_records(impact.products(master["master_id"])),
        "requests": json_records(impact.requests(master["master_id"])),
    }


def run_sources(stores: Stores, run_ids) -> dict[str, str]:
    """The frames folder of each run (its ``run.json`` source), '' for a run gone."""
    runs = stores.reprocess.runs()
    known = dict(zip(runs["run_id"], runs["source"], strict=True))
    return {run_id: known.get(run_id, "") for run_id in run_ids}


def queue_reprocessing(stores: Stores, master_id: int, *, user: str) -> pd.DataFrame:
    """Queue every run that used a master for reprocessing with the masters now in force
    (:meth:`~data_access.calibration.impact.MasterImpact.queue_reprocessing`)."""
    runs = stores.impact.runs(master_id)["run_id"]
    return stores.impact.queue_reprocessing(master_id, user=user, sources=run_sources(stores, runs))


def describe_impact(report: dict) -> list[str]:
    """The impact report in a few plain lines (for ``--format table`` and a page)."""
    master = report["master"]
    name = Path(master["path"]).name
    state = f"{master['why']}" if master["bad"] else f"{master['status']}, not bad"
    standing = sum(bool(p["warning"]) for p in report["products"])
    queued = sum(r["state"] == "queued" for r in report["requests"])
    return [
        f"master {master['master_id']} {name} ({state}); in force now: "
        f"{master['in_force_now'] or 'none'}",
        f"{len(report['runs'])} run(s) used it, {len(report['products'])} product version(s) "
        f"were built from them, {standing} carry its warning; {queued} reprocessing queued",
    ]
