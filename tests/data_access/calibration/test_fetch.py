"""A night's frames from the CDB: a real local HTTP server, a mounted folder, a killed
download resumed, a checksum that does not match, real frames."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from analysis.calibration.links import parse_links
from data_access.calibration.fetch import (
    FETCHED,
    PRESENT,
    FrameFetcher,
    delete_raw_frames,
    night_lock,
    part_path,
)
from data_access.config import CalibrationNightlyConfig
from tests.calibration_helpers import write_raw
from tests.cdb_frames import FrameServer, link_of, serving

ROOT = Path(__file__).resolve().parents[3]
FAST = CalibrationNightlyConfig(download_timeout_s=5.0, download_retries=1, download_backoff_s=0)


@pytest.fixture
def cdb(tmp_path):
    """A FrameServer over tmp_path/cdb with five generated bias frames."""
    write_raw(tmp_path / "cdb", "bias", 5)
    with serving(tmp_path / "cdb") as server:
        yield server


def links_of(server: FrameServer, **changes):
    entries = [
        link_of(p, server.frame_url(p.name), **changes) for p in sorted(server.folder.iterdir())
    ]
    return parse_links(entries, "test links")


def test_frames_are_downloaded_checked_and_then_skipped(cdb, tmp_path):
    night = tmp_path / "raw" / "20250301"
    links = links_of(cdb)
    done = []
    summary = FrameFetcher(night, FAST).fetch(links, progress=lambda d, t: done.append((d, t)))
    assert sorted(summary.fetched) == sorted(link.name for link in links)
    assert done[-1] == (5, 5)
    for link in links:
        assert (night / link.name).read_bytes() == (cdb.folder / link.name).read_bytes()
    assert not list(night.glob(".*"))  # no part file left
    asked = len(cdb.requests)
    again = FrameFetcher(night, FAST).fetch(links)
    assert len(again.present) == 5 and not again.fetched
    assert len(cdb.requests) == asked  # nothing asked again


def test_a_checksum_mismatch_is_reported_and_the_others_go_on(cdb, tmp_path):
    night = tmp_path / "night"
    links = links_of(cdb)
    bad = replace(links[0], checksum="sha256:" + "0" * 64)
    summary = FrameFetcher(night, FAST).fetch([bad, *links[1:]])
    assert len(summary.fetched) == 4
    [(name, reason)] = summary.failed
    assert name == bad.name
    assert "checksum mismatch" in reason and bad.name in reason and "after 2 attempts" in reason
    assert not (night / bad.name).exists() and not part_path(night, bad.name).exists()


def test_a_frame_the_cdb_does_not_have_is_not_retried(cdb, tmp_path):
    links = links_of(cdb)
    cdb.fail[links[1].name] = 404
    summary = FrameFetcher(tmp_path / "night", FAST).fetch(links)
    [(name, reason)] = summary.failed
    assert name == links[1].name and "HTTP 404" in reason and "not retried" in reason
    assert sum(path.endswith(links[1].name) for path, _ in cdb.requests) == 1


def test_a_wrong_size_on_disk_is_fetched_again(cdb, tmp_path):
    night = tmp_path / "night"
    link = links_of(cdb)[0]
    night.mkdir()
    (night / link.name).write_bytes(b"truncated")
    assert FrameFetcher(night, FAST).fetch_one(link) == FETCHED
    assert FrameFetcher(night, FAST).fetch_one(link) == PRESENT


def test_a_frame_on_mounted_storage_is_copied(tmp_path):
    [path] = write_raw(tmp_path / "mounted", "flat", 1)
    links = parse_links([link_of(path, str(path))], "test links")
    summary = FrameFetcher(tmp_path / "night", FAST).fetch(links)
    assert summary.fetched == [path.name]
    assert (tmp_path / "night" / path.name).read_bytes() == path.read_bytes()
    missing = replace(links[0], location=str(tmp_path / "gone.fits"), name="gone.fits")
    [(name, reason)] = FrameFetcher(tmp_path / "night", FAST).fetch([missing]).failed
    assert name == "gone.fits" and "No such file" in reason


_FETCH_IN_A_PROCESS = """
import json, sys
from pathlib import Path
from analysis.calibration.links import parse_links
from data_access.calibration.fetch import FrameFetcher
from data_access.config import CalibrationNightlyConfig
links = parse_links(json.loads(sys.argv[1]), "argv")
FrameFetcher(Path(sys.argv[2]), CalibrationNightlyConfig(download_timeout_s=60)).fetch(links)
"""


def test_a_download_killed_leaves_no_frame_and_is_resumed(tmp_path):
    cdb = tmp_path / "cdb"
    cdb.mkdir()
    content = np.random.default_rng(1).integers(0, 255, 1 << 20, dtype=np.uint8).tobytes()
    (cdb / "big.fits").write_bytes(content)
    with serving(cdb) as server:
        server.stall_after = 600_000
        entry = {
            "url": server.frame_url("big.fits"),
            "night": "20250301",
            "instrument": "DDRAGO1",
            "type": "dark",
            "exptime_s": 30,
            "size_bytes": len(content),
        }
        night = tmp_path / "night"
        process = subprocess.Popen(
            [sys.executable, "-c", _FETCH_IN_A_PROCESS, json.dumps([entry]), str(night)],
            cwd=ROOT,
        )
        try:
            part = part_path(night, "big.fits")
            deadline = time.monotonic() + 60
            while not (part.is_file() and part.stat().st_size >= 2 * 2**18):
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            process.kill()
            process.wait()
        assert not (night / "big.fits").exists()  # never a counted partial frame
        had = part.stat().st_size
        server.stall_after = None
        [link] = parse_links([entry], "test links")
        assert FrameFetcher(night, FAST).fetch_one(link) == FETCHED
        assert server.requests[-1][1] == f"bytes={had}-"  # resumed where it stopped
        assert (night / "big.fits").read_bytes() == content and not part.exists()


def test_real_frames_are_served_fetched_and_checked(shared_data, tmp_path):
    folder = shared_data / "fits" / "feder_apogee" / "msumastro_testdata"
    names = ["biastest1.fit", "biastest2.fit", "biastest3.fit"]
    with serving(folder) as server:
        entries = [
            link_of(folder / n, server.frame_url(n), type="bias", instrument="APOGEE")
            for n in names
        ]
        summary = FrameFetcher(tmp_path / "night", FAST).fetch(parse_links(entries, "links"))
    assert sorted(summary.fetched) == names
    for n in names:
        assert (tmp_path / "night" / n).read_bytes() == (folder / n).read_bytes()


def test_retention_deletes_frames_and_parts_only(tmp_path):
    night = tmp_path / "night"
    write_raw(night, "bias", 2)
    (night / ".x.fits.part").write_bytes(b"x")
    assert len(delete_raw_frames(night)) == 3 and not night.exists()
    write_raw(night, "bias", 1)
    (night / "notes.txt").write_text("kept")
    delete_raw_frames(night)
    assert [p.name for p in night.iterdir()] == ["notes.txt"]


def test_a_second_fetch_of_the_night_waits_for_the_first(tmp_path):
    [path] = write_raw(tmp_path / "mounted", "bias", 1)
    links = parse_links([link_of(path, str(path))], "test links")
    night = tmp_path / "raw" / "20250301"
    night.mkdir(parents=True)
    results = []
    with night_lock(night):
        second = threading.Thread(
            target=lambda: results.append(FrameFetcher(night, FAST).fetch(links))
        )
        second.start()
        second.join(0.3)
        assert second.is_alive() and not results  # waiting while the first holds the night
    second.join(30)
    assert results[0].fetched == [path.name]
