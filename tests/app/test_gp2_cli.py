"""``gic module``, ``gic pipeline`` and ``gic gp1`` from the command line."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table

from analysis.gp2 import PHOTOMETRY_COLUMNS
from analysis.gp2.simulate import simulate_burst
from app.cli import main
from data_access.gp2.files import write_simulated_burst


@pytest.fixture(scope="module")
def burst(tmp_path_factory):
    simulated = simulate_burst(seed=3, size=192, n_stars=45, n_epochs=3)
    return simulated, write_simulated_burst(simulated, tmp_path_factory.mktemp("cli"))


def test_module_list(capsys):
    assert main(["module", "--list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("reduction")
    assert "subtraction" in out and "summary" in out


def test_module_reduction_writes_reduced_frames(burst, tmp_path, capsys):
    simulated, files = burst
    code = main(
        [
            "module",
            "reduction",
            "-s",
            str(files["raw"]),
            "-r",
            str(tmp_path / "out"),
            "-c",
            str(files["config"] / "module.cfg"),
            "--local",
        ]
    )
    assert code == 0
    assert len(list((tmp_path / "out" / "reduced").glob("*.fits"))) == len(simulated.frames)
    assert "6 image(s) processed, 0 left out" in capsys.readouterr().out


def test_pipeline_writes_the_photometry_csv(burst, tmp_path, capsys):
    simulated, files = burst
    code = main(
        [
            "pipeline",
            "-c",
            str(files["config"]),
            "-r",
            str(tmp_path / "out"),
            "--local",
            "--t0",
            simulated.t0,
        ]
    )
    assert code == 0
    table = Table.read(tmp_path / "out" / simulated.trigger_id / "photometry.csv")
    assert tuple(table.colnames) == PHOTOMETRY_COLUMNS
    assert "transient at RA" in capsys.readouterr().out


def _photometry(files, tmp_path, *extra: str, module: str = "photometry") -> int:
    """``gic module <module>`` (photometry by default) with the module's file less its
    catalogue."""
    text = (files["config"] / "module.cfg").read_text(encoding="utf-8")
    config = tmp_path / "photometry.cfg"
    config.write_text(
        "".join(line for line in text.splitlines(True) if not line.startswith("catalog"))
    )
    return main(
        ["module", module, "-s", str(files["raw"]), "-r", str(tmp_path / "out")]
        + ["-c", str(config), "--local", *extra]
    )


def test_photometry_without_a_catalogue_fails_naming_it(burst, tmp_path, capsys):
    simulated, files = burst
    assert _photometry(files, tmp_path) == 1
    captured = capsys.readouterr()
    assert f"0 image(s) processed, {len(simulated.frames)} left out" in captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == len(simulated.frames)
    assert all("no reference catalogue" in line and "--instrumental" in line for line in lines)
    assert not (tmp_path / "out" / "photometry").exists()


@pytest.mark.parametrize("module", ["subtraction", "summary"])
def test_photometry_a_later_module_needs_without_a_catalogue_fails_naming_it(
    burst, tmp_path, capsys, module
):
    simulated, files = burst
    assert _photometry(files, tmp_path, "--instrumental", module=module) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == len(simulated.frames)
    assert all(f"{module} needs calibrated photometry" in line for line in lines)
    assert all("[Calibration] catalog" in line for line in lines)


def test_photometry_without_a_catalogue_writes_instrumental_magnitudes_when_asked(
    burst, tmp_path, capsys
):
    simulated, files = burst
    assert _photometry(files, tmp_path, "--instrumental") == 0
    tables = sorted((tmp_path / "out" / "photometry").glob("*.csv"))
    assert len(tables) == len(simulated.frames)
    table = Table.read(tables[0])
    assert {"inst_mag", "inst_mag_err"} <= set(table.colnames) and "mag" not in table.colnames
    bright = table[table["flux"] > 0]
    assert len(bright) > 10 and np.allclose(bright["inst_mag"], -2.5 * np.log10(bright["flux"]))


def test_gp1_once(burst, tmp_path, capsys):
    simulated, files = burst
    (tmp_path / "pipe").mkdir()
    (tmp_path / "pipe" / "pipeline.cfg").write_text(
        "[Workspace]\nheaders = TRGID,INSTRUME,FILTER\n\n[Structure of pipeline]\nreduction = yes\n"
        "cosmics = no\n"
    )
    config = tmp_path / "gp1.cfg"
    config.write_text(
        f"[General]\ninput = {files['raw']}\nlog_path = {tmp_path / 'log'}\n\n[svom]\n"
        "identifier_header = EXPTYPE,OBSERVER\nidentifier_value = object,svom\n"
        f"configuration_path_dir = {tmp_path / 'pipe'}\nworkspace_dir = {tmp_path / 'out'}\n"
    )
    assert main(["gp1", "-c", str(config), "--once", "--local"]) == 0
    assert capsys.readouterr().out.count("processed") == len(simulated.frames)


def test_bad_config_is_one_clear_line(tmp_path, capsys):
    (tmp_path / "p.cfg").write_text("[Structure of pipeline]\nwarp drive = yes\n")
    assert main(["pipeline", "-c", str(tmp_path / "p.cfg"), "--local"]) == 2
    assert "warp drive: unknown module" in capsys.readouterr().err
