"""The Reprocess store's folders: the frame folders (ReprocessStore.folders), asked at every
visit of the home page, their headers read again only when their FITS files change; and a
stopped run's folder, its partial outputs removed while a cancelled task still writes."""

from __future__ import annotations

import os

import numpy as np
from astropy.io import fits

from data_access.gp2 import runs
from data_access.gp2.runs import ReprocessStore


def write_frame(path, trigger: str, start: str) -> None:
    header = fits.Header({"TRGID": trigger, "DATE-OBS": start, "EXPTIME": 30.0, "FILTER": "r"})
    fits.PrimaryHDU(np.zeros((8, 8), dtype=np.float32), header=header).writeto(path)


def test_headers_are_read_again_only_when_the_files_change(tmp_path, monkeypatch):
    folder = tmp_path / "in" / "sb26120390" / "raw"
    folder.mkdir(parents=True)
    write_frame(folder / "a.fits", "sb26120390", "2026-12-03T06:03:00")
    store = ReprocessStore(tmp_path / "in", tmp_path / "runs")
    scans = []
    scan = runs.scan_images
    monkeypatch.setattr(runs, "scan_images", lambda *a, **k: scans.append(1) or scan(*a, **k))

    first = store.folders()
    assert first[["burst_id", "n_images"]].values.tolist() == [["sb26120390", 1]]
    assert store.folders().equals(first) and len(scans) == 1  # nothing changed: not read

    write_frame(folder / "b.fits", "sb26120390", "2026-12-03T06:01:00")
    assert store.folders()["n_images"].iloc[0] == 2 and len(scans) == 2
    assert store.folders()["first"].iloc[0].startswith("2026-12-03T06:01") and len(scans) == 2

    (folder / "a.fits").unlink()
    write_frame(folder / "a.fits", "sb26120391", "2026-12-03T05:00:00")  # same name, new file
    stat = (folder / "a.fits").stat()
    os.utime(folder / "a.fits", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert store.folders()["burst_id"].iloc[0] == "sb26120391" and len(scans) == 3

    for name in ("a.fits", "b.fits"):
        (folder / name).unlink()
    assert store.folders().empty


def test_a_stopped_run_is_recorded_while_a_cancelled_task_still_writes(tmp_path):
    """A Dask worker finishes the task it runs after the run is stopped: its files landing
    in the outputs being removed do not make the stop fail."""
    import threading
    from datetime import UTC, datetime

    from data_access.gp2.records import RunPlan

    store = ReprocessStore(tmp_path / "in", tmp_path / "runs")
    reduced = tmp_path / "runs" / "r1" / "output" / "reduced"
    reduced.mkdir(parents=True)
    for i in range(3000):
        (reduced / f"old{i}.fits").write_bytes(b"x")
    done = threading.Event()

    def late_task():
        i = 0
        while not done.is_set():
            try:
                (reduced / f"late{i}.fits").write_bytes(b"x")
            except FileNotFoundError:  # the outputs moved away: the task fails, as it does
                pass
            i += 1

    writer = threading.Thread(target=late_task)
    writer.start()
    try:
        recorded = store.record_stopped(
            "r1",
            RunPlan(("reduction",)),
            source="f",
            burst_id="sb1",
            user="ana",
            started=datetime.now(UTC),
        )
    finally:
        done.set()
        writer.join()
    assert recorded.name == "stopped.json" and recorded.is_file()
    assert not [p for p in recorded.parent.iterdir() if p.name.startswith(".output")]
