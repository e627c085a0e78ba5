"""``gic burst show ID``: the dossier as JSON or as tables."""

import json

from app.cli import main


def test_show_a_dossier_as_json(demo_root, capsys):
    assert main(["--workspace", str(demo_root), "burst", "show", "sb26113000"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["burst_id"] == "sb26113000" and data["packets"]
    assert {p["state"] for p in data["products"]} >= {"approved", "new"}
    assert data["timeline"][0]["event"] == "T0" and data["timeline"][0]["since_t0_s"] == 0


def test_show_a_dossier_as_tables(demo_root, capsys):
    args = ["--workspace", str(demo_root), "burst", "show", "sb26120190", "--format", "table"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("burst sb26120190: T0 2026-12-01T06:00") and "\nmasters:\n" in out


def test_an_unknown_or_malformed_burst_is_named(demo_root, capsys):
    assert main(["--workspace", str(demo_root), "burst", "show", "sb00000000"]) == 2
    assert "no notice names burst 'sb00000000'" in capsys.readouterr().err
    assert main(["--workspace", str(demo_root), "burst", "show", "x<y>"]) == 2
    assert "'x<y>' is not a burst ID" in capsys.readouterr().err
