"""A burst run on a standalone Dask cluster, as a deployment beyond one machine runs it: a
``dask scheduler`` and two ``dask worker`` processes started here, the scheduler's address
given through gic.toml's ``[gp2] scheduler_address``; the results are those of a
LocalCluster run."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.gp2 import PHOTOMETRY_COLUMNS
from analysis.gp2.simulate import simulate_burst
from data_access.config import load_config
from data_access.gp2.config import read_pipeline_config
from data_access.gp2.files import write_simulated_burst
from pipelines.gp2.cluster import open_client
from pipelines.gp2.runner import RunPlan, run_burst
from tests.conftest import free_port, service_unavailable
from tests.service.conftest import stop_process, wait_for_port

DASK = Path(sys.executable).with_name("dask")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.service, pytest.mark.slow]


def _start(arguments: list[str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(DASK), *arguments], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )


@pytest.fixture
def scheduler_address(tmp_path) -> Iterator[str]:
    """A scheduler and two single-thread workers on loopback; stopped after the test."""
    if not DASK.is_file():
        service_unavailable(f"no {DASK} to start a Dask cluster with")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    processes = []
    try:
        processes.append(
            _start(
                ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                tmp_path / "scheduler.log",
            )
        )
        if not wait_for_port(port, processes[0]):
            service_unavailable(
                f"dask scheduler did not start: {(tmp_path / 'scheduler.log').read_text()}"
            )
        for k in range(2):
            processes.append(
                _start(
                    ["worker", address, "--host", "127.0.0.1", "--nthreads", "1"]
                    + ["--no-nanny", "--no-dashboard", "--memory-limit", "0", "--name", f"gp2-{k}"],
                    tmp_path / f"worker-{k}.log",
                )
            )
        yield address
    finally:
        for process in reversed(processes):
            stop_process(process)


def test_a_burst_on_a_standalone_cluster_gives_the_local_cluster_results(
    scheduler_address, tmp_path
):
    burst = simulate_burst(seed=5, size=128, n_stars=30, n_epochs=3, index=1.2)
    files = write_simulated_burst(burst, tmp_path / "burst")
    (tmp_path / "gic.toml").write_text(f'[gp2]\nscheduler_address = "{scheduler_address}"\n')
    config = load_config(tmp_path / "gic.toml").gp2
    plan = RunPlan.from_pipeline(read_pipeline_config(files["config"]), t0=burst.t0)
    with open_client(config) as client:
        try:
            client.wait_for_workers(2, timeout=20)
        except TimeoutError:
            service_unavailable("the two dask workers did not join the scheduler in 20 s")
        workers = client.scheduler_info()["workers"].values()
        assert {w["name"] for w in workers} == {"gp2-0", "gp2-1"}
        standalone = run_burst([files["raw"]], plan, output=tmp_path / "out", client=client)
    with open_client(n_workers=2, processes=False) as client:
        local = run_burst([files["raw"]], plan, output=tmp_path / "local", client=client)
    assert standalone.failures == [] and len(standalone.light_curve) == len(burst.frames)
    for column in PHOTOMETRY_COLUMNS:
        assert list(standalone.light_curve[column]) == list(local.light_curve[column]), column
    assert standalone.transient == local.transient
    assert standalone.decay == local.decay
