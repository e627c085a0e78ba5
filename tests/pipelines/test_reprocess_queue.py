"""The reprocessing queued after a master was certified bad is done: the run's plan made
again over its frames with the masters in force, the new run recorded with its masters,
the request marked done (or failed with its reason) and told."""

from __future__ import annotations

import shutil

import pytest

from analysis.gp2.simulate import simulate_burst
from app.cli import main
from data_access.gp2.config import Parameters
from data_access.gp2.files import write_simulated_burst
from pipelines.master_impact import queue_reprocessing
from pipelines.reprocess import reprocess
from pipelines.reprocess_queue import replan, run_next_request, run_queued
from tests.data_access.calibration.test_impact import bias_use
from tests.data_access.calibration.test_store import add_night


@pytest.fixture
def queued(stores, monkeypatch):
    """A small generated burst's run that used a bias since certified bad, queued for
    reprocessing; returns (the run's id, the events told)."""
    told = []
    monkeypatch.setattr(
        "pipelines.reprocess_queue.Notifier.raise_event",
        lambda self, kind, text: told.append((kind, text)),
    )
    burst = simulate_burst(seed=3, size=64, n_stars=10, n_epochs=1, filters=("g",))
    source = stores.reprocess.input_dir / "sbqueue"
    write_simulated_burst(burst, source)
    store = stores.reprocess
    pipeline = store.pipeline(source)
    plan = replan(pipeline, {"steps": ["reduction"], "parameters": {"gain": 2.5}}, store)
    run_id, folder = store.new_run("sbqueue")
    frames = store.images(source)[0]["path"]
    reprocess(store, frames, plan, run_id, folder, source=str(source), burst_id="sbq", user="ana")
    add_night(stores.calibration, 1000, "2025-03-01", seed=1)
    master_id, report_id = add_night(stores.calibration, 1000.2, "2025-03-02", seed=2)
    in_force = stores.calibration.in_force("bias", "DDRAGO1", "NONE")
    stores.impact.record_run(run_id, "sbq", [{**bias_use(in_force), "n_images": 1}])
    stores.calibration.certify(report_id, False, comment="stripes", user="ana")
    queue_reprocessing(stores.impact, master_id, user="sara", runs=store)
    return run_id, told


def test_a_stored_runs_plan_keeps_its_steps_and_parameters_and_names_no_master(stores, tmp_path):
    burst = simulate_burst(seed=3, size=64, n_stars=10, n_epochs=1, filters=("g",))
    files = write_simulated_burst(burst, tmp_path / "burst")
    pipeline = stores.reprocess.pipeline(tmp_path / "burst")
    assert pipeline.settings_for("reduction").bias  # the folder's config names its masters
    meta = {"steps": ["findstars"], "t0": "2026-03-05T04:10:00", "parameters": {"gain": 3.0}}
    plan = replan(pipeline, meta, stores.reprocess)
    assert plan.steps == ("findstars",) and plan.t0 == meta["t0"]
    for step in ("reduction", "findstars"):
        settings = plan.settings_for(step)
        assert (settings.bias, settings.dark, settings.flat) == ("", "", "")
        assert settings.parameters.gain == 3.0
    assert files["raw"].is_dir()


def test_a_queued_request_is_run_again_recorded_and_told(stores, queued):
    run_id, told = queued
    outcome = run_next_request(stores)
    assert outcome.reason == "" and outcome.new_run_id != run_id
    request = stores.impact.requests().iloc[0]
    assert request["state"] == "done" and request["new_run_id"] == outcome.new_run_id
    again = stores.reprocess.load(outcome.new_run_id)
    assert again.meta["steps"] == ["reduction"] and again.meta["user"] == "sara"
    assert again.meta["parameters"]["gain"] == 2.5 != Parameters().gain
    assert told == [("reprocessed", outcome.describe())] and "done: run" in told[0][1]
    recorded = stores.cache.query_df("SELECT run_id FROM gp2_run_master")["run_id"]
    assert outcome.new_run_id in set(recorded) or not again.meta["masters"]
    assert run_next_request(stores) is None  # taken once


def test_a_request_whose_frames_are_gone_fails_with_its_reason(stores, queued, capsys):
    shutil.rmtree(stores.reprocess.input_dir / "sbqueue")
    root = str(stores.workspace.root)
    assert main(["--workspace", root, "calib", "impact", "--run-queued"]) == 1
    out = capsys.readouterr().out
    assert "failed: run" in out and "sbqueue' is gone" in out and queued[1][0][1] in out
    request = stores.impact.requests().iloc[0]
    assert request["state"] == "failed" and "is gone" in request["reason"]
    assert run_queued(stores) == []
    assert main(["--workspace", root, "calib", "impact", "--run-queued"]) == 0
    assert "no reprocessing queued" in capsys.readouterr().out


def test_a_request_left_running_by_a_process_that_died_is_run_again(stores, queued):
    import socket
    import subprocess
    import sys

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    request_id = int(stores.impact.requests().iloc[0]["request_id"])
    with stores.cache.transaction() as con:  # as a worker killed in the middle leaves it
        con.execute(
            "UPDATE reprocess_request SET state = 'running', claimed_by = ? WHERE request_id = ?",
            [f"{gone}@{socket.gethostname()}", request_id],
        )
    elsewhere = [f"{gone}@another-host"]
    assert stores.impact.requeue_abandoned() == [request_id]
    assert stores.impact.requests().iloc[0]["state"] == "queued"
    with stores.cache.transaction() as con:  # another host's taker is its own to judge
        con.execute("UPDATE reprocess_request SET state = 'running', claimed_by = ?", elsewhere)
    assert stores.impact.requeue_abandoned() == [] and run_next_request(stores) is None
    with stores.cache.transaction() as con:
        con.execute(
            "UPDATE reprocess_request SET claimed_by = ?", [f"{gone}@{socket.gethostname()}"]
        )
    outcome = run_next_request(stores)
    assert outcome.request_id == request_id and outcome.reason == ""
    assert stores.impact.requests().iloc[0]["state"] == "done"
