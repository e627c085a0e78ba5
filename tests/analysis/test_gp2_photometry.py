"""Stacking, photometry, zero point, limit, subtraction and the summary: known answers."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from analysis.gp2 import (
    PHOTOMETRY_COLUMNS,
    aperture_photometry,
    catalogue_magnitudes,
    find_candidates,
    fit_decay,
    light_curve_table,
    limiting_magnitude,
    locate_transient,
    measure_transient,
    stack_frames,
    subtract_reference,
    zero_point,
)
from analysis.gp2.simulate import render_stars, simulate_burst, transient_mean_mag
from analysis.gp2.summary import detection_position_error, position_scatter


def _header(date: str, exptime: float) -> fits.Header:
    return fits.Header({"DATE-OBS": date, "EXPTIME": exptime, "FILTER": "r"})


def test_median_stack_rejects_an_outlier_and_sets_the_time_keywords():
    frames = [np.full((10, 10), 60.0), np.full((10, 10), 60.0), np.full((10, 10), 60.0)]
    frames[1][5, 5] = 1e6  # a cosmic ray in one frame
    headers = [
        _header("2026-03-14T03:15:00", 60),
        _header("2026-03-14T03:17:00", 60),
        _header("2026-03-14T03:16:00", 60),
    ]
    stack = stack_frames(frames, headers, names=["a", "b", "c"])
    np.testing.assert_allclose(stack.data, 180.0)  # 1 e-/s over 180 s
    h = stack.header
    assert h["EXPTIME"] == 180.0
    assert h["DATE-OBS"] == "2026-03-14T03:15:00.000"
    assert h["DATE-END"] == "2026-03-14T03:18:00.000"
    assert h["MJD-END"] - h["MJD-OBS"] == pytest.approx(180 / 86400)
    assert h["NCOMBINE"] == 3 and h["IMCMB002"] == "b"


def test_median_stack_with_masks_is_numpys_nanmedian_of_the_good_pixels():
    rng = np.random.default_rng(4)
    frames = list(rng.normal(100.0, 10.0, (3, 40, 40)).astype(np.float32))
    masks = list(rng.random((3, 40, 40)) < 0.2)
    masks[0][0, :5] = masks[1][0, :5] = masks[2][0, :5] = True  # no good pixel there
    stack = stack_frames(frames, [_header("2026-03-14T03:15:00", 1.0)] * 3, masks=masks)
    rates = np.where(masks, np.nan, np.stack(frames))
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="All-NaN"):
        expected = np.nanmedian(rates, axis=0) * 3.0
    np.testing.assert_array_equal(stack.mask, np.isnan(expected))
    np.testing.assert_array_equal(stack.data[~stack.mask], expected[~stack.mask])


def test_clipped_mean_stack_of_three_frames_of_0_minus_and_plus_1000():
    frames = [np.zeros((10, 10)), np.full((10, 10), -1000.0), np.full((10, 10), 1000.0)]
    headers = [_header("2026-03-14T03:15:00", 1.0)] * 3
    stack = stack_frames(frames, headers, method="mean", sigma=1.0)
    np.testing.assert_allclose(stack.data, 0.0, atol=1e-3)


def test_stacking_refuses_mixed_shapes():
    with pytest.raises(ValueError, match="share one shape"):
        stack_frames(
            [np.zeros((3, 3)), np.zeros((3, 4))], [_header("2026-01-01T00:00:00", 1.0)] * 2
        )


def test_aperture_photometry_of_a_known_star():
    image = render_stars((60, 60), np.array([30.2]), np.array([29.7]), np.array([1e5]), 3.0)
    table = aperture_photometry(image, [30.2], [29.7], radius=9.0, rms=1.0)
    assert table["flux"][0] == pytest.approx(1e5, rel=1e-3)
    assert table["flux_err"][0] == pytest.approx(np.sqrt(1e5 + np.pi * 81), rel=0.02)


def test_zero_point_and_limit_of_known_stars():
    flux = np.array([1e4, 1e5, 1e6, 3e3])
    mags = 25.0 - 2.5 * np.log10(flux)
    zp = zero_point(flux, np.sqrt(flux), mags)
    assert zp.value == pytest.approx(25.0, abs=1e-9)
    assert zp.n_stars == 4
    limit = limiting_magnitude(10.0, 3.0, 25.0, nsigma=5.0)
    assert limit == pytest.approx(25.0 - 2.5 * np.log10(5 * 10 * np.sqrt(np.pi * 9)))


def test_catalogue_columns_by_filter_name():
    cat = Table({"RA": [1.0], "Dec": [2.0], "g": [15.0], "r_mag": [14.5]})
    assert catalogue_magnitudes(cat, "g")[2][0] == 15.0
    assert catalogue_magnitudes(cat, "r")[2][0] == 14.5
    with pytest.raises(ValueError, match="no magnitude for filter 'z' column"):
        catalogue_magnitudes(cat, "z")


def test_subtraction_finds_the_new_source_and_masks_the_known_ones():
    rng = np.random.default_rng(7)
    x, y = rng.uniform(10, 110, 20), rng.uniform(10, 110, 20)
    flux = rng.uniform(1e4, 1e5, 20)
    keep = np.hypot(x - 60.0, y - 61.0) > 15  # an empty place for the new source
    x, y, flux = x[keep], y[keep], flux[keep]
    reference = render_stars((120, 120), x, y, 2 * flux, 2.5)  # twice as deep, sharper
    science = render_stars(
        (120, 120), np.append(x, 60.0), np.append(y, 61.0), np.append(flux, 2e4), 3.5
    )
    science = rng.normal(science, 5.0).astype(np.float32)
    difference = subtract_reference(
        science, reference, science_fwhm=3.5, reference_fwhm=2.5, scale=0.5
    )
    assert difference.rms == pytest.approx(5.0, rel=0.2)
    candidates = find_candidates(difference, threshold=5, known_x=x, known_y=y, known_radius=5.0)
    assert len(candidates) == 1
    assert candidates["x"][0] == pytest.approx(60.0, abs=0.3)
    assert candidates["y"][0] == pytest.approx(61.0, abs=0.3)
    measured = measure_transient(
        difference.data, 60.0, 61.0, radius=8.0, rms=difference.rms, zp=25.0, zp_err=0.0, limit=22.0
    )
    assert measured.detected
    assert measured.mag == pytest.approx(25.0 - 2.5 * np.log10(2e4), abs=0.01)


def test_an_undetected_transient_is_an_upper_limit():
    measured = measure_transient(
        np.zeros((30, 30), np.float32), 15, 15, radius=3, rms=10.0, zp=25.0, zp_err=0.01, limit=21.5
    )
    assert not measured.detected
    assert (measured.mag, measured.mag_err) == (21.5, 0.0)


def test_the_transient_is_the_candidate_seen_in_most_images():
    lists = [
        (np.array([10.0, 10.01]), np.array([20.0, 20.01])),
        (np.array([10.00002]), np.array([20.0])),
        (np.array([10.5]), np.array([20.5])),
    ]
    ra, dec, n = locate_transient(lists, radius_arcsec=2.0)
    assert n == 2 and ra == pytest.approx(10.00001, abs=1e-5) and dec == pytest.approx(20.0)
    assert locate_transient([(np.zeros(0), np.zeros(0))]) is None


def test_the_position_error_is_the_matched_candidates_scatter_with_the_alignment_residual():
    lists = [
        (np.array([10.0, 10.01]), np.array([20.0 + 0.5 / 3600, 20.01])),
        (np.array([10.0]), np.array([20.0 - 0.5 / 3600])),
        (np.array([10.5]), np.array([20.5])),
    ]
    scatter = position_scatter(lists, 10.0, 20.0, radius_arcsec=2.0)
    assert scatter == pytest.approx(np.sqrt(0.5), rel=1e-6)  # two at 0.5", one degree used
    assert np.isnan(position_scatter(lists[:1], 10.0, 20.0))
    assert detection_position_error(0.3, 0.2, 2.0) == pytest.approx(0.5)
    assert detection_position_error(np.nan, 0.2, 2.0) == pytest.approx(0.4)
    assert np.isnan(detection_position_error(np.nan, 0.0, 2.0))


def test_photometry_table_has_exactly_the_products_columns():
    row = {
        "image_id": "a",
        "filter": "g",
        "t_start": "2026-03-14T03:15:05.000",
        "t_end": "2026-03-14T03:16:05.000",
        "exptime": 60.0,
        "mag": 17.1,
        "mag_err": 0.02,
        "limit_mag": 20.5,
        "detected": True,
        "ra": 150.0,
        "dec": 20.0,
    }
    table = light_curve_table([row])
    assert tuple(table.colnames) == PHOTOMETRY_COLUMNS
    assert table["detected"][0] == 1
    with pytest.raises(ValueError, match="photometry row a: missing"):
        light_curve_table([{k: v for k, v in row.items() if k != "mag"}])


def test_decay_fit_recovers_a_known_index_from_exposure_means_at_mid_exposure():
    rng = np.random.default_rng(11)
    starts = np.geomspace(120, 5000, 12)
    ends = starts + 60
    filters = ["g", "i"] * 6
    truth = np.array(
        [
            transient_mean_mag(17.0 - 0.4 * (f == "i"), 300, 1.7, a, b)
            for a, b, f in zip(starts, ends, filters, strict=True)
        ]
    )
    errors = np.full(12, 0.03)
    fit = fit_decay(starts, ends, truth + rng.normal(0, 0.03, 12), errors, filters)
    assert abs(fit.index - 1.7) < 2 * fit.index_err
    # mid-exposure times (the one convention): the mean of t^-1.7 over a 60 s exposure is
    # not its value at mid-exposure, which biases α by less than one σ here
    exact = fit_decay(starts, ends, truth, errors, filters)
    assert exact.index == pytest.approx(1.7, abs=min(0.01, fit.index_err))


def test_simulated_burst_is_reproducible_and_consistent():
    a = simulate_burst(seed=4, size=128, n_stars=30, n_epochs=2)
    b = simulate_burst(seed=4, size=128, n_stars=30, n_epochs=2)
    assert len(a.frames) == 4
    assert all(np.array_equal(f.data, g.data) for f, g in zip(a.frames, b.frames, strict=True))
    assert a.frames[0].data.dtype == np.uint16
    header = a.frames[0].header
    assert {"TRGID", "INSTRUME", "FILTER", "EXPTIME", "DATE-OBS", "CTYPE1", "OBSERVER"} <= set(
        header
    )
    assert set(a.catalogue.colnames) == {"ra", "dec", "g", "i"}
    assert a.truth["mag"][2] > a.truth["mag"][0]  # fading
