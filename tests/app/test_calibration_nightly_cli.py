"""``gic calib fetch`` and ``gic calib nightly`` over links to frames on a mounted storage."""

from __future__ import annotations

import json

from app.cli import main
from tests.calibration_helpers import write_raw
from tests.cdb_frames import link_of


def workspace_with_links(tmp_path, *, missing: bool = False):
    ws = tmp_path / "ws"
    frames = write_raw(tmp_path / "mounted", "bias", 3)
    entries = [link_of(p, str(p)) for p in frames]
    if missing:
        entries.append({**entries[0], "path": str(tmp_path / "gone.fits")})
    drop = ws / "drop" / "calibration-links"
    drop.mkdir(parents=True)
    (drop / "links.json").write_text(json.dumps(entries))
    return ws


def test_fetch_then_nightly(tmp_path, capsys):
    ws = workspace_with_links(tmp_path)
    assert main(["--workspace", str(ws), "calib", "fetch", "--night", "20250301"]) == 0
    assert "3 link(s); 3 fetched, 0 already there, 0 failed" in capsys.readouterr().out
    assert main(["--workspace", str(ws), "calib", "nightly", "--night", "20250301"]) == 0
    out = capsys.readouterr().out
    assert "night 20250301: done; 3 link(s), 0 fetched, 3 already there" in out
    assert "1 master(s) built, 1 valid, 1 promoted" in out


def test_a_night_without_frames_is_not_an_error(tmp_path, capsys):
    ws = workspace_with_links(tmp_path)
    assert main(["--workspace", str(ws), "calib", "nightly", "--night", "20250302"]) == 0
    assert "night 20250302: no frames; 0 link(s)" in capsys.readouterr().out


def test_a_frame_that_cannot_be_had_exits_1_naming_it(tmp_path, capsys):
    ws = workspace_with_links(tmp_path, missing=True)
    assert main(["--workspace", str(ws), "calib", "fetch", "--night", "20250301"]) == 1
    captured = capsys.readouterr()
    assert "gone.fits" in captured.err and "3 fetched" in captured.out
