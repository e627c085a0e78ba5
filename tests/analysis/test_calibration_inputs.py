"""What goes into a master: the masters it subtracts, the CCD temperature, the limits that
judge it against its reference, the difference histogram's bins and the quadrants' levels."""

import math

import numpy as np
import pytest
from astropy.io import fits

from analysis.calibration import (
    DEFAULT_LIMITS,
    FrameRules,
    HeaderMismatch,
    Limits,
    build_master,
    check_frames,
    correction_problems,
    difference_histogram,
    quadrant_levels,
    temperature_problems,
    validate_master,
)
from tests.analysis.test_calibration import SHAPE, frames_of, info, master_header


# -- the masters a build subtracts --------------------------------------------------------
def _given(imagetyp="Bias Frame", **cards):
    header = fits.Header({"IMAGETYP": imagetyp, "XBINNING": 1, "YBINNING": 1})
    header.update(cards)
    return header


def test_a_dark_given_as_the_bias_is_refused_with_both_types_named():
    series = info("d1", "dark", 30.0, binning=(1, 1))
    problems, _ = correction_problems(
        _given("Dark Frame", INSTRUME="DDRAGO1"), SHAPE, "bias", series
    )
    assert problems == ["IMAGETYP 'Dark Frame' is a dark, expected a bias"]
    problems, _ = correction_problems(_given("LIGHT", INSTRUME="DDRAGO1"), SHAPE, "dark", series)
    assert problems == ["IMAGETYP 'LIGHT' is a light, expected a dark"]
    header = _given("whatever", INSTRUME="DDRAGO1", FRAMETYP="zero")
    problems, _ = correction_problems(header, SHAPE, "bias", series, type_key="FRAMETYP")
    assert problems == []  # the configured keyword is read first


def test_another_camera_binning_or_shape_is_refused_with_both_values_named():
    series = info("d1", "dark", 30.0, binning=(3, 3))
    header = _given(INSTRUME="CAGIRE", XBINNING=2, YBINNING=2)
    problems, _ = correction_problems(header, (10, 20), "bias", series)
    assert problems == [
        "INSTRUME 'CAGIRE' in the master bias, 'DDRAGO1' in the frames",
        "binning 2x2 in the master bias, 3x3 in the frames",
        f"shape (10, 20) in the master bias, {SHAPE} in the frames",
    ]


def test_what_the_master_does_not_say_is_noted_not_refused():
    series = info("d1", "dark", 30.0, binning=(3, 3))
    problems, unchecked = correction_problems(
        fits.Header({"IMAGETYP": "BIAS"}), SHAPE, "bias", series
    )
    assert problems == []
    assert unchecked == [
        "the master bias has no INSTRUME: instrument not checked",
        "the master bias has no binning: binning not checked",
    ]


# -- temperature --------------------------------------------------------------------------
def test_frames_beyond_the_tolerance_of_the_series_are_left_out_with_the_reason():
    temperatures = [-7.0, -7.2, -6.9, -3.0, math.nan]
    infos = [info(f"d{k}", "dark", 30.0, temperature=t) for k, t in enumerate(temperatures)]
    rules = FrameRules(temperature_tolerance=1.0)
    selection = check_frames(infos, "dark", rules)
    assert [f.name for f in selection.good] == ["d0", "d1", "d2"]
    assert dict(selection.rejected) == {
        "d3": "CCD-TEMP -3 °C, 3.95 °C from the series' median -6.95 °C (tolerance 1 °C)",
        "d4": "no CCD-TEMP, while the series' frames have one",
    }
    assert check_frames(infos, "dark", FrameRules()).rejected == ()  # not checked


def test_frames_of_another_binning_are_left_out():
    infos = [info(f"b{k}", binning=(1, 1)) for k in range(3)] + [info("b9", binning=(2, 2))]
    assert check_frames(infos, "bias", FrameRules()).rejected == (
        ("b9", "binning (2, 2) differs from the series' (1, 1)"),
    )


def test_the_master_records_the_inputs_temperature_and_binning():
    temperatures = [-7.0, -7.5, -6.5]
    infos = [info(f"b{k}", temperature=t, binning=(3, 3)) for k, t in enumerate(temperatures)]
    header = build_master(frames_of(3), infos, "bias").header
    assert (header["CCD-TEMP"], header["TEMP-MIN"], header["TEMP-MAX"]) == (-7.0, -7.5, -6.5)
    assert (header["XBINNING"], header["YBINNING"]) == (3, 3)
    header = build_master(frames_of(3), [info(f"b{k}") for k in range(3)], "bias").header
    assert "CCD-TEMP" not in header and "XBINNING" not in header  # the frames said nothing


def _warm(caltype="dark", temperature=-7.0, **cards):
    header = master_header(caltype)
    header["CCD-TEMP"] = temperature
    header.update(cards)
    return header


def test_a_reference_or_a_bias_at_another_temperature_makes_the_report_invalid():
    data = np.full(SHAPE, 0.03, np.float32)
    absolute = Limits((-1.0, 1.0), (0.0, 1.0))  # the reference has no noise to scale by
    report = validate_master(
        data,
        _warm(BIASTEMP=-10.0),
        data,
        _warm(temperature=-1.0),
        limits=absolute,
        temperature_tolerance=2.0,
    )
    assert not report.valid
    assert report.reasons == (
        "CCD-TEMP -7 °C here, -1 °C in the reference: 6 °C apart, more than the tolerance of 2 °C",
        "CCD-TEMP -7 °C here, -10 °C in the master bias subtracted (BIASTEMP): 3 °C apart, "
        "more than the tolerance of 2 °C",
    )
    assert (report.temperature, report.reference_temperature) == (-7.0, -1.0)
    assert validate_master(
        data, _warm(), data, _warm(temperature=-8.0), limits=absolute, temperature_tolerance=2
    ).valid
    assert temperature_problems(master_header(), _warm(), tolerance=2.0) == []  # unknown


# -- limits that see something ------------------------------------------------------------
def _dark(level, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(level, 0.01, SHAPE).astype(np.float32)


def test_dark_defaults_flag_a_20_percent_change_that_an_absolute_window_misses():
    reference = _dark(0.03, 1)
    header = master_header("dark")
    assert validate_master(_dark(0.031, 2), header, reference, header).valid
    report = validate_master(_dark(0.03 * 1.25, 2), header, reference, header)
    assert not report.valid and report.reasons[0].startswith("MEANDIFF 0.0075")
    assert "(-0.2 to 0.2 × the reference's MEAN)" in report.reasons[0]
    assert report.limits.meandiff == pytest.approx((-0.006, 0.006), rel=1e-2)
    assert report.limit_rule == DEFAULT_LIMITS["dark"]
    assert report.reference_level == pytest.approx(0.03, rel=1e-2)
    absolute = Limits(meandiff=(-2.0, 2.0), rmsdiff=(0.0, 3.0))  # the old window: blind
    assert validate_master(_dark(0.03 * 1.25, 2), header, reference, header, limits=absolute).valid


def test_noise_limits_scale_with_the_reference_rms():
    header = master_header()
    reference = frames_of(1, sigma=2.0, seed=1)[0]
    noise = Limits((-0.5, 0.5), (0.0, 2.0), "noise", "noise")
    assert validate_master(
        frames_of(1, sigma=2.0, seed=2)[0], header, reference, header, limits=noise
    ).valid
    report = validate_master(
        frames_of(1, level=1002, sigma=2.0, seed=2)[0], header, reference, header, limits=noise
    )
    assert report.reasons[0].startswith("MEANDIFF 2") and report.limits.meandiff[
        1
    ] == pytest.approx(1, rel=0.02)


def test_a_relative_limit_on_a_reference_of_level_zero_says_so():
    header = master_header("dark")
    zero = np.zeros(SHAPE, np.float32)
    report = validate_master(zero, header, zero, header)
    assert report.reasons[0] == (
        "MEANDIFF limit is relative, and the reference's level (MEAN) is not positive"
    )
    with pytest.raises(ValueError, match="limit mode 'percent' is not one of"):
        Limits(meandiff=(0, 1), rmsdiff=(0, 1), meandiff_mode="percent")


# -- ORIGIN and TELESCOP ------------------------------------------------------------------
def test_origin_and_telescope_come_from_the_header_or_the_settings_never_a_constant():
    data = np.full(SHAPE, 1000.0, np.float32)
    bare = validate_master(data, master_header(), data, master_header())
    assert (bare.origin, bare.telescop) == ("", "")
    given = validate_master(data, master_header(), data, master_header(), origin="X", telescope="Y")
    assert (given.origin, given.telescop) == ("X", "Y")
    header = master_header()
    header.update({"ORIGIN": "LCO", "TELESCOP": "1m0-04"})
    framed = validate_master(data, header, data, header, origin="X", telescope="Y")
    assert (framed.origin, framed.telescop) == ("LCO", "1m0-04")


# -- the difference histogram and the quadrants -------------------------------------------
def test_histogram_bins_follow_the_half_adu_steps_of_medians_of_counts():
    rng = np.random.default_rng(3)
    values = (np.round(rng.normal(0, 20, 400_000) * 2) / 2).astype(np.float32)  # 0.5 ADU steps
    counts, edges = difference_histogram(values, 0.0, 20.0)
    widths = np.diff(edges)
    assert np.allclose(widths, widths[0]) and widths[0] % 0.5 == 0 and widths[0] >= 0.5
    assert np.allclose(((edges + 0.25) / 0.5) % 1, 0)  # edges halfway between the steps
    middle = counts[len(counts) // 2 - 5 : len(counts) // 2 + 5]
    assert middle.min() > 0.8 * middle.max()  # no comb: every bin holds as many steps
    continuous = rng.normal(0, 1, 10_000).astype(np.float32)
    assert difference_histogram(continuous, 0.0, 1.0)[1].size == 201


def test_quadrant_levels_show_a_flat_tilt_its_median_hides():
    tilt = np.ones(SHAPE, np.float32) * np.linspace(0.9, 1.1, SHAPE[1], dtype=np.float32)
    low_left, low_right, high_left, high_right = quadrant_levels(tilt)
    assert low_right - low_left == pytest.approx(0.1, abs=0.01)
    assert (low_left, low_right) == (high_left, high_right)
    report = validate_master(tilt, master_header("flat"), None, None)
    assert report.quadrant_spread == pytest.approx(0.1, abs=0.01)


def test_a_reference_of_another_binning_is_refused_before_any_statistic():
    data = np.full(SHAPE, 1000.0, np.float32)
    new, ref = master_header(), master_header()
    new.update({"XBINNING": 1, "YBINNING": 1})
    ref.update({"XBINNING": 2, "YBINNING": 2})
    with pytest.raises(HeaderMismatch, match="binning '1x1' in the candidate, '2x2' in the"):
        validate_master(data, new, data, ref)
