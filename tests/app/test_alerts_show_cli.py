"""``gic alerts show BURST --format json``: a burst's notices, latency and observability."""

import json

from analysis.observability import TRIGGER_OBSERVABILITY_KEYS
from analysis.trigger_file import read_trigger_file
from tests.analysis.test_voevent import make_packet
from tests.app.test_alerts_cli import gic, gic_stdin


def test_show_a_burst_as_json(tmp_path, monkeypatch, capsys):
    ws = tmp_path / "ws"
    (tmp_path / "ws").mkdir()
    (ws / "gic.toml").write_text('[site]\nname = "Teide"\nlatitude_deg = 28.3\n')
    gic_stdin(ws, monkeypatch, make_packet())
    capsys.readouterr()
    assert gic(ws, "alerts", "show", "sb26021102", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["burst_id"] == "sb26021102" and report["site"] == "Teide"
    assert report["best_instrument"] == "ECLAIRs" and report["error_deg"] == 0.1057
    [packet] = report["packets"]
    assert packet["t0_to_arrival_s"] > 0 and packet["arrival_to_trigger_s"] >= 0
    seen = report["observability"]
    assert -90 <= seen["altitude_deg"] <= 90 and 0 <= seen["moon_illumination"] <= 1
    assert seen["night"]["evening_astronomical"] < seen["night"]["morning_astronomical"]
    trigger = read_trigger_file((ws / "triggers" / "trigger_sb26021102.dat").read_text())
    assert set(TRIGGER_OBSERVABILITY_KEYS) <= set(trigger) and trigger["obs_site"] == "Teide"
    assert gic(ws, "alerts", "show", "sb99999999") == 2
