"""``gic night show YYYYMMDD``: a night's image quality as JSON or as a table."""

import json

from app.cli import main
from data_access.stores import Stores


def _last_night(root) -> str:
    """The newest night the demo observed whole (the night under way when the demo was built
    has only the frames taken by then)."""
    stores = Stores.open(root, read_only=True)
    try:
        quality = stores.quality
        counts = {night: len(quality.frames(night)) for night in quality.nights()[:3]}
        whole = max(counts.values())
        return f"{next(n for n, count in counts.items() if count == whole):%Y%m%d}"
    finally:
        stores.close()


def test_show_a_night_as_json(demo_root, capsys):
    night = _last_night(demo_root)
    assert main(["--workspace", str(demo_root), "night", "show", night]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["night"].replace("-", "") == night
    assert data["limits"]["fwhm_max_arcsec"] == 3.0
    frames = data["frames"]
    assert frames and {f["source"] for f in frames} == {"demo"}
    assert all(f["night"] == data["night"] for f in frames)
    assert any(f["outside"].startswith("ellipticity") for f in frames)  # the trailed frames
    assert "humidity (%)" in frames[0]
    trend = data["trends"]["DDRAGO1/g"]
    assert trend[-1]["night"] == data["night"] and len(trend) > 1
    assert {"zp", "fwhm_arcsec", "sky_mag_arcsec2", "n_outside"} <= set(trend[0])


def test_show_one_filter_as_a_table(demo_root, capsys):
    night = _last_night(demo_root)
    args = ["--workspace", str(demo_root), "night", "show", night, "--filter", "r"]
    assert main([*args, "--instrument", "DDRAGO1", "--format", "table"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"night {night[:4]}-{night[4:6]}-{night[6:]}: 4 frames, 1 outside")
    assert "DDRAGO2" not in out


def test_a_malformed_night_is_named(demo_root, capsys):
    assert main(["--workspace", str(demo_root), "night", "show", "2026-12-01"]) == 2
    assert "'2026-12-01' is not a night (YYYYMMDD)" in capsys.readouterr().err
    assert main(["--workspace", str(demo_root), "night", "show", "20261301"]) == 2
