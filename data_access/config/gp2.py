"""Settings of GP2 runs (``[gp2]``): the Dask cluster, the input folder, the header
keywords read."""

from __future__ import annotations

from dataclasses import dataclass

from data_access.config.setting import _setting


@dataclass(frozen=True)
class Gp2Config:
    scheduler_address: str = _setting(
        "",
        "Dask scheduler of a real cluster, e.g. 'tcp://gp2-scheduler:8786'; empty = a LocalCluster",
    )
    n_workers: int = _setting(2, "Workers of the LocalCluster (one per core is right)")
    threads_per_worker: int = _setting(1, "Threads per LocalCluster worker")
    processes: bool = _setting(
        False, "LocalCluster workers as processes (true) or threads of this process (false)"
    )
    memory_limit: str = _setting(
        "2GiB", "Memory limit of each LocalCluster worker (processes only)"
    )
    input_dir: str = _setting(
        "raw/gp2",
        "Folder (relative to the workspace) of the frames the Reprocess page offers, one "
        "sub-folder per burst or set of frames",
    )
    output_dir: str = _setting(
        "reprocessing", "Folder (relative to the workspace) of the runs the Reprocess page starts"
    )
    frame_roots: tuple = _setting(
        (),
        "Extra folders (absolute, or relative to the workspace) whose sub-folders the Reprocess "
        "page offers as frame folders, beside input_dir",
    )
    gp1_poll_s: float = _setting(2.0, "Seconds between two looks of gic gp1 at its input folder")
    sync_every_s: float = _setting(
        10.0,
        "Seconds between two looks of the server at the burst syncs requested (a NATS message "
        "or a notice naming a burst); 0 = the server runs none (gic gp2 sync still does)",
    )
    saturate_key: str = _setting(
        "SATURATE", "Header keyword GP2 reads the saturation level from (absent: no saturation)"
    )
    exptime_key: str = _setting("EXPTIME", "Header keyword GP2 reads the exposure time from, s")
    filter_key: str = _setting("FILTER", "Header keyword GP2 reads the filter from")
    instrument_key: str = _setting(
        "INSTRUME", "Header keyword GP2 reads the instrument from (absent: no instrument)"
    )
    date_obs_key: str = _setting(
        "DATE-OBS",
        "Header keyword GP2 reads the start of the exposure from, ISO 8601 UTC (else MJD-OBS)",
    )
