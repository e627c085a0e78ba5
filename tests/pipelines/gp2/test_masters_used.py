"""A GP2 run keeps the masters each frame was processed with, those the config names and
those in force, and counts the frames each master served."""

from __future__ import annotations

from pathlib import Path

from analysis.gp2.simulate import simulate_burst
from data_access.gp2.config import ModuleSettings
from data_access.gp2.files import write_simulated_burst
from data_access.gp2.run_folder import masters_used
from pipelines.gp2.runner import RunPlan, run_burst


def test_each_frame_keeps_its_masters_and_each_master_counts_its_frames(tmp_path):
    burst = simulate_burst(seed=3, size=64, n_stars=10, n_epochs=2, filters=("g", "i"))
    files = write_simulated_burst(burst, tmp_path / "burst")
    in_force = {}

    def resolve(caltype: str, instrument: str, filter_: str) -> Path:
        in_force[caltype] = Path(f"/masters/{instrument}/{caltype}_{filter_}.fits")
        return in_force[caltype]

    named = ModuleSettings(bias=str(files["masters"] / "bias.fits"))
    plan = RunPlan.for_module("findstars", named)
    result = run_burst([files["raw"]], plan, output=tmp_path / "out", masters=resolve)
    assert len(result.inputs) == 4
    frame = next(iter(result.inputs.values()))
    assert frame["bias"] == str(files["masters"] / "bias.fits")  # the config's, not in force
    assert frame["flat"].startswith(f"/masters/{frame['instrument']}/flat_{frame['filter']}")
    used = masters_used(result.inputs)
    assert {(u["caltype"], u["n_images"]) for u in used if u["caltype"] == "bias"} == {("bias", 2)}
    assert sum(u["n_images"] for u in used) == 12  # three masters for each of four frames
