import csv
import io
import json
import subprocess
import sys

import pytest

from app.cli import main
from data_access.cache import Cache


def gic(ws, *args):
    return main(["--workspace", str(ws), *args])


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for command in ("ingest", "sync", "status", "config", "demo", "serve"):
        assert command in out


@pytest.mark.parametrize(
    "command",
    [
        ["ingest", "status"],
        ["ingest", "rejected"],
        ["sync", "status"],
        ["status", "latest"],
        ["status", "series"],
        ["config"],
        ["demo", "build"],
        ["serve"],
    ],
)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([*command, "--help"])
    assert stop.value.code == 0 and "usage: gic" in capsys.readouterr().out


def test_ingest_reports_rejections_and_exit_codes(tmp_path, status_folder, capsys):
    bad = status_folder / "zz_bad.json"
    bad.write_text('[{"name": ')
    assert gic(tmp_path / "ws", "ingest", "status", str(status_folder)) == 1
    captured = capsys.readouterr()
    assert "72 new" in captured.out and f"rejected: {bad}: Malformed JSON" in captured.err
    bad.unlink()
    assert gic(tmp_path / "ws", "ingest", "status", str(status_folder)) == 0
    assert "0 new, 0 replaced, 72 unchanged" in capsys.readouterr().out
    assert gic(tmp_path / "ws", "ingest", "rejected", "--format", "json") == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["key"] == str(bad) and "Malformed JSON" in row["reason"]


def test_missing_path_is_a_clear_error(tmp_path, capsys):
    assert gic(tmp_path / "ws", "ingest", "status", str(tmp_path / "nope")) == 2
    assert "gic ingest: " in capsys.readouterr().err


def test_status_latest_and_series(tmp_path, status_folder, capsys):
    gic(tmp_path / "ws", "ingest", "status", str(status_folder))
    capsys.readouterr()
    assert gic(tmp_path / "ws", "status", "latest", "--format", "json") == 0
    latest = json.loads(capsys.readouterr().out)
    assert len(latest) == 210 and {"name", "value", "age_s", "stale", "error_code"} <= set(
        latest[0]
    )
    assert (
        gic(
            tmp_path / "ws",
            "status",
            "series",
            "--sensor",
            "weather-station-ws1-air-temperature",
            "--start",
            "2026-11-01T00:00:00",
            "--end",
            "2026-11-01T06:00:00",
            "--every",
            "1h",
        )
        == 0
    )
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["bucket_start", "min", "mean", "max", "count"]
    assert [r[0] for r in rows[1:]] == [f"2026-11-01T0{h}:00:00" for h in range(6)]
    assert sum(int(r[4]) for r in rows[1:]) <= 72


def test_series_of_a_string_sensor_is_a_clear_error(tmp_path, status_folder, capsys):
    gic(tmp_path / "ws", "ingest", "status", str(status_folder))
    capsys.readouterr()
    code = gic(
        tmp_path / "ws",
        "status",
        "series",
        "--sensor",
        "dome-shutter-state-position",
        "--start",
        "2026-11-01",
        "--end",
        "2026-11-02",
    )
    assert code == 2
    assert "holds string values; a series needs a numeric sensor" in capsys.readouterr().err


def test_series_refuses_bad_arguments(tmp_path, capsys):
    assert (
        gic(
            tmp_path / "ws",
            "status",
            "series",
            "--sensor",
            "x",
            "--start",
            "2026-11-02",
            "--end",
            "2026-11-01",
        )
        == 2
    )
    assert "is not after --start" in capsys.readouterr().err
    assert (
        gic(
            tmp_path / "ws",
            "status",
            "series",
            "--sensor",
            "x",
            "--start",
            "2026-11-01",
            "--end",
            "2026-11-02",
            "--every",
            "fortnight",
        )
        == 2
    )
    assert "--every: duration 'fortnight'" in capsys.readouterr().err


def test_an_ingest_goes_in_while_another_process_holds_the_cache(tmp_path, status_folder):
    ws = tmp_path / "ws"
    gic(ws, "config")
    holder = Cache(ws / "lake")  # as the server holds it
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "app.cli",
                "--workspace",
                str(ws),
                "ingest",
                "status",
                str(status_folder),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert holder.execute("SELECT count(*) FROM status_document")[0][0] > 0
    finally:
        holder.close()


def test_config_show_lists_settings(tmp_path, capsys):
    assert gic(tmp_path / "ws", "config", "--show", "--format", "json") == 0
    out = capsys.readouterr().out
    rows = json.loads(out[out.index("\n") + 1 :])
    assert {"setting": "server.port", "value": 5006, "default": 5006} == {
        k: rows[[r["setting"] for r in rows].index("server.port")][k]
        for k in ("setting", "value", "default")
    }
