"""``gic products ...`` and ``gic sandbox serve`` end to end, in a temporary workspace."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests
from astropy.io import fits
from astropy.time import Time

from analysis.products import Burst
from analysis.products.photometry import photometry_csv
from analysis.products.synthetic import synthetic_photometry
from app.cli import main
from data_access.products.files import SHIPPED_TSV_DIR
from data_access.workspace import Workspace
from sandbox.sdb import SandboxServer
from tests.conftest import free_port, service_unavailable

BURST = Burst("sb26030512", Time("2026-03-05T04:10:00", scale="utc"), 150.0, 20.0, 0.05)
REPO = Path(__file__).resolve().parents[2]


def gic(ws, *args):
    return main(["--workspace", str(ws), *args])


@pytest.fixture
def photometry(tmp_path) -> Path:
    path = tmp_path / "sb26030512.csv"
    path.write_text(photometry_csv(synthetic_photometry(BURST, n_images=3)))
    return path


def build_args(photometry: Path) -> tuple[str, ...]:
    return (
        "--burst",
        BURST.burst_id,
        "--photometry",
        str(photometry),
        "--t0",
        "2026-03-05T04:10:00",
        "--ra",
        "150",
        "--dec",
        "20",
        "--user",
        "ana",
    )


def build(ws: Path, photometry: Path) -> int:
    return gic(ws, "products", "build", *build_args(photometry), "--error", "0.05")


@pytest.mark.parametrize(
    "command",
    [
        "compile",
        "build",
        "list",
        "validate",
        "approve",
        "reject",
        "push",
        "pull",
        "coherence",
        "archive",
        "diff",
        "audit",
    ],
)
def test_every_products_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["products", command, "--help"])
    assert stop.value.code == 0 and "usage: gic products" in capsys.readouterr().out


def test_compile_then_validate_every_template(tmp_path, capsys):
    tsvs = sorted(SHIPPED_TSV_DIR.glob("*.tsv")) + [
        SHIPPED_TSV_DIR / "imports" / "L1keysGFTMETA.tsv"
    ]
    assert main(["products", "compile", *map(str, tsvs), "--output", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    assert (
        len(list(out.glob("*_GFT_FGFT.fits"))) == 7
        and (out / "sdb_upload_L1keysGFTMETA.json").is_file()
    )
    capsys.readouterr()
    templates = sorted(str(p) for p in out.glob("*.fits"))
    assert main(["products", "validate", "--template", "--descriptors", str(out), *templates]) == 0
    assert capsys.readouterr().out.count(": valid") == 7


def test_compile_error_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "BAD.tsv"
    bad.write_text("card\tBAD\ndescription\tx\ndata_level\tL2\n[PrimaryHDU]\nLONGKEYWORD\tx\tint\n")
    assert main(["products", "compile", str(bad), "--output", str(tmp_path / "out")]) == 2
    assert f"{bad}, line 5: LONGKEYWORD Is not header" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_build_list_validate_review_archive(tmp_path, photometry, capsys):
    ws = tmp_path / "ws"
    assert build(ws, photometry) == 0
    capsys.readouterr()
    assert gic(ws, "products", "list", "--burst", BURST.burst_id, "--format", "json") == 0
    queue = json.loads(capsys.readouterr().out)
    assert len(queue) == 7 and {row["state"] for row in queue} == {"new"}
    files = sorted((ws / "products" / BURST.burst_id).glob("*.fits"))
    assert main(["products", "validate", *map(str, files)]) == 0
    broken = tmp_path / "broken.fits"
    broken.write_bytes(files[0].read_bytes().replace(b"FGFT    ", b"CAGIRE  ", 1))
    capsys.readouterr()
    assert main(["products", "validate", str(broken), "--format", "json"]) == 1
    [report] = json.loads(capsys.readouterr().out)
    assert any("INSTRUME" in d for d in report["deviations"])
    assert (
        gic(
            ws,
            "products",
            "approve",
            "--burst",
            BURST.burst_id,
            "--card",
            "DT_GFT_FGFT",
            "--user",
            "ana",
            "--comment",
            "fine",
        )
        == 0
    )
    assert "DT_GFT_FGFT_sb26030512_v01.fits: approved" in capsys.readouterr().out
    lc = next(row["product_id"] for row in queue if row["card"] == "LC_GFT_FGFT")
    assert gic(ws, "products", "reject", str(lc), "--user", "bob", "--comment", "noisy") == 0
    assert gic(ws, "products", "approve", str(lc), "--user", "ana") == 0
    assert gic(ws, "products", "reject", "--burst", BURST.burst_id, "--user", "ana") == 2
    capsys.readouterr()
    assert gic(ws, "products", "audit", "--burst", BURST.burst_id, "--format", "json") == 0
    actions = [(row["action"], row["user_name"]) for row in json.loads(capsys.readouterr().out)]
    assert ("reject", "bob") in actions and actions.count(("build", "ana")) == 7
    archive = tmp_path / "all.zip"
    assert gic(ws, "products", "archive", "--burst", BURST.burst_id, "--output", str(archive)) == 0
    assert len(zipfile.ZipFile(archive).namelist()) == 8


def test_build_without_t0_or_alert_is_a_usage_error(tmp_path, photometry, capsys):
    code = gic(
        tmp_path / "ws", "products", "build", "--burst", "sb99", "--photometry", str(photometry)
    )
    assert code == 2 and "no alert of burst sb99" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("image_id,filter\nx,r\n")
    code = gic(tmp_path / "ws", "products", "build", "--burst", "sb99", "--photometry", str(bad))
    assert code == 2 and "missing column(s) t_start" in capsys.readouterr().err


def point_at(root: Path, url: str) -> None:
    """Set the workspace's [sdb] URLs to ``url`` and its retries to 0."""
    config = Workspace.open(root).config_path
    text = config.read_text().replace('"http://127.0.0.1:5080"', f'"{url}"')
    config.write_text(text.replace("retries = 3", "retries = 0"))


@pytest.mark.service
def test_push_pull_and_coherence_against_the_sandbox(tmp_path, photometry, capsys):
    ws = tmp_path / "ws"
    assert build(ws, photometry) == 0
    with SandboxServer(tmp_path / "sdb") as sandbox:
        for root in (ws, tmp_path / "other"):
            point_at(root, sandbox.url)
        gic(
            ws,
            "products",
            "approve",
            "--burst",
            BURST.burst_id,
            "--card",
            "PO_GFT_FGFT",
            "--user",
            "ana",
        )
        capsys.readouterr()
        assert gic(ws, "products", "push", "--burst", BURST.burst_id, "--user", "ana") == 0
        assert "PO_GFT_FGFT_sb26030512_v01.fits: pushed:" in capsys.readouterr().out
        # not pushed yet is no conflict: the exit status is 0
        assert gic(ws, "products", "coherence", "--burst", BURST.burst_id, "--format", "json") == 0
        rows = json.loads(capsys.readouterr().out)
        assert [r["where"] for r in rows].count("workspace only") == 6
        assert [r["status"] for r in rows].count("not pushed yet") == 6
        assert gic(tmp_path / "other", "products", "pull", "--burst", BURST.burst_id) == 0
        assert "products PO_GFT_FGFT_sb26030512_v01.fits: new" in capsys.readouterr().out
        sandbox.inject(("status", 500))
        gic(
            ws,
            "products",
            "approve",
            "--burst",
            BURST.burst_id,
            "--card",
            "DT_GFT_FGFT",
            "--user",
            "ana",
        )
        assert gic(ws, "products", "push", "--burst", BURST.burst_id, "--user", "ana") == 1
        assert "push failed: " in capsys.readouterr().out


@pytest.mark.service
def test_sandbox_serve_is_a_real_server(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "--workspace",
            str(tmp_path / "ws"),
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--storage",
            str(tmp_path / "sdb"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            service_unavailable(f"gic sandbox serve did not listen on {port}")
        card = (SHIPPED_TSV_DIR / "json" / "DT_GFT_FGFT.json").read_bytes()
        answer = requests.post(
            f"http://127.0.0.1:{port}/import/v0/a_spjson",
            files={"spjson": ("DT_GFT_FGFT.json", card)},
            timeout=5,
        )
        assert answer.json() == {"OK": "SP Card updated."}
        assert (tmp_path / "sdb" / "cards" / "DT_GFT_FGFT.json").is_file()
        assert (
            requests.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()["openapi"]
            == "3.0.3"
        )
    finally:
        os.kill(process.pid, signal.SIGINT)
        process.communicate(timeout=60)


def qti_rows(ws: Path, version: int = 1):
    path = ws / "products" / BURST.burst_id / f"QTI_GFT_FGFT_{BURST.burst_id}_v{version:02d}.fits"
    with fits.open(path) as hdul:
        return hdul[1].data.copy()


def test_build_fit_window_from_options_and_fits_json(tmp_path, capsys):
    photometry = tmp_path / "lc.csv"
    photometry.write_text(photometry_csv(synthetic_photometry(BURST, n_images=12)))
    ws, out = tmp_path / "ws", tmp_path / "fits.json"
    options = ("--fit-start", "200", "--fit-stop", "5000", "--fits", str(out))
    assert gic(ws, "products", "build", *build_args(photometry), *options) == 0
    for row in qti_rows(ws):
        assert row["TFITSTART"] >= 200 and row["TFITSTOP"] <= 5000 and row["FITVALID"] == 1
        assert row["FITCHI2R"] > 0
    written = json.loads(out.read_text())
    assert written["window_s"] == [200.0, 5000.0] and "BIC" in written["method"]
    for fit in written["filters"].values():
        assert fit["model"] in ("single", "broken") and 200 <= fit["t_first"] <= fit["t_last"]
        assert "index1" in fit["broken"]


def test_build_fit_window_from_gic_toml_and_a_bad_window(tmp_path, photometry, capsys):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "gic.toml").write_text("[products]\nfit_start_s = 100.0\n")
    assert gic(ws, "products", "build", *build_args(photometry)) == 0
    assert min(qti_rows(ws)["TFITSTART"]) >= 100
    capsys.readouterr()
    bad = gic(ws, "products", "build", *build_args(photometry), "--fit-stop", "50")
    assert bad == 2 and "the end is not after the start" in capsys.readouterr().err
