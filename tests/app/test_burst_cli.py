"""``gic burst show ID``: the dossier as JSON or as tables."""

import json

from app.cli import main


def test_show_a_dossier_as_json(demo_root, demo_bursts, capsys):
    burst = demo_bursts.products
    assert main(["--workspace", str(demo_root), "burst", "show", burst]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["burst_id"] == burst and data["packets"]
    assert {p["state"] for p in data["products"]} >= {"approved", "new"}
    assert data["timeline"][0]["event"] == "T0" and data["timeline"][0]["since_t0_s"] == 0


def test_show_a_dossier_as_tables(demo_root, demo_bursts, capsys):
    burst = demo_bursts.reprocess
    args = ["--workspace", str(demo_root), "burst", "show", burst, "--format", "table"]
    assert main(args) == 0
    out = capsys.readouterr().out
    t0 = f"{demo_bursts.reprocess_t0:%Y-%m-%d}T06:00"
    assert out.startswith(f"burst {burst}: T0 {t0}") and "\nmasters:\n" in out


def test_an_unknown_or_malformed_burst_is_named(demo_root, capsys):
    assert main(["--workspace", str(demo_root), "burst", "show", "sb00000000"]) == 2
    assert "no notice names burst 'sb00000000'" in capsys.readouterr().err
    assert main(["--workspace", str(demo_root), "burst", "show", "x<y>"]) == 2
    assert "'x<y>' is not a burst ID" in capsys.readouterr().err
