"""Each frame's quality from a GP2 run of generated frames (known seeing, sky and zero point),
recorded in the cache with the telemetry at its exposure, and a Reprocess run's hook."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import pytest

from analysis.frame_quality import QualityLimits
from analysis.gp2.simulate import ZP_PER_SECOND, simulate_burst
from data_access.frame_quality import QualityStore
from data_access.gp2.config import read_module_config
from data_access.gp2.files import write_simulated_burst
from data_access.gp2.runs import ReprocessStore
from data_access.stores import Stores
from pipelines.dossier import burst_dossier
from pipelines.frame_quality import WITHIN, QualityRecorder, run_quality, with_quality
from pipelines.gp2.runner import RunPlan, run_burst
from pipelines.reprocess import reprocess
from tests.pipelines.test_reprocess import FakeStatus

#: GP2's FWHM (twice the half-light radius of pixel-integrated stars) sits a few per cent above
#: the Gaussian's: the relative error allowed.
FWHM_TOLERANCE = 0.06
#: The aperture (1.5 FWHM in radius) misses 0.2 % of a Gaussian star's light, mag.
APERTURE_LOSS = 0.003


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A generated burst (two epochs, two filters, 192-pixel frames) and its photometry run."""
    burst = simulate_burst(seed=5, size=192, n_epochs=2, n_stars=60)
    folder = tmp_path_factory.mktemp("quality") / "burst"
    files = write_simulated_burst(burst, folder)
    plan = RunPlan.for_module("photometry", read_module_config(files["config"] / "module.cfg"))
    result = run_burst([files["raw"]], plan, output=folder / "out")
    return burst, files, plan, result


def test_quality_figures_of_generated_frames_are_recovered(generated):
    burst, _, plan, result = generated
    measured = {image.name: quality for image, quality in run_quality(result, plan.keywords, None)}
    truth = {row["image_id"]: row for row in burst.truth}
    assert set(measured) == set(truth)
    scale = burst.pixel_scale * 3600
    for name, quality in measured.items():
        true = truth[name]
        assert quality.zp_stars >= 10
        zp_error = 3 * quality.zp_err + APERTURE_LOSS
        assert quality.zp == pytest.approx(ZP_PER_SECOND[true["filter"]], abs=zp_error), name
        assert quality.fwhm_px == pytest.approx(true["fwhm"], rel=FWHM_TOLERANCE), name
        assert quality.fwhm_arcsec == pytest.approx(quality.fwhm_px * scale)
        sky_adu = true["sky"] * 60.0 / burst.gain  # e-/s/pixel over 60 s, in ADU
        assert quality.sky_adu == pytest.approx(sky_adu, rel=2e-3), name
        expected_mu = ZP_PER_SECOND[true["filter"]] - 2.5 * math.log10(true["sky"] / scale**2)
        assert quality.sky_mag_arcsec2 == pytest.approx(expected_mu, abs=zp_error + 0.005), name
        assert quality.ellipticity < 0.12  # round Gaussian stars, noise alone
        assert 18.0 < quality.limit_mag < 22.0
        assert math.isnan(quality.airmass)  # no AIRMASS, and no site given


def test_a_run_is_recorded_with_the_telemetry_once_per_frame(generated, stores):
    _, _, plan, result = generated
    recorder = QualityRecorder(stores.quality, FakeStatus(), None)
    assert recorder.record_run(result, keywords=plan.keywords, run_id="run-1") == 4
    assert recorder.record_run(result, keywords=plan.keywords, run_id="run-2") == 4
    (night,) = stores.quality.nights()
    frames = stores.quality.frames(night)
    assert len(frames) == 4 and set(frames["run_id"]) == {"run-2"}
    assert frames["humidity (%)"].str.startswith("weather-station-ws1-air-humidity@").all()
    assert "dome" not in frames  # no reading: no column
    assert (frames["outside"] == "").all()
    kinds = stores.quality.kinds()
    assert list(kinds["n_frames"]) == [2, 2]
    instrument, filter_ = kinds.iloc[0][["instrument", "filter"]]
    nightly = stores.quality.nightly(instrument, filter_, night, night)
    assert list(nightly["n_frames"]) == [2]
    picked = frames[frames["filter"] == filter_]
    assert nightly["fwhm_px"].iloc[0] == pytest.approx(picked["fwhm_px"].median())
    assert list(stores.quality.of_images([frames["image_id"].iloc[0]])["image_id"]) == [
        frames["image_id"].iloc[0]
    ]


def test_a_frame_outside_the_limits_is_flagged_with_its_reason(generated, stores):
    _, _, plan, result = generated
    QualityRecorder(stores.quality, None, None).record_run(result, keywords=plan.keywords)
    strict = QualityStore(
        stores.cache, limits=QualityLimits(fwhm_max_arcsec=0.5), night_offset_h=0.0
    )
    frames = strict.frames(strict.nights()[0])
    assert frames["outside"].str.match(r'^FWHM \d\.\d\d" > 0\.5"$').all()


def test_a_reprocess_run_records_its_frames(generated, stores, tmp_path):
    _, files, plan, _ = generated
    store = ReprocessStore(tmp_path / "in", tmp_path / "runs")
    run_id, folder = store.new_run("quality")
    recorder = QualityRecorder(stores.quality, None, None)
    reprocess(
        store,
        [str(p) for p in sorted(files["raw"].glob("*.fits"))][:2],
        plan,
        run_id,
        folder,
        source="test",
        burst_id="",
        user="ana",
        quality=recorder,
    )
    frames = stores.quality.frames(stores.quality.nights()[0])
    assert len(frames) == 2 and set(frames["run_id"]) == {run_id}
    assert set(frames["source"]) == {"gp2"}


def test_a_table_of_frames_gets_each_frames_verdict(generated, stores):
    _, _, plan, result = generated
    QualityRecorder(stores.quality, None, None).record_run(result, keywords=plan.keywords)
    names = [image.name for image in result.images]
    frames = pd.DataFrame({"name": [*names[:2], "never-measured"]})
    assert list(with_quality(stores.quality, frames)["quality"]) == [WITHIN, WITHIN, ""]
    strict = QualityStore(
        stores.cache, limits=QualityLimits(zero_point_min=30.0), night_offset_h=0.0
    )
    verdicts = with_quality(strict, frames)["quality"]
    assert verdicts[0].startswith("outside: zero point 24.") and verdicts[0].endswith(" < 30")


def test_the_dossiers_frames_are_flagged_where_they_lie_outside(demo_root):
    stores = Stores.open(demo_root, read_only=True)
    try:
        burst_id = stores.reprocess.folders()["burst_id"].iloc[0]
        dossier = burst_dossier(stores, burst_id, at=datetime.now(UTC))
    finally:
        stores.close()
    verdicts = set(dossier.frames["quality"])
    assert WITHIN in verdicts and any(v.startswith("outside: airmass") for v in verdicts)
    assert {f["quality"] for f in dossier.to_dict()["frames"]} == verdicts
