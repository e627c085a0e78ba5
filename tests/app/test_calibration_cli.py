"""``gic calib build|validate|run|certify|grid`` and ``gic ingest calibration``."""

import json

import numpy as np
import pytest
from astropy.io import fits

from analysis.calibration import REPORT_KEYS
from app.cli import main
from tests.calibration_helpers import write_raw


def test_build_bias_is_the_pixelwise_median_and_validate_writes_the_report(tmp_path, capsys):
    raws = write_raw(tmp_path / "n1", "bias", 5, seed=1)
    write_raw(tmp_path / "n2", "bias", 5, seed=2)
    assert (
        main(
            [
                "calib",
                "build",
                "--type",
                "bias",
                "-s",
                str(tmp_path / "n1"),
                "-r",
                str(tmp_path / "ref.fits"),
            ]
        )
        == 0
    )
    stack = np.stack([fits.getdata(p).astype(np.float32) for p in raws])
    assert np.array_equal(fits.getdata(tmp_path / "ref.fits"), np.median(stack, axis=0))
    assert (
        main(
            [
                "calib",
                "build",
                "--type",
                "bias",
                "--input",
                str(tmp_path / "n2"),
                "--output",
                str(tmp_path / "new.fits"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "calib",
                "validate",
                "--candidate",
                str(tmp_path / "new.fits"),
                "--reference",
                str(tmp_path / "ref.fits"),
                "--json",
                str(tmp_path / "report.json"),
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "report.json").read_text())
    assert list(report) == list(REPORT_KEYS) and report["TYPE"] == "bias"
    assert report["VALID"]["value"] is True and abs(report["MEANDIFF"]["value"]) < 1
    assert "VALID" in capsys.readouterr().out


def test_validate_exits_0_for_an_invalid_candidate(tmp_path, capsys):
    write_raw(tmp_path / "a", "bias", 3, seed=1)
    write_raw(tmp_path / "b", "bias", 3, seed=2, level=1050)
    for name in "ab":
        main(
            [
                "calib",
                "build",
                "--type",
                "bias",
                "-s",
                str(tmp_path / name),
                "-r",
                str(tmp_path / f"{name}.fits"),
            ]
        )
    code = main(
        [
            "calib",
            "validate",
            "--candidate",
            str(tmp_path / "b.fits"),
            "--reference",
            str(tmp_path / "a.fits"),
            "--json",
            str(tmp_path / "r.json"),
        ]
    )
    assert code == 0
    assert json.loads((tmp_path / "r.json").read_text())["VALID"]["value"] is False
    assert "INVALID: MEANDIFF" in capsys.readouterr().out


def test_bad_inputs_exit_2_with_one_clear_line(tmp_path, capsys):
    write_raw(tmp_path / "a", "bias", 3)
    main(
        [
            "calib",
            "build",
            "--type",
            "bias",
            "-s",
            str(tmp_path / "a"),
            "-r",
            str(tmp_path / "a.fits"),
        ]
    )
    broken = tmp_path / "broken.fits"
    broken.write_bytes((tmp_path / "a.fits").read_bytes()[:5000])
    capsys.readouterr()
    code = main(
        [
            "calib",
            "validate",
            "--candidate",
            str(broken),
            "--reference",
            str(tmp_path / "a.fits"),
            "--json",
            str(tmp_path / "r.json"),
        ]
    )
    assert code == 2 and "broken.fits: truncated" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()
    write_raw(tmp_path / "d", "dark", 3)
    main(
        [
            "calib",
            "build",
            "--type",
            "dark",
            "-s",
            str(tmp_path / "d"),
            "-r",
            str(tmp_path / "d.fits"),
            "--bias",
            str(tmp_path / "a.fits"),
        ]
    )
    code = main(
        [
            "calib",
            "validate",
            "--candidate",
            str(tmp_path / "d.fits"),
            "--reference",
            str(tmp_path / "a.fits"),
            "--json",
            str(tmp_path / "r.json"),
        ]
    )
    assert (
        code == 2
        and "type 'dark' in the candidate, 'bias' in the reference" in capsys.readouterr().err
    )


def test_mixed_filters_are_left_out_and_too_few_frames_refused(tmp_path, capsys):
    folder = tmp_path / "flats"
    write_raw(folder, "flat", 3, level=20000, filter_="r", seed=1)
    write_raw(folder, "flat", 1, level=20000, filter_="i", seed=2)
    write_raw(tmp_path / "b", "bias", 3)
    main(
        [
            "calib",
            "build",
            "--type",
            "bias",
            "-s",
            str(tmp_path / "b"),
            "-r",
            str(tmp_path / "b.fits"),
        ]
    )
    capsys.readouterr()
    assert (
        main(
            [
                "calib",
                "build",
                "--type",
                "flat",
                "-s",
                str(folder),
                "-r",
                str(tmp_path / "f.fits"),
                "--bias",
                str(tmp_path / "b.fits"),
            ]
        )
        == 0
    )
    assert (
        "left out flat_DDRAGO1_i_00.fits: filter 'i' differs from the series' 'r'"
        in capsys.readouterr().err
    )
    assert abs(float(np.median(fits.getdata(tmp_path / "f.fits"))) - 1) < 1e-6
    code = main(
        [
            "calib",
            "build",
            "--type",
            "flat",
            "-s",
            *map(str, sorted(folder.iterdir())[:2]),
            "-r",
            str(tmp_path / "g.fits"),
            "--bias",
            str(tmp_path / "b.fits"),
        ]
    )
    assert code == 2 and "fewer than the minimum of 3" in capsys.readouterr().err
    assert not (tmp_path / "g.fits").exists()


def test_run_night_then_grid_certify_and_ingest(tmp_path, capsys):
    ws = tmp_path / "ws"
    assert main(["--workspace", str(ws), "calib", "run", "--night", "20250301"]) == 0
    assert "nothing done" in capsys.readouterr().out
    write_raw(ws / "raw" / "calibration" / "20250301", "bias", 4, seed=1)
    write_raw(ws / "raw" / "calibration" / "20250302", "bias", 4, seed=2, level=1100)
    assert main(["--workspace", str(ws), "calib", "run", "--night", "20250301"]) == 0
    assert main(["--workspace", str(ws), "calib", "run", "--night", "20250302"]) == 0
    out = capsys.readouterr().out
    assert "bias DDRAGO1 NONE: 4 frame(s), promoted" in out
    assert "bias DDRAGO1 NONE: 4 frame(s), rejected: MEANDIFF" in out
    assert (
        (ws / "masters" / "DDRAGO1" / "NONE" / "bias" / "MASTER.fits")
        .resolve()
        .name.endswith("20250301.fits")
    )
    reports = sorted((ws / "reports" / "calibration").glob("*.json"))
    assert len(reports) == 2
    assert (
        main(
            [
                "--workspace",
                str(ws),
                "calib",
                "grid",
                "--first",
                "20250301",
                "--last",
                "20250303",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    grid = capsys.readouterr().out.splitlines()
    assert grid[0].startswith("night,instrument,filter,caltype,arrived,n_frames,verdict")
    assert [line.split(",")[6] for line in grid[1:]] == ["OK", "invalid", "missing"]
    assert (
        main(
            [
                "--workspace",
                str(ws),
                "calib",
                "certify",
                "--report",
                "2",
                "--good",
                "--comment",
                "new bias level",
                "--user",
                "ana",
            ]
        )
        == 0
    )
    assert (
        (ws / "masters" / "DDRAGO1" / "NONE" / "bias" / "MASTER.fits")
        .resolve()
        .name.endswith("20250302.fits")
    )
    capsys.readouterr()
    # reports produced elsewhere: the same files again add nothing
    other = tmp_path / "other"
    other.mkdir()
    report = json.loads(reports[0].read_text())
    report["IM_NAME"], report["DATE"] = "tcs_bias.fits", "2025-03-05T23:00:00"
    (other / "tcs.json").write_text(json.dumps(report))
    (other / "bad.json").write_text("{")
    assert main(["--workspace", str(ws), "ingest", "calibration", str(other)]) == 1
    captured = capsys.readouterr()
    assert "1 new" in captured.out and "bad.json" in captured.err
    assert main(["--workspace", str(ws), "ingest", "calibration", str(other / "tcs.json")]) == 0
    assert "0 new, 0 replaced, 1 unchanged" in capsys.readouterr().out
    assert (
        main(["--workspace", str(ws), "calib", "trend", "--type", "bias", "--format", "json"]) == 0
    )
    trend = json.loads(capsys.readouterr().out)
    assert [row["im_name"] for row in trend] == [
        "bias_DDRAGO1_NONE_20250301.fits",
        "bias_DDRAGO1_NONE_20250302.fits",
        "tcs_bias.fits",
    ]
    assert trend[1]["verdict"] is True and trend[1]["valid"] is False


@pytest.mark.shared_data
def test_real_frames_build_and_validate_with_sane_statistics(shared_data, tmp_path, capsys):
    qsi = shared_data / "fits" / "qsi583ws_darks_3x3"
    darks = sorted(qsi.glob("DARK_*.fit"))
    bias = next((qsi / "master_bias_by_author").glob("*.fit"))
    for frames, name in ((darks, "dark4.fits"), (darks[:3], "dark3.fits")):
        build = ["calib", "build", "--type", "dark", "-s", *map(str, frames)]
        assert main([*build, "-r", str(tmp_path / name), "--bias", str(bias)]) == 0
    assert "residual check" in capsys.readouterr().out
    assert (
        main(
            [
                "calib",
                "validate",
                "--candidate",
                str(tmp_path / "dark4.fits"),
                "--reference",
                str(tmp_path / "dark3.fits"),
                "--json",
                str(tmp_path / "r.json"),
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["TYPE"] == "dark" and report["DATE"] == "2020-04-17T19:35:46.234"
    assert report["MEAN"]["unit"] == "ADU/s"
    assert 0 < report["MEDIAN"]["value"] < 10  # a few ADU/s at -7 C
    assert abs(report["MEANDIFF"]["value"]) < 0.5 and 0 < report["RMSDIFF"]["value"] < 10
    feder = shared_data / "fits" / "feder_apogee" / "msumastro_testdata"
    assert (
        main(["calib", "build", "--type", "bias", "-s", str(feder), "-r", str(tmp_path / "b.fits")])
        == 0
    )
    err = capsys.readouterr().err
    assert "left out darktest1.fit: type is 'dark', expected 'bias'" in err
    assert "header keyword IMAGETYP is missing" in err
    header = fits.getheader(tmp_path / "b.fits")
    assert header["NCOMBINE"] == 3 and header["INSTRUME"] == "Apogee Alta"
    stack = np.stack(
        [fits.getdata(feder / f"biastest{k}.fit").astype(np.float32) for k in (1, 2, 3)]
    )
    assert np.allclose(fits.getdata(tmp_path / "b.fits"), np.median(stack, axis=0))


def test_real_darks_refuse_a_dark_as_bias_and_flag_a_bias_taken_colder(
    shared_data, tmp_path, capsys
):
    qsi = shared_data / "fits" / "qsi583ws_darks_3x3"
    darks = sorted(qsi.glob("DARK_*.fit"))
    bias = next((qsi / "master_bias_by_author").glob("*.fit"))  # at -10 C, no INSTRUME
    build = ["calib", "build", "--type", "dark", "-s", *map(str, darks)]
    assert main([*build, "-r", str(tmp_path / "x.fits"), "--bias", str(darks[0])]) == 2
    assert "IMAGETYP 'Dark Frame' is a dark, expected a bias" in capsys.readouterr().err
    assert not (tmp_path / "x.fits").exists()
    for frames, name in ((darks, "dark4.fits"), (darks[:3], "dark3.fits")):
        build = ["calib", "build", "--type", "dark", "-s", *map(str, frames)]
        assert main([*build, "-r", str(tmp_path / name), "--bias", str(bias)]) == 0
    err = capsys.readouterr().err
    assert "the master bias has no INSTRUME: instrument not checked" in err
    assert "CCD-TEMP -7 °C here, -10 °C in the master bias subtracted (BIASTEMP)" in err
    header = fits.getheader(tmp_path / "dark4.fits")
    assert (header["CCD-TEMP"], header["TEMP-MIN"], header["TEMP-MAX"]) == (-7.0, -7.0, -7.0)
    assert (header["BIASTEMP"], header["XBINNING"], header["YBINNING"]) == (-10.0, 3, 3)
    assert (header["ORIGIN"], header["TELESCOP"]) == ("OAN/SPM", "COLIBRI")  # the settings'
    validate = ["calib", "validate", "--candidate", str(tmp_path / "dark4.fits")]
    validate += ["--reference", str(tmp_path / "dark3.fits"), "--json", str(tmp_path / "r.json")]
    assert main(validate) == 0
    assert "INVALID: CCD-TEMP -7 °C here, -10 °C in the master bias" in capsys.readouterr().out
    assert json.loads((tmp_path / "r.json").read_text())["VALID"]["value"] is False
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # atomic
    (tmp_path / "gic.toml").write_text("[calibration]\nreference_temperature_tolerance = 5.0\n")
    assert main([*validate, "-c", str(tmp_path / "gic.toml")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["VALID"]["value"] is True


@pytest.mark.service
def test_sync_calibration_pulls_reports_and_exits_1_on_a_rejected_one(
    tmp_path, capsys, http_server
):
    from tests.conftest import Reply
    from tests.data_access.calibration.test_sources import broken, report

    ws = tmp_path / "ws"
    ws.mkdir()
    assert main(["--workspace", str(ws), "sync", "calibration"]) == 0
    assert "no CDB source of calibration reports" in capsys.readouterr().out
    (ws / "gic.toml").write_text(f'[cdb.http]\ncalibration_url = "{http_server.url}"\n')
    answer = json.dumps([report("2025-03-01"), broken("2025-03-02")]).encode()
    http_server.script(Reply(200, answer))
    assert main(["--workspace", str(ws), "sync", "calibration"]) == 1
    out = capsys.readouterr()
    summary = "cdb-http: 1 new, 0 replaced, 0 unchanged documents; 1 reports added, 1 rejected"
    assert summary in out.out
    assert "rejected: " in out.err and "missing key(s) RMSDIFF" in out.err
    assert main(["--workspace", str(ws), "sync", "calibration"]) == 1  # same answer: rejected again
    assert "1 unchanged documents; 0 reports added" in capsys.readouterr().out
