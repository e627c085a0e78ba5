"""The frame folders of the Reprocess page (ReprocessStore.folders), asked at every visit of
the home page: headers read again only when a folder's FITS files change."""

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
