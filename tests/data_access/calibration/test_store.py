"""Masters on disk with history, promotion (also killed half-way), certification, trends,
images and the completeness grid (the reports alone: test_reports.py; the files alone:
test_masters.py)."""

import signal
import subprocess
import sys
import textwrap
import threading
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from analysis.calibration import HeaderMismatch, Master, validate_master
from data_access.cache import Cache
from data_access.calibration.store import CalibrationStore, CalibrationStoreError, limits_for
from data_access.config import CalibrationConfig, ConfigError, config_from_dict
from pipelines.calibration_night import (
    CalibrationBuildError,
    built_while_reading,
    run_night,
    validated_while_kept,
)
from tests.calibration_helpers import SHAPE, write_raw

REPO = Path(__file__).resolve().parents[3]


def make_master(level: float, night: str, seed: int = 0) -> Master:
    data = np.random.default_rng(seed).normal(level, 1.0, SHAPE).astype(np.float32)
    header = fits.Header(
        {
            "IMAGETYP": "MASTER BIAS",
            "CALTYPE": "bias",
            "INSTRUME": "DDRAGO1",
            "FILTER": "NONE",
            "DATE-OBS": f"{night}T23:00:00",
            "BUNIT": "ADU",
            "NCOMBINE": 5,
        }
    )
    return Master(data, header)


def add_night(store: CalibrationStore, level: float, night: str, seed: int = 0):
    master = make_master(level, night, seed)
    found = store.reference("bias", "DDRAGO1", "NONE")
    ref, ref_header, ref_id = found if found else (None, None, None)
    report = validate_master(
        master.data,
        master.header,
        ref,
        ref_header,
        im_name=f"bias_DDRAGO1_NONE_{night.replace('-', '')}.fits",
    )
    if ref is None:  # the first master: no residual check here, take it as valid
        from dataclasses import replace

        report = replace(report, valid=True, reasons=())
    return store.add(master, report, date.fromisoformat(night), reference_id=ref_id)


@pytest.fixture
def store(tmp_path):
    cache = Cache(tmp_path / "cache.duckdb")
    yield CalibrationStore(
        cache, tmp_path / "masters", CalibrationConfig(expected=("DDRAGO1/NONE/bias",))
    )
    cache.close()


def statuses(store):
    return dict(store.masters()[["master_id", "status"]].itertuples(index=False))


def test_promotion_keeps_old_and_history_and_rejects_bad(store):
    first, _ = add_night(store, 1000, "2025-03-01", seed=1)
    second, _ = add_night(store, 1000.5, "2025-03-02", seed=2)
    third, _ = add_night(store, 1000.2, "2025-03-03", seed=3)
    bad, bad_report = add_night(store, 1010, "2025-03-04", seed=4)  # MEANDIFF ~10: invalid
    assert statuses(store) == {first: "history", second: "old", third: "master", bad: "rejected"}
    folder = store.folder("bias", "DDRAGO1", "NONE")
    assert store.in_force("bias", "DDRAGO1", "NONE").name == "bias_DDRAGO1_NONE_20250303.fits"
    assert (folder / "OLD.fits").resolve().name == "bias_DDRAGO1_NONE_20250302.fits"
    assert len(list((folder / "history").iterdir())) == 4  # nothing overwritten nor deleted
    invalid = store.invalid()
    assert list(invalid["report_id"]) == [bad_report]


def test_certification_overrides_the_verdict_and_promotes_or_demotes(store):
    add_night(store, 1000, "2025-03-01", seed=1)
    good, _ = add_night(store, 1000.3, "2025-03-02", seed=2)
    bad, bad_report = add_night(store, 1010, "2025-03-03", seed=3)
    store.certify(
        bad_report, True, comment="bias level changed after the controller swap", user="ana"
    )
    assert statuses(store)[bad] == "master" and statuses(store)[good] == "old"
    row = store.trend("bias").set_index("report_id").loc[bad_report]
    assert not row["valid"] and row["certified"] and row["verdict"]
    assert row["certified_by"] == "ana" and "controller" in row["comment"]
    store.certify(bad_report, False, comment="no, it was a glitch", user="ana")
    assert statuses(store)[bad] == "rejected" and statuses(store)[good] == "master"
    assert store.invalid()["report_id"].tolist() == [bad_report]
    with pytest.raises(CalibrationStoreError, match="needs a comment"):
        store.certify(bad_report, True, comment=" ", user="ana")


@pytest.mark.parametrize("step", ["start", "old-linked", "master-linked"])
def test_promotion_killed_half_way_leaves_old_or_new_in_force(tmp_path, step):
    cache = Cache(tmp_path / "cache.duckdb")
    store = CalibrationStore(cache, tmp_path / "masters")
    add_night(store, 1000, "2025-03-01", seed=1)
    second, _ = add_night(store, 1000.3, "2025-03-02", seed=2)
    master = make_master(1000.1, "2025-03-03", seed=3)
    ref, ref_header, ref_id = store.reference("bias", "DDRAGO1", "NONE")
    report = validate_master(master.data, master.header, ref, ref_header, im_name="bias_new.fits")
    third, _ = store.add(master, report, date(2025, 3, 3), reference_id=ref_id, promote=False)
    cache.close()
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO)!r})
        import data_access.calibration.store as cs
        from data_access.cache import Cache
        def hook(step):
            if step == {step!r}:
                os.kill(os.getpid(), signal.SIGKILL)
        cs._promotion_step = hook
        cache = Cache({str(tmp_path / "cache.duckdb")!r})
        store = cs.CalibrationStore(cache, {str(tmp_path / "masters")!r})
        store.promote({third})
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == -signal.SIGKILL, result.stderr
    cache = Cache(tmp_path / "cache.duckdb")
    store = CalibrationStore(cache, tmp_path / "masters")
    in_force = store.in_force("bias", "DDRAGO1", "NONE")
    expected = "bias_new.fits" if step == "master-linked" else "bias_DDRAGO1_NONE_20250302.fits"
    assert in_force is not None and in_force.name == expected
    assert fits.getdata(in_force).shape == SHAPE
    store.reconcile()
    now = statuses(store)
    assert list(now.values()).count("master") == 1
    assert now[third] == ("master" if step == "master-linked" else "candidate")
    store.promote(third)  # finishing the job works from any of these states
    assert statuses(store)[third] == "master" and statuses(store)[second] == "old"
    snapshot = cache.snapshot()
    store.reconcile()  # statuses already in line with the links: nothing written
    store.promote(third)
    assert cache.snapshot() == snapshot
    assert not list(store.folder("bias", "DDRAGO1", "NONE").glob(".*tmp"))
    cache.close()


def test_trend_images_and_histogram_of_a_date(store):
    add_night(store, 1000, "2025-03-01", seed=1)
    add_night(store, 1000.5, "2025-03-02", seed=2)
    trend = store.trend("bias", "DDRAGO1", "NONE", datetime(2025, 3, 2), datetime(2025, 3, 3))
    assert len(trend) == 1
    report_id = int(trend["report_id"].iloc[0])
    data, header = store.master_image(report_id)
    assert data.shape == SHAPE and header["CALTYPE"] == "bias"
    diff = store.difference_image(report_id)
    assert abs(float(np.mean(diff)) - 0.5) < 0.05
    counts, edges, limits = store.histogram(report_id)
    assert counts.sum() > 0.99 * data.size and len(edges) == len(counts) + 1
    assert limits.meandiff == (-2.0, 2.0)
    assert store.report(report_id)["report"]["MEANDIFF"]["value"] == pytest.approx(0.5, abs=0.05)


def test_completeness_grid_marks_ok_invalid_and_missing(store):
    add_night(store, 1000, "2025-03-01", seed=1)
    add_night(store, 1010, "2025-03-03", seed=3)  # invalid
    store.record_series(
        date(2025, 3, 4),
        "DDRAGO1",
        "g",
        "flat",
        n_frames=2,
        n_good=2,
        problem="2 good flat frame(s) of 2, fewer than the minimum of 3",
    )
    grid = store.completeness(date(2025, 3, 1), date(2025, 3, 4))
    bias = grid[grid["caltype"] == "bias"].set_index("night")["verdict"].to_dict()
    assert bias == {
        date(2025, 3, 1): "OK",
        date(2025, 3, 2): "missing",
        date(2025, 3, 3): "invalid",
        date(2025, 3, 4): "missing",
    }
    flat = grid[(grid["caltype"] == "flat") & (grid["night"] == date(2025, 3, 4))].iloc[0]
    assert flat["arrived"] and flat["n_frames"] == 2 and flat["verdict"] == "invalid"
    assert len(grid) == 8  # 4 nights x (DDRAGO1/NONE/bias expected, DDRAGO1/g/flat seen)


def test_limits_per_type_and_overrides():
    config = config_from_dict(
        {
            "calibration": {
                "limits": {
                    "overrides": [
                        "flat DDRAGO2 * meandiff=0.98:1.02",
                        "bias CAGIRE NONE rmsdiff=0:8",
                    ]
                }
            }
        }
    )
    calib = config.calibration
    assert limits_for(calib, "bias", "DDRAGO1", "NONE").rmsdiff == (0.0, 3.0)
    assert limits_for(calib, "bias", "CAGIRE", "NONE").rmsdiff == (0.0, 8.0)
    assert limits_for(calib, "flat", "DDRAGO2", "z").meandiff == (0.98, 1.02)
    assert limits_for(calib, "flat", "DDRAGO1", "z").meandiff == (0.99, 1.01)
    broken = config_from_dict({"calibration": {"limits": {"overrides": ["flat DDRAGO2 * mean=1"]}}})
    with pytest.raises(
        ConfigError, match="'mean=1' in 'flat DDRAGO2 \\* mean=1' is not NAME=LO:HI"
    ):
        limits_for(broken.calibration, "flat", "DDRAGO2", "g")


def test_run_night_builds_validates_and_promotes_each_kind(store, tmp_path):
    night = tmp_path / "raw" / "20250301"
    write_raw(night, "bias", 5, seed=1)
    write_raw(night, "dark", 5, level=1060, seed=2)  # 2 ADU/s over 30 s
    write_raw(night, "flat", 5, level=20000, sigma=100, seed=3, filter_="r")
    write_raw(night, "flat", 2, level=20000, seed=4, filter_="i")  # too few
    outcomes = run_night(store, date(2025, 3, 1), night)
    summary = {(o.caltype, o.filter): o.action for o in outcomes}
    assert summary == {
        ("bias", "NONE"): "promoted",
        ("dark", "NONE"): "promoted",
        ("flat", "r"): "promoted",
        ("flat", "i"): "no master",
    }
    dark = fits.getheader(store.in_force("dark", "DDRAGO1", "NONE"))
    assert dark["BUNIT"] == "ADU/s" and dark["BIASFILE"] == "bias_DDRAGO1_NONE_20250301.fits"
    assert abs(float(np.median(fits.getdata(store.in_force("dark", "DDRAGO1", "NONE")))) - 2) < 0.1
    again = run_night(store, date(2025, 3, 1), night)
    assert {o.action for o in again} == {"already done", "no master"}
    assert run_night(store, date(2025, 3, 2), tmp_path / "raw" / "20250302") == []
    grid = store.completeness(date(2025, 3, 1), date(2025, 3, 1))
    verdicts = {(r.caltype, r.filter): r.verdict for r in grid.itertuples()}
    assert verdicts[("flat", "i")] == "invalid" and verdicts[("flat", "r")] == "OK"


def test_run_night_leaves_out_a_warm_frame_refuses_a_bias_of_another_binning_and_writes_json(
    store, tmp_path
):
    night = tmp_path / "raw" / "20250301"
    temperatures = {"CCD-TEMP": [-10.0, -10.2, -9.9, -10.1, -4.0], "XBINNING": 1, "YBINNING": 1}
    write_raw(night, "bias", 5, seed=1, cards=temperatures)
    binned = {"CCD-TEMP": -10.0, "XBINNING": 2, "YBINNING": 1}
    write_raw(night, "dark", 5, level=1060, seed=2, cards=binned)
    reports = tmp_path / "reports"
    outcomes = {
        o.caltype: o for o in run_night(store, date(2025, 3, 1), night, reports_dir=reports)
    }
    bias = outcomes["bias"]
    assert bias.action == "promoted"
    assert bias.left_out == [
        (
            "bias_DDRAGO1_g_04.fits",
            "CCD-TEMP -4 °C, 6 °C from the series' median -10 °C (tolerance 1 °C)",
        )
    ]
    header = fits.getheader(store.in_force("bias", "DDRAGO1", "NONE"))
    assert (header["CCD-TEMP"], header["TEMP-MIN"], header["TEMP-MAX"]) == (-10.05, -10.2, -9.9)
    assert outcomes["dark"].action == "no master"
    assert "binning 1x1 in the master bias, 2x1 in the frames" in outcomes["dark"].detail
    assert [p.name for p in reports.iterdir()] == ["bias_DDRAGO1_NONE_20250301.json"]
    series = store.completeness(date(2025, 3, 1), date(2025, 3, 1), "dark")
    assert "binning 1x1" in series["problem"].iloc[0]


def test_limits_have_modes_and_an_override_may_set_one():
    calib = CalibrationConfig()
    dark = limits_for(calib, "dark", "DDRAGO1", "NONE")
    assert (dark.meandiff, dark.meandiff_mode, dark.rmsdiff_mode) == (
        (-0.2, 0.2),
        "relative",
        "noise",
    )
    config = config_from_dict(
        {"calibration": {"limits": {"overrides": ["bias CAGIRE * meandiff=-0.01:0.01:relative"]}}}
    )
    bias = limits_for(config.calibration, "bias", "CAGIRE", "NONE")
    assert (bias.meandiff, bias.meandiff_mode, bias.rmsdiff_mode) == (
        (-0.01, 0.01),
        "relative",
        "absolute",
    )
    broken = config_from_dict({"calibration": {"limits": {"dark_meandiff_mode": "percent"}}})
    with pytest.raises(ConfigError, match="calibration.limits, dark: limit mode 'percent'"):
        limits_for(broken.calibration, "dark", "DDRAGO1", "NONE")


def test_a_master_written_beside_its_validation_is_kept_once_or_removed(store):
    add_night(store, 1000.0, "2025-03-01")
    master = make_master(1000.0, "2025-03-02", seed=1)
    ref, ref_header, ref_id = store.reference("bias", "DDRAGO1", "NONE")
    name = "bias_DDRAGO1_NONE_20250302.fits"
    report, kept = validated_while_kept(
        lambda: store.keep_file(master, name),
        master.data,
        master.header,
        ref,
        ref_header,
        im_name=name,
    )
    assert kept.name == name and kept.is_file()
    master_id, _ = store.add(master, report, date(2025, 3, 2), reference_id=ref_id, kept=kept)
    history = sorted(p.name for p in kept.parent.iterdir())
    assert history == ["bias_DDRAGO1_NONE_20250301.fits", name]  # written once, not twice
    assert store.cache.execute(
        "SELECT path FROM calibration_master WHERE master_id = ?", [master_id]
    ) == [(str(kept.relative_to(store.masters_dir)),)]
    flat_header = fits.Header(ref_header)
    flat_header["CALTYPE"], flat_header["IMAGETYP"] = "flat", "MASTER FLAT"
    with pytest.raises(HeaderMismatch):  # no report: the file written beside goes
        validated_while_kept(
            lambda: store.keep_file(master, "refused.fits"),
            master.data,
            master.header,
            ref,
            flat_header,
        )
    assert sorted(p.name for p in kept.parent.iterdir()) == history


def test_the_reference_is_read_beside_the_build_and_a_failed_build_still_says_why():
    started = threading.Event()

    def read():
        started.set()
        return "reference"

    def build():
        assert started.wait(5), "the reference's read did not start beside the build"
        return "built"

    assert built_while_reading(build, read) == ("built", "reference")

    def failing():
        started.wait(5)
        raise CalibrationBuildError("too few good frames")

    with pytest.raises(CalibrationBuildError, match="too few good frames"):
        built_while_reading(failing, read)
