"""The Dask client a GP2 run's tasks go to: the scheduler of ``[gp2] scheduler_address``
when it is set, else a LocalCluster shaped by ``[gp2]``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from data_access.config import Gp2Config


@contextlib.contextmanager
def open_client(
    config: Gp2Config | None = None, *, n_workers: int | None = None, processes: bool | None = None
) -> Iterator:
    """A ``dask.distributed`` client: to ``scheduler_address`` if set, else a LocalCluster.

    Parameters
    ----------
    config : Gp2Config, optional
        ``[gp2]`` of gic.toml (defaults: 2 single-thread workers in this process).
    n_workers, processes : optional
        Override the config's LocalCluster shape.
    """
    from distributed import Client, LocalCluster

    config = config or Gp2Config()
    if config.scheduler_address:
        client = Client(config.scheduler_address, timeout="20s")
        try:
            yield client
        finally:
            client.close()
        return
    use_processes = config.processes if processes is None else processes
    cluster = LocalCluster(
        n_workers=n_workers or config.n_workers,
        threads_per_worker=config.threads_per_worker,
        processes=use_processes,
        memory_limit=config.memory_limit if use_processes else 0,
        dashboard_address=":0",
        silence_logs=logging.WARNING,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
