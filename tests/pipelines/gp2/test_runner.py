"""GP2 over files: the notes' INI files, a generated burst through the pipeline (locally
and on a 2-worker LocalCluster), a bad image among good ones, and GP1's routing."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table, join
from astropy.time import Time

from analysis.gp2 import PHOTOMETRY_COLUMNS
from analysis.gp2.simulate import simulate_burst
from analysis.products import PRODUCT_CARDS, Burst, build_products
from analysis.products.position import ASTROMETRY_ERROR_ARCSEC
from data_access.gp2.config import (
    Gp2ConfigError,
    read_gp1_config,
    read_module_config,
    read_pipeline_config,
)
from data_access.gp2.files import write_simulated_burst
from data_access.products.files import DescriptorLibrary, read_photometry_file
from pipelines.gp2.cluster import open_client
from pipelines.gp2.gp1 import Gp1Runner
from pipelines.gp2.planning import image_times
from pipelines.gp2.runner import HeaderKeywords, RunPlan, run_burst

# The design notes' three INI files, copied as they are (trailing blank, tab and all).
NOTES_MODULE_INI = (
    "[Input and Output]\ninput  = /data/pipeline_test/Data/20191016/raw_images\n"
    "output = /data/pipeline_test/output_V6\n\n[Calibration]\n"
    "dark = /data/pipeline_test/Data/20191016/masters/dark.fits\n"
    "flat = /data/pipeline_test/Data/20191016/masters/flat.fits\n"
    "bias = /data/pipeline_test/Data/20191016/masters/bias.fits\n\n[Parameters]\n"
    "ps            = 0.000195\ngain          = 6.2\nsat_level     = 7000\ndetect_thresh = 1\n"
)
NOTES_PIPELINE_INI = (
    "[Workspace]\nheaders = TRGID,INSTRUME,FILTER\n \n[Input and Output]\n"
    "input  = /data/pipeline_test/Data/20191016/raw_images\noutput = /data/pipeline_test/output\n\n"
    "[Structure of pipeline]\nreduction = yes\nfindstars = no\nalignment = no\nstacking  = no\n"
    "Photometry =no\nImage subtraction = no\nSummary = no\n\n"
    "[Strategy processing]\nmode = standard\n"
)
NOTES_GP1_INI = (
    "[General]\ninput    = /data/pipeline_test/Simulation_online/input \n"
    "log_path = /data/pipeline_test/Simulation_online/output\n\n# Pipelines\n[pipeline-test]\n"
    "processing_strategy = standard\t\nidentifier_header   = EXPTYPE,OBSERVER\n"
    "identifier_value    = object,svom\n"
    "configuration_path_dir  = /data/pipeline_test/GP1-V7/config/pipeline-test\n"
    "workspace_dir       = /data/pipeline_test/Simulation_online/output\n"
)


def test_notes_module_ini_reads_as_it_is(tmp_path):
    path = tmp_path / "reduction.cfg"
    path.write_text(NOTES_MODULE_INI)
    settings = read_module_config(path)
    assert settings.input == ("/data/pipeline_test/Data/20191016/raw_images",)
    assert settings.output == "/data/pipeline_test/output_V6"
    assert settings.dark.endswith("masters/dark.fits") and settings.bias.endswith(
        "masters/bias.fits"
    )
    p = settings.parameters
    assert (p.ps, p.gain, p.sat_level, p.detect_thresh) == (0.000195, 6.2, 7000.0, 1.0)


def test_notes_pipeline_ini_reads_as_it_is(tmp_path):
    (tmp_path / "pipeline.cfg").write_text(NOTES_PIPELINE_INI)
    pipeline = read_pipeline_config(tmp_path)
    assert pipeline.headers == ("TRGID", "INSTRUME", "FILTER")
    assert pipeline.steps == (
        "reduction",
        "cosmics",
    )  # L.A.Cosmic goes with reduction unless switched off
    assert pipeline.mode == "standard"
    assert pipeline.output == "/data/pipeline_test/output"


def test_notes_gp1_ini_reads_as_it_is(tmp_path):
    path = tmp_path / "gp1.cfg"
    path.write_text(NOTES_GP1_INI)
    gp1 = read_gp1_config(path)
    assert gp1.input == "/data/pipeline_test/Simulation_online/input"
    (instance,) = gp1.instances
    assert instance.name == "pipeline-test"
    assert instance.processing_strategy == "standard"
    assert instance.identifier_header == ("EXPTYPE", "OBSERVER")
    assert instance.matches(fits.Header({"EXPTYPE": "object", "OBSERVER": "SVOM "}))
    assert not instance.matches(fits.Header({"EXPTYPE": "object", "OBSERVER": "colibri"}))


def test_bad_ini_values_name_the_file_and_key(tmp_path):
    path = tmp_path / "bad.cfg"
    path.write_text("[Parameters]\ngain = six\n")
    with pytest.raises(
        Gp2ConfigError, match=r"bad.cfg: \[Parameters\] gain is 'six', expected a float"
    ):
        read_module_config(path)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "pipeline.cfg").write_text("[Structure of pipeline]\nreduction = maybe\n")
    with pytest.raises(Gp2ConfigError, match="reduction is 'maybe', expected yes or no"):
        read_pipeline_config(tmp_path / "p")


# -- a generated burst through the pipeline ----------------------------------------------
@pytest.fixture(scope="module")
def burst_files(tmp_path_factory):
    burst = simulate_burst(seed=2, size=256, n_stars=70, n_epochs=5, index=1.3, mag_at_t1=15.5)
    folder = tmp_path_factory.mktemp("burst")
    return burst, write_simulated_burst(burst, folder)


@pytest.fixture(scope="module")
def local_run(burst_files):
    burst, files = burst_files
    plan = RunPlan.from_pipeline(read_pipeline_config(files["config"]), t0=burst.t0)
    ticks = []
    result = run_burst(
        [files["raw"]],
        plan,
        output=files["output"],
        progress=lambda d, n: ticks.append((d, n)),
        keep_images=True,
    )
    return result, ticks


def test_pipeline_recovers_the_transient_and_its_decay(burst_files, local_run):
    burst, files = burst_files
    result, ticks = local_run
    assert result.failures == []
    ra, dec, n_images = result.transient
    assert np.hypot((ra - burst.ra) * np.cos(np.radians(dec)), dec - burst.dec) * 3600 < 0.5
    assert n_images >= 8
    measured = Table.read(files["output"] / burst.trigger_id / "photometry.csv")
    assert tuple(measured.colnames) == PHOTOMETRY_COLUMNS
    both = join(measured, burst.truth, keys="image_id")
    detected = both[both["detected"] == 1]
    assert len(detected) >= 8
    deviation = np.abs(detected["mag_1"] - detected["mag_2"])
    assert np.all(deviation < 3 * detected["mag_err"] + 0.01)
    assert abs(result.decay.index - burst.index) < 2 * result.decay.index_err
    assert ticks[-1][0] == ticks[-1][1]
    assert (files["output"] / burst.trigger_id / "DDRAGO1" / "g" / "reduced").is_dir()
    image = result.images[0]
    assert (
        image.reduced.shape == (256, 256) and len(image.sources) > 20 and len(image.candidates) >= 1
    )


def test_the_photometry_gives_position_errors_and_po_a_poserr_above_the_floor(
    burst_files, local_run
):
    burst, files = burst_files
    photometry = read_photometry_file(files["output"] / burst.trigger_id / "photometry.csv")
    seen = photometry.detected == 1
    assert np.all(photometry.pos_err[seen] > 0)
    target = Burst(burst.trigger_id, Time(burst.t0, scale="utc"), burst.ra, burst.dec, 0.01)
    products = build_products(photometry, target, DescriptorLibrary().as_dict())
    assert products[PRODUCT_CARDS["PO"]][1].data["POSERR"][0] > ASTROMETRY_ERROR_ARCSEC


def test_same_results_on_a_two_worker_local_cluster(burst_files, local_run, tmp_path):
    burst, files = burst_files
    plan = RunPlan.from_pipeline(read_pipeline_config(files["config"]), t0=burst.t0)
    with open_client(n_workers=2, processes=False) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        distributed = run_burst([files["raw"]], plan, output=tmp_path / "out", client=client)
    local = local_run[0].light_curve
    for column in PHOTOMETRY_COLUMNS:
        assert list(distributed.light_curve[column]) == list(local[column]), column
    assert distributed.decay == local_run[0].decay


#: A camera that names the keywords GP2 reads otherwise (the [gp2] *_key settings).
RENAMED = HeaderKeywords(
    saturate="SATLEVEL", exptime="EXPOSURE", filter="FILT", instrument="CAMERA", date_obs="OBSSTART"
)


def _renamed_frames(raw: Path, folder: Path) -> Path:
    folder.mkdir()
    for path in sorted(raw.glob("*.fits")):
        with fits.open(path) as hdul:
            header = hdul[0].header
            del header["MJD-OBS"]
            for field in dataclasses.fields(RENAMED):
                header.rename_keyword(field.default, getattr(RENAMED, field.name))
            hdul.writeto(folder / path.name)
    return folder


def test_renamed_keywords_are_read_when_the_settings_name_them(burst_files, local_run, tmp_path):
    burst, files = burst_files
    raw = _renamed_frames(files["raw"], tmp_path / "renamed")
    plan = RunPlan.from_pipeline(
        read_pipeline_config(files["config"]), t0=burst.t0, keywords=RENAMED
    )
    plan = dataclasses.replace(plan, headers=("TRGID", "CAMERA", "FILT"))
    with open_client(n_workers=2, processes=False) as client:
        renamed = run_burst([raw], plan, output=tmp_path / "out", client=client)
    assert renamed.failures == []
    local = local_run[0].light_curve
    for column in PHOTOMETRY_COLUMNS:
        assert list(renamed.light_curve[column]) == list(local[column]), column
    times = image_times([raw], keywords=RENAMED)
    assert list(times["t_start"]) == list(image_times([files["raw"]])["t_start"])


def test_a_missing_keyword_is_named_with_its_file(burst_files, tmp_path):
    burst, files = burst_files
    raw = _renamed_frames(files["raw"], tmp_path / "renamed")
    settings = read_module_config(files["config"] / "module.cfg")
    result = run_burst([raw], RunPlan.for_module("findstars", settings), output=tmp_path / "out")
    assert len(result.failures) == len(burst.frames) and result.images == []
    for path, reason in result.failures:
        assert reason.startswith(f"{path}: header keyword FILTER is missing")
        assert "[gp2] filter_key" in reason
    without_exptime = dataclasses.replace(RENAMED, exptime="EXPTIME")
    result = run_burst(
        [raw],
        RunPlan.for_module("findstars", settings, keywords=without_exptime),
        output=tmp_path / "out2",
    )
    assert all("header keyword EXPTIME is missing" in reason for _, reason in result.failures)


def test_a_bad_image_is_reported_and_the_others_go_on(burst_files, tmp_path):
    burst, files = burst_files
    raw = tmp_path / "raw"
    raw.mkdir()
    good = sorted(files["raw"].glob("*.fits"))[:2]
    for path in good:
        shutil.copy(path, raw)
    (raw / "broken.fits").write_bytes(good[0].read_bytes()[:5000])  # truncated
    settings = read_module_config(files["config"] / "module.cfg")
    result = run_burst([raw], RunPlan.for_module("findstars", settings), output=tmp_path / "out")
    assert len(result.failures) == 1
    assert (
        "broken.fits" in result.failures[0][0]
        and "not a readable FITS file" in result.failures[0][1]
    )
    assert sorted(p.name for p in (tmp_path / "out" / "sources").iterdir()) == sorted(
        p.name.replace(".fits", ".csv") for p in good
    )


def test_stacks_of_two_keep_every_frames_steps_in_their_log(burst_files, tmp_path):
    burst, files = burst_files
    settings = read_module_config(files["config"] / "module.cfg")
    settings = dataclasses.replace(
        settings, parameters=dataclasses.replace(settings.parameters, stack_size=2)
    )
    result = run_burst(
        [files["raw"]], RunPlan.for_module("stacking", settings), output=tmp_path / "out"
    )
    assert result.failures == []
    assert len(result.images) == 6  # five frames per filter: stacks of 2, 2 and 1
    stack = result.images[0]
    first = stack.name.removesuffix("_stack02")
    assert any(line.startswith(f"{first}: reduction: ") for line in stack.log)
    assert stack.log[-1].startswith("stacking: 2 frames, FWHM ")
    assert len(list((tmp_path / "out" / "stacked").glob("*.fits"))) == len(result.images)


def test_image_times_for_the_telemetry_rendezvous(burst_files):
    burst, files = burst_files
    times = image_times([files["raw"]])
    assert len(times) == len(burst.frames)
    assert times["t_start"][0] == burst.truth["t_start"][0]
    assert list(times["t_start"]) == sorted(times["t_start"])


# -- GP1 ---------------------------------------------------------------------------------
def test_gp1_routes_each_image_once_to_its_instance(burst_files, tmp_path):
    burst, files = burst_files
    incoming = tmp_path / "input"
    incoming.mkdir()
    for k, frame in enumerate(burst.frames[:4]):
        header = frame.header.copy()
        header["OBSERVER"] = "svom" if k % 2 == 0 else "colibri"
        fits.PrimaryHDU(frame.data, header).writeto(incoming / f"{frame.name}.fits")
    stranger = burst.frames[4].header.copy()
    stranger["EXPTYPE"] = "flat"
    fits.PrimaryHDU(burst.frames[4].data, stranger).writeto(incoming / "flat.fits")
    for name in ("svom", "colibri"):
        folder = tmp_path / "config" / name
        folder.mkdir(parents=True)
        text = NOTES_PIPELINE_INI.replace(
            "/data/pipeline_test/output", str(tmp_path / f"out-{name}")
        )
        (folder / "pipeline.cfg").write_text(text)
        (folder / "reduction.cfg").write_text(
            (files["config"] / "module.cfg").read_text().replace("[Input and Output]", "[Unused]")
        )
    config = tmp_path / "gp1.cfg"
    config.write_text(
        NOTES_GP1_INI.replace("/data/pipeline_test/Simulation_online/input", str(incoming))
        .replace("/data/pipeline_test/Simulation_online/output", str(tmp_path / "log"))
        .replace(
            "/data/pipeline_test/GP1-V7/config/pipeline-test", str(tmp_path / "config" / "svom")
        )
        + "\n[pipeline-colibri]\nprocessing_strategy = standard\n"
        "identifier_header = EXPTYPE,OBSERVER\n"
        "identifier_value = object,colibri\n"
        f"configuration_path_dir = {tmp_path / 'config' / 'colibri'}\n"
        f"workspace_dir = {tmp_path / 'out-colibri'}\n"
    )
    runner = Gp1Runner(read_gp1_config(config), settle_s=0.0)
    outcomes = {Path(o.path).name: o for o in runner.poll()}
    assert {o.instance for o in outcomes.values() if o.status == "processed"} == {
        "pipeline-test",
        "pipeline-colibri",
    }
    assert outcomes["flat.fits"].status == "unrouted"
    assert sum(o.status == "processed" for o in outcomes.values()) == 4
    reduced_svom = list(
        (tmp_path / "log").rglob("reduced/*.fits")
    )  # pipeline-test writes to its workspace_dir
    reduced_colibri = list((tmp_path / "out-colibri").rglob("reduced/*.fits"))
    assert len(reduced_svom) == 2 and len(reduced_colibri) == 2
    assert (
        Gp1Runner(read_gp1_config(config), settle_s=0.0).poll() == []
    )  # each image once, across restarts
