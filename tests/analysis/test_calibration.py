"""Frame checks, master building, validation and the report, on synthetic frames."""

import json
import math

import numpy as np
import pytest
from astropy.io import fits

from analysis.calibration import (
    REPORT_KEYS,
    Corrections,
    FrameInfo,
    FrameRules,
    HeaderMismatch,
    Limits,
    build_master,
    check_frames,
    image_statistics,
    normalise_type,
    report_from_dict,
    residual_check,
    validate_master,
    verify_master,
)
from analysis.calibration.verify import residual_rows

SHAPE = (300, 300)
SIGMA = 5.0  # read noise, ADU


def frames_of(n, level=1000.0, sigma=SIGMA, seed=0, shape=SHAPE):
    rng = np.random.default_rng(seed)
    return [rng.normal(level, sigma, shape).astype(np.float32) for _ in range(n)]


def info(name, caltype="bias", exptime=0.0, **kw):
    return FrameInfo(
        name=name,
        shape=kw.pop("shape", SHAPE),
        caltype=caltype,
        instrument=kw.pop("instrument", "DDRAGO1"),
        filter=kw.pop("filter", "g"),
        exptime=exptime,
        date=kw.pop("date", f"2025-03-01T23:0{name[-1]}:00"),
        **kw,
    )


def master_header(caltype="bias", instrument="DDRAGO1", filter_="NONE", date="2025-03-01T23:00:00"):
    return fits.Header(
        {
            "IMAGETYP": f"MASTER {caltype.upper()}",
            "CALTYPE": caltype,
            "INSTRUME": instrument,
            "FILTER": filter_,
            "DATE-OBS": date,
            "BUNIT": "ADU",
        }
    )


# -- frame checks -------------------------------------------------------------------------
def test_imagetyp_spellings():
    assert [
        normalise_type(v) for v in ("Bias Frame", "ZERO", "dark", "Sky Flat", "LIGHT", "foo")
    ] == ["bias", "bias", "dark", "flat", "light", None]


def test_checks_leave_out_bad_frames_with_reasons():
    infos = [
        info("f1", "flat", 2.0),
        info("f2", "flat", 2.0),
        info("f3", "flat", 2.0),
        info("f4", "flat", 2.0, filter="r"),  # mixed filters
        info("f5", "bias", 0.0),  # wrong type
        info("f6", "flat", 0.0),  # no exposure
        info("f7", "flat", 2.0, saturated_fraction=0.2),  # saturated
        info("f8", "flat", 2.0, finite_fraction=0.0),  # all NaN
        info("f9", "flat", 2.0, shape=(10, 10)),  # wrong shape
    ]
    selection = check_frames(infos, "flat", FrameRules())
    assert [f.name for f in selection.good] == ["f1", "f2", "f3"]
    reasons = dict(selection.rejected)
    assert "filter 'r' differs" in reasons["f4"]
    assert "expected 'flat'" in reasons["f5"]
    assert "positive exposure" in reasons["f6"]
    assert "saturated" in reasons["f7"]
    assert "NaN" in reasons["f8"]
    assert "shape (10, 10) differs" in reasons["f9"]
    assert selection.problem is None


def test_too_few_good_frames_says_why():
    selection = check_frames(
        [info("f1"), info("f2", exptime=3.0)], "bias", FrameRules(min_frames=3)
    )
    assert "1 good bias frame(s) of 2, fewer than the minimum of 3" in selection.problem


def test_bias_and_dark_may_mix_filters():
    selection = check_frames(
        [info("f1"), info("f2", filter="r"), info("f3", filter="z")], "bias", FrameRules()
    )
    assert len(selection.good) == 3


# -- building ---------------------------------------------------------------------------
def test_master_bias_is_the_pixelwise_median_with_provenance():
    frames = frames_of(7)
    infos = [info(f"b{k}") for k in range(7)]
    master = build_master(frames, infos, "bias", block_bytes=7 * 300 * 4 * 13)  # uneven blocks
    assert np.array_equal(master.data, np.median(np.stack(frames), axis=0).astype(np.float32))
    header = master.header
    assert header["NCOMBINE"] == 7 and header["COMBMETH"] == "median"
    assert header["IMCMB001"] == "b0" and header["DATE-OBS"] == "2025-03-01T23:00:00"
    assert header["SOFTWARE"].startswith("gic-workbench")
    assert header["IMAGETYP"] == "MASTER BIAS"


class RawCounts:
    """A 16-bit camera's frame that can be read as its raw counts (uint16), as FitsFrame."""

    integer_dtype = np.dtype(np.uint16)

    def __init__(self, data: np.ndarray) -> None:
        self.data, self.shape, self.reads = data, data.shape, set()

    def __getitem__(self, rows):
        return self.data[rows].astype(np.float32)

    def read_into(self, rows, out):
        self.reads.add(out.dtype)
        out[...] = self.data[rows]


@pytest.mark.parametrize("n", [6, 7])
def test_master_bias_of_raw_counts_is_combined_on_uint16_as_numpy_median(n):
    rng = np.random.default_rng(n)
    data = [rng.integers(65000, 65536, SHAPE, dtype=np.uint16) for _ in range(n)]
    frames = [RawCounts(d) for d in data]
    master = build_master(
        frames, [info(f"b{k}") for k in range(n)], "bias", block_bytes=n * 300 * 4 * 13
    )
    assert all(frame.reads == {np.dtype(np.uint16)} for frame in frames)
    assert master.data.dtype == np.float32
    assert np.array_equal(master.data, np.median(np.stack(data), axis=0).astype(np.float32))
    mean = build_master(frames, [info(f"b{k}") for k in range(n)], "bias", method="mean")
    assert frames[0].reads == {np.dtype(np.uint16), np.dtype(np.float32)}  # not for the mean
    assert mean.data.dtype == np.float32


def test_master_bias_noise_is_that_of_a_median():
    master = build_master(frames_of(9), [info(f"b{k}") for k in range(9)], "bias")
    stats = image_statistics(master.data)
    expected = SIGMA * math.sqrt(math.pi / 2 / 9)  # large-n efficiency of the median
    assert abs(stats.rms - expected) < 0.1 * expected


def test_sigma_clipped_mean_option():
    frames = frames_of(5)
    frames[2][50, 50] = 60000
    master = build_master(frames, [info(f"b{k}") for k in range(5)], "bias", method="mean")
    assert abs(master.data[50, 50] - 1000) < 4 * SIGMA
    assert master.header["CLIPSIG"] == 3.0


def test_dark_is_bias_subtracted_and_per_second():
    bias = np.full(SHAPE, 1000.0, np.float32)
    frames = frames_of(5, level=1000 + 2.0 * 30, sigma=1.0, seed=3)  # 2 ADU/s over 30 s
    infos = [info(f"d{k}", "dark", 30.0) for k in range(5)]
    master = build_master(frames, infos, "dark", corrections=Corrections(bias=bias))
    assert abs(np.median(master.data) - 2.0) < 0.01
    assert master.header["BUNIT"] == "ADU/s" and master.header["EXPTIME"] == 1.0


def test_dark_kept_at_its_exposure_time():
    bias = np.full(SHAPE, 1000.0, np.float32)
    frames = frames_of(3, level=1060, sigma=1.0)
    infos = [info(f"d{k}", "dark", 30.0) for k in range(3)]
    master = build_master(
        frames, infos, "dark", corrections=Corrections(bias=bias, per_second=False)
    )
    assert abs(np.median(master.data) - 60) < 0.1 and master.header["EXPTIME"] == 30.0


def test_flat_is_normalised_per_frame_and_to_median_one():
    rng = np.random.default_rng(4)
    response = (1 + 0.05 * np.sin(np.linspace(0, 6, SHAPE[1])))[None, :] * np.ones(SHAPE)
    bias = np.full(SHAPE, 500.0, np.float32)
    dark = np.full(SHAPE, 1.0, np.float32)  # ADU/s
    frames, infos = [], []
    for k, level in enumerate([10000, 20000, 15000, 30000]):
        frames.append(
            (500 + 10 * 1.0 + level * response + rng.normal(0, 3, SHAPE)).astype(np.float32)
        )
        infos.append(info(f"f{k}", "flat", 10.0))
    master = build_master(frames, infos, "flat", corrections=Corrections(bias=bias, dark=dark))
    assert abs(float(np.median(master.data)) - 1) < 1e-6
    assert np.allclose(master.data, response / np.median(response), atol=2e-3)


def test_dark_without_bias_and_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="needs a master bias"):
        build_master(frames_of(3), [info(f"d{k}", "dark", 1.0) for k in range(3)], "dark")
    frames = frames_of(2) + frames_of(1, shape=(10, 10))
    with pytest.raises(ValueError, match=r"b2: shape \(10, 10\), expected \(300, 300\)"):
        build_master(frames, [info(f"b{k}") for k in range(3)], "bias")


# -- validation ---------------------------------------------------------------------------
def test_statistics_of_known_noise_match_the_analytic_values():
    """MEAN, RMS of N(1000, 5) and of the difference of two such images, within 4 sigma."""
    rng = np.random.default_rng(5)
    candidate = rng.normal(1000, SIGMA, SHAPE).astype(np.float32)
    reference = rng.normal(1000, SIGMA, SHAPE).astype(np.float32)
    report = validate_master(
        candidate,
        master_header(),
        reference,
        master_header(),
        limits=Limits((-2, 2), (0, 10)),
        im_name="bias.fits",
    )
    n = candidate.size
    assert abs(report.mean - 1000) < 4 * SIGMA / math.sqrt(n)
    assert abs(report.rms - SIGMA) < 4 * SIGMA / math.sqrt(2 * n)
    assert abs(report.median - 1000) < 4 * 1.2533 * SIGMA / math.sqrt(n)
    sigma_diff = SIGMA * math.sqrt(2)
    assert abs(report.meandiff) < 4 * sigma_diff / math.sqrt(n)
    assert abs(report.rmsdiff - sigma_diff) < 4 * sigma_diff / math.sqrt(2 * n)
    assert report.valid and report.median == float(np.median(candidate))
    assert sum(report.histogram_counts) > 0.99 * n


def test_out_of_limits_is_invalid_with_reasons():
    candidate = np.full(SHAPE, 1005.0, np.float32)
    reference = np.full(SHAPE, 1000.0, np.float32)
    report = validate_master(candidate, master_header(), reference, master_header())
    assert not report.valid
    assert report.reasons == ("MEANDIFF 5 outside [-2, 2]",)
    data = report.to_dict()
    assert data["MEANDIFF"]["errorcode"] == 1 and data["VALID"]["value"] is False


def test_statistics_skip_nan_and_masked_pixels():
    data = np.full(SHAPE, 7.0, np.float32)
    data[:10] = np.nan
    mask = np.zeros(SHAPE, bool)
    mask[10:20] = True
    data[10:20] = 1e9
    stats = image_statistics(data, mask)
    assert (stats.mean, stats.median, stats.rms) == (7.0, 7.0, 0.0)
    assert stats.n_pixels == SHAPE[0] * SHAPE[1] - 20 * SHAPE[1]


def test_flat_validation_uses_the_ratio_centred_on_one():
    rng = np.random.default_rng(6)
    reference = rng.uniform(0.9, 1.1, SHAPE).astype(np.float32)
    candidate = (reference * rng.normal(1, 0.005, SHAPE)).astype(np.float32)
    report = validate_master(
        candidate, master_header("flat", filter_="g"), reference, master_header("flat", filter_="g")
    )
    assert abs(report.meandiff - 1) < 0.001 and abs(report.rmsdiff - 0.005) < 0.0005
    assert report.valid and report.to_dict()["MEANDIFF"]["unit"] == "ratio"


def test_headers_are_checked_before_any_statistic():
    data = np.zeros(SHAPE, np.float32)
    with pytest.raises(HeaderMismatch, match="FILTER 'g' in the candidate, 'r' in the reference"):
        validate_master(
            data, master_header("flat", filter_="g"), data, master_header("flat", filter_="r")
        )
    with pytest.raises(HeaderMismatch, match="type 'dark' in the candidate, 'bias'"):
        validate_master(data, master_header("dark"), data, master_header("bias"))
    with pytest.raises(HeaderMismatch, match=r"shape \(300, 300\) in the candidate, \(10, 10\)"):
        validate_master(data, master_header(), np.zeros((10, 10)), master_header())


def test_first_master_is_valid_when_its_residuals_pass():
    frames = np.stack(frames_of(5))
    residual = residual_check(frames, np.median(frames, axis=0))
    report = validate_master(frames[0], master_header(), None, None, residual=residual)
    assert report.valid and report.meandiff is None
    assert report.to_dict()["RMSDIFF"] == {
        "name": "RMSDIFF",
        "value": None,
        "type": "float",
        "unit": "ADU",
        "errorcode": 3,
    }


# -- residual check (cp_verify) -----------------------------------------------------------
def test_residuals_of_a_good_bias_are_near_zero_and_read_noise():
    frames = frames_of(10, seed=7)
    infos = [info(f"b{k}") for k in range(10)]
    master = build_master(frames, infos, "bias")
    check = verify_master(master.data, frames, infos, "bias")
    assert check.passed, check.reason
    assert abs(check.mean) < 0.1 and abs(check.expected_noise - SIGMA) < 0.1


def test_rows_kept_while_building_give_the_residual_check_of_rows_read_again():
    frames = frames_of(5, seed=11, shape=(700, 40))
    infos = [info(f"b{k}", shape=(700, 40)) for k in range(5)]
    rows = residual_rows(700)  # every 2nd row: the blocks of 37 rows start odd and even
    kept = np.empty((5, len(range(*rows.indices(700))), 40), np.float32)
    master = build_master(
        frames, infos, "bias", block_bytes=5 * 37 * 40 * 4, workers=1, keep=(rows, kept)
    )
    np.testing.assert_array_equal(kept, np.stack([f[rows] for f in frames]))
    assert verify_master(master.data, frames, infos, "bias", corrected=kept) == verify_master(
        master.data, frames, infos, "bias"
    )


def test_residuals_reveal_a_wrong_master():
    frames = frames_of(10, seed=8)
    infos = [info(f"b{k}") for k in range(10)]
    wrong = np.random.default_rng(9).normal(1000, 10, SHAPE).astype(np.float32)
    check = verify_master(wrong, frames, infos, "bias")
    assert not check.passed and "noise" in check.reason


# -- the report ---------------------------------------------------------------------------
def test_report_is_exactly_the_notes_json():
    rng = np.random.default_rng(10)
    data = rng.normal(1000, 1, SHAPE).astype(np.float32)
    header = master_header()
    header["TELESCOP"] = "COLIBRI"
    report = validate_master(
        data,
        header,
        data + 0.5,
        header,
        im_name="bias_DDRAGO1_NONE_20250301.fits",
        origin="OAN/SPM",  # the configuration's, as the header has no ORIGIN
        telescope="elsewhere",  # the header's TELESCOP wins
    )
    out = json.loads(json.dumps(report.to_dict()))
    assert list(out) == list(REPORT_KEYS)
    assert out["TYPE"] == "bias" and out["DATE"] == "2025-03-01T23:00:00"
    assert out["ORIGIN"] == "OAN/SPM" and out["TELESCOP"] == "COLIBRI"
    assert out["INSTRUME"] == "DDRAGO1" and out["FILTER"] == "NONE"
    for key in REPORT_KEYS[7:]:
        assert list(out[key]) == ["name", "value", "type", "unit", "errorcode"]
        assert out[key]["name"] == key
    assert out["MEANDIFF"]["value"] == pytest.approx(-0.5)
    assert out["VALID"] == {
        "name": "VALID",
        "value": True,
        "type": "bool",
        "unit": "",
        "errorcode": 0,
    }
    back = report_from_dict(out)
    assert (back.caltype, back.valid, back.meandiff) == ("bias", True, pytest.approx(-0.5))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("FILTER"), "missing key"),
        (lambda d: d.update(EXTRA=1), "unknown key"),
        (lambda d: d.update(TYPE="light"), "TYPE 'light'"),
        (lambda d: d["MEAN"].pop("unit"), "MEAN must be an object"),
        (lambda d: d["RMS"].update(value="3"), "RMS.value must be a number"),
        (lambda d: d["VALID"].update(value="yes"), "VALID.value must be true or false"),
    ],
)
def test_broken_reports_name_the_key(change, message):
    data = validate_master(
        np.ones(SHAPE, np.float32), master_header(), np.ones(SHAPE, np.float32), master_header()
    ).to_dict()
    change(data)
    with pytest.raises(ValueError, match=message):
        report_from_dict(data)
