import io
import json
import os
import subprocess
import sys

import pytest

from app.cli import main
from tests.analysis.test_voevent import XXE, make_packet
from tests.conftest import REPO

GW = make_packet(
    "ivo://gwnet/LVC#S1-1-Initial", burst_id=None, position=None, date="2026-02-12T00:00:00"
)


def gic(ws, *args):
    return main(["--workspace", str(ws), *args])


def gic_stdin(ws, monkeypatch, packet: bytes, *args):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(packet)))
    return gic(ws, "alerts", "ingest", *args)


ALERT_COMMANDS = [
    ["alerts", "ingest"],
    ["alerts", "list"],
    ["alerts", "show"],
    ["alerts", "listen"],
    ["alerts", "kafka"],
    ["alerts", "quarantined"],
    ["alerts", "operations"],
    ["sync", "alerts"],
    ["watch"],
]


@pytest.mark.parametrize("command", ALERT_COMMANDS)
def test_every_alert_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([*command, "--help"])
    assert stop.value.code == 0


def test_ingest_stdin_exit_codes(tmp_path, monkeypatch, capsys):
    ws = tmp_path / "ws"
    assert gic_stdin(ws, monkeypatch, make_packet()) == 0
    assert gic_stdin(ws, monkeypatch, GW) == 0  # no burst ID: stored, no trigger file
    assert gic_stdin(ws, monkeypatch, XXE) == 1
    err = capsys.readouterr().err
    assert "quarantined: packet declares a DOCTYPE" in err
    assert [p.name for p in (ws / "triggers").glob("*.dat")] == ["trigger_sb26021102.dat"]
    assert len(list((ws / "quarantine").glob("*.reason"))) == 1


def test_ingest_stdin_json_notice_and_a_changed_packet(tmp_path, monkeypatch, capsys):
    ws = tmp_path / "ws"
    notice = REPO / "tests" / "data" / "gcn_notices" / "svom_grm_trigger.example.json"
    assert gic_stdin(ws, monkeypatch, notice.read_bytes()) == 0
    assert (ws / "triggers" / "trigger_sb24022203.dat").exists()
    assert gic_stdin(ws, monkeypatch, make_packet()) == 0
    assert gic_stdin(ws, monkeypatch, make_packet(packet_type=205)) == 1
    assert "quarantined: ivo://org.svom/fsc#sb26021102_eclairs-wakeup was received before" in (
        capsys.readouterr().err
    )


def test_list_json_newest_first(tmp_path, monkeypatch, capsys):
    ws = tmp_path / "ws"
    gic_stdin(ws, monkeypatch, make_packet())
    gic_stdin(ws, monkeypatch, GW)
    capsys.readouterr()
    assert gic(ws, "alerts", "list", "--format", "json") == 0
    alerts = json.loads(capsys.readouterr().out)
    assert [a["ivorn"] for a in alerts] == [
        "ivo://gwnet/LVC#S1-1-Initial",
        "ivo://org.svom/fsc#sb26021102_eclairs-wakeup",
    ]
    for key in (
        "ivorn",
        "role",
        "burst_id",
        "t0",
        "ra",
        "dec",
        "error_deg",
        "instrument",
        "retraction",
    ):
        assert all(key in a for a in alerts)
    assert alerts[0]["burst_id"] is None and alerts[0]["retraction"] is False
    assert alerts[1]["t0"] == "2026-02-11T19:24:23.604" and alerts[1]["error_deg"] == 0.1057
    assert gic(ws, "alerts", "list", "--format", "table") == 0
    assert "sb26021102" in capsys.readouterr().out


def test_show_gives_every_param_and_the_raw_xml(tmp_path, monkeypatch, capsys):
    ws = tmp_path / "ws"
    gic_stdin(ws, monkeypatch, make_packet())
    capsys.readouterr()
    assert gic(ws, "alerts", "show", "ivo://org.svom/fsc#sb26021102_eclairs-wakeup") == 0
    detail = json.loads(capsys.readouterr().out)
    assert detail["params"]["Detection_Info.SNR"] == "12.79"
    assert gic(ws, "alerts", "show", "ivo://org.svom/fsc#sb26021102_eclairs-wakeup", "--xml") == 0
    assert capsys.readouterr().out.strip().encode() == make_packet().strip()
    assert gic(ws, "alerts", "show", "ivo://nowhere/x#1") == 2


@pytest.mark.shared_data
def test_ingest_the_real_packets_folder(tmp_path, shared_data, capsys):
    ws = tmp_path / "ws"
    assert gic(ws, "alerts", "ingest", str(shared_data / "voevents")) == 1
    out, err = capsys.readouterr()
    assert "40 stored, 0 duplicates, 1 quarantined, 0 skipped; 19 trigger files" in out
    # the folder's JSON file is the schema itself, not a notice: named, never skipped in silence
    assert "trigger.schema.json: JSON notice field '$schema' is" in err


def test_ingest_a_folder_of_json_notices_and_other_files(tmp_path, capsys):
    examples = REPO / "tests" / "data" / "gcn_notices"
    folder = tmp_path / "in"
    folder.mkdir()
    for path in examples.glob("*.json"):
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "notes.txt").write_text("not a packet")
    (folder / ".hidden.json").write_text("{}")
    ws = tmp_path / "ws"
    assert gic(ws, "alerts", "ingest", str(folder)) == 1
    out, err = capsys.readouterr()
    assert "6 stored, 0 duplicates, 1 quarantined, 1 skipped; 1 trigger files" in out
    assert "notes.txt: packet is neither XML nor JSON: it starts with b'not a pa'" in err
    assert ".hidden.json: hidden file, not read" in err
    assert [p.suffix for p in (ws / "quarantine").iterdir() if p.suffix != ".reason"] == [".bin"]
    assert gic(ws, "alerts", "list", "--format", "json", "--burst", "sb24022203") == 0
    alerts = json.loads(capsys.readouterr().out)
    assert {a["instrument"] for a in alerts} == {"ECLAIRs", "GRM"} and len(alerts) == 5
    assert gic(ws, "alerts", "show", alerts[0]["ivorn"]) == 0
    detail = json.loads(capsys.readouterr().out)
    assert detail["notice_format"] == "json" and json.loads(detail["raw_xml"])["id"]


def test_listen_dry_run_prints_the_comet_command(tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gic-alert-handler").write_text("#!/bin/sh\n")
    (bin_dir / "gic-alert-handler").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    ws = tmp_path / "ws"
    assert (
        gic(
            ws, "alerts", "listen", "--port", "18099", "--remote", "fsc.svom.org:20099", "--dry-run"
        )
        == 0
    )
    command = capsys.readouterr().err
    assert " comet " in command and "--receive-port=18099" in command
    assert "--remote=fsc.svom.org:20099" in command and "--cmd=" in command
    assert f"--eventdb={ws.resolve() / 'comet' / 'eventdb'}" in command


def test_watch_without_server_is_a_clear_error(tmp_path, capsys):
    assert gic(tmp_path / "ws", "watch") == 2
    assert "no NATS server" in capsys.readouterr().err


HANDLER = "import sys\nfrom app.alert_handler import main\nsys.exit(main())\n"


def test_alert_handler_takes_its_workspace_from_the_environment(tmp_path):
    env = {**os.environ, "GIC_WORKSPACE": str(tmp_path / "ws")}
    done = subprocess.run(
        [sys.executable, "-c", HANDLER],
        input=make_packet(),
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ws" / "triggers" / "trigger_sb26021102.dat").exists()
    assert b"stored" in (tmp_path / "ws" / "logs" / "alert-handler.log").read_bytes()
    env.pop("GIC_WORKSPACE")
    done = subprocess.run(
        [sys.executable, "-c", HANDLER],
        input=make_packet(),
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 2 and b"GIC_WORKSPACE" in done.stderr
