"""Every file GP2 writes goes through :mod:`data_access.safe_files` (a temporary file, then
a rename): a generated burst, a whole run's images and tables, its log, a stored run's
``run.json``, GP1's ledger. Opening a file for writing any other way fails the test."""

from __future__ import annotations

import builtins
import io
import json
from datetime import UTC, datetime

import pytest

from analysis.gp2.simulate import simulate_burst
from data_access.gp2.config import Gp1Settings, read_pipeline_config
from data_access.gp2.files import write_simulated_burst
from data_access.gp2.runs import ReprocessStore
from pipelines.gp2.gp1 import Gp1Outcome, Gp1Runner
from pipelines.gp2.runner import RunPlan, run_burst

_REAL_OPEN = io.open


def _reading_only(file, mode="r", *args, **kwargs):
    if not isinstance(file, int) and any(flag in mode for flag in "wax+"):
        raise AssertionError(f"{file} opened with mode {mode!r}, not through safe_files")
    return _REAL_OPEN(file, mode, *args, **kwargs)


@pytest.fixture
def writes_only_atomically(monkeypatch):
    """``open`` refuses a path opened for writing (safe_files writes through ``os.open``)."""
    monkeypatch.setattr(builtins, "open", _reading_only)
    monkeypatch.setattr(io, "open", _reading_only)


def test_a_run_writes_every_file_atomically(tmp_path, writes_only_atomically):
    burst = simulate_burst(seed=4, size=128, n_stars=25, n_epochs=2, filters=("g",))
    files = write_simulated_burst(burst, tmp_path / "burst")
    plan = RunPlan.from_pipeline(read_pipeline_config(files["config"]), t0=burst.t0)
    result = run_burst([files["raw"]], plan, output=files["output"], keep_images=True)
    written = {p.name for p in files["output"].rglob("*") if p.is_file()}
    assert {"gp2.log", "photometry.csv", "candidates.csv"} <= written
    store = ReprocessStore(files["raw"].parent, tmp_path / "runs")
    run_id, _ = store.new_run("atomic")
    store.save(
        run_id, plan, result, source="burst", burst_id="b", user="u", started=datetime.now(UTC)
    )
    meta = json.loads((tmp_path / "runs" / run_id / "run.json").read_text("utf-8"))
    assert meta["run_id"] == run_id
    assert not list(tmp_path.rglob(".*.part"))


def test_the_gp1_ledger_is_rewritten_atomically_and_read_back(tmp_path, writes_only_atomically):
    settings = Gp1Settings(input=str(tmp_path / "in"), log_path=str(tmp_path), instances=())
    runner = Gp1Runner(settings)
    for k in range(3):
        runner._record(Gp1Outcome(f"/frames/{k}.fits", "svom", "failed", "line one\nline two"))
    assert Gp1Runner(settings).seen == {f"/frames/{k}.fits" for k in range(3)}
