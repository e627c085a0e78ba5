"""The one afterglow model: a power law fitted per filter and jointly, at mid-exposure."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.afterglow import (
    SMOOTHNESS,
    DecayFit,
    broken_magnitude,
    fit_broken_decay,
    fit_decay,
    fit_filters,
    fit_joint_decay,
    mid_exposure,
    model_magnitude,
)

TIMES = np.geomspace(120.0, 20000.0, 10)
OFFSETS = {"g": 9.0, "i": 8.4}


def light_curve(index: float, *, noise: float = 0.0, seed: int = 3):
    """Two filters sampled alternately, magnitudes of the power law plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    t = np.concatenate([TIMES, TIMES * 1.1])
    filters = ["g"] * len(TIMES) + ["i"] * len(TIMES)
    mag = model_magnitude(t, np.array([OFFSETS[f] for f in filters]), index)
    return t, mag + rng.normal(0.0, noise, len(t)), filters


def test_mid_exposure_is_the_middle_of_each_exposure():
    np.testing.assert_allclose(mid_exposure([100.0, 200.0], [160.0, 200.0]), [130.0, 200.0])


def test_a_generated_decay_with_index_1_7_comes_back_within_2_sigma():
    t, mag, filters = light_curve(1.7, noise=0.05)
    errors = np.full(len(t), 0.05)
    for name, fit in fit_filters(t, mag, errors, filters).items():
        assert fit.valid, name
        assert abs(fit.index - 1.7) < 2 * fit.index_err
    joint = fit_joint_decay(t, mag, errors, filters)
    assert abs(joint.index - 1.7) < 2 * joint.index_err


def test_joint_and_per_filter_fits_agree_on_noiseless_data():
    t, mag, filters = light_curve(1.3)
    errors = np.full(len(t), 0.05)
    per_filter = fit_filters(t, mag, errors, filters)
    joint = fit_joint_decay(t, mag, errors, filters)
    assert joint.index == pytest.approx(1.3, abs=1e-9)
    assert joint.chi2 == pytest.approx(0.0, abs=1e-12)
    assert joint.ndof == len(t) - 3
    for name, fit in per_filter.items():
        assert fit.index == pytest.approx(joint.index, abs=1e-6)
        np.testing.assert_allclose(
            fit.magnitude(t[:3]),
            model_magnitude(t[:3], joint.offsets[name], joint.index),
            atol=1e-6,
        )


def test_the_normalisation_is_the_flux_density_at_one_second():
    fit = fit_decay(TIMES, model_magnitude(TIMES, 23.9, 1.0), np.full(len(TIMES), 0.05))
    assert fit.norm_ujy == pytest.approx(1.0, rel=1e-6)
    assert (fit.t_first, fit.t_last) == (TIMES[0], TIMES[-1])


def test_no_per_filter_fit_below_two_detections_and_the_reason_says_so():
    fit = fit_decay(TIMES[:1], np.array([16.0]), np.array([0.05]))
    assert fit == DecayFit(n_points=1, t_first=TIMES[0], t_last=TIMES[0], reason=fit.reason)
    assert "at least 2 needed" in fit.reason


def test_the_joint_fit_rejects_times_before_t0_and_too_few_points():
    with pytest.raises(ValueError, match="times after T0"):
        fit_joint_decay([-1.0, 10.0, 100.0], [16.0, 17.0, 18.0], [0.05] * 3)
    with pytest.raises(ValueError, match="at least 4 points, got 3"):
        fit_joint_decay([1.0, 10.0, 100.0], [16.0, 17.0, 18.0], [0.05] * 3, ["g", "g", "i"])


# -- honest errors, windows, the broken law -------------------------------------------------
#: A night's cadence: dense the first hour, a gap (day, orbit), then sparse nights.
CADENCE = np.concatenate(
    [np.geomspace(60.0, 6000.0, 20), np.geomspace(1.2e4, 9e4, 10), np.geomspace(1.5e5, 5e5, 6)]
)
SEEDS = range(12)


def assert_recovered(pulls: list[tuple[float, ...]]) -> None:
    """Each parameter within 2σ of its truth in at least 10 of the 12 seeds and within 3.5σ
    in all: what Gaussian errors give (2σ is missed once in 22), not a lucky seed."""
    pulls = np.abs(np.asarray(pulls))
    assert np.all(np.sum(pulls < 2, axis=0) >= len(pulls) - 2), pulls
    assert np.all(pulls < 3.5), pulls


def observed(truth: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Magnitudes with noise that grows as the source fades (0.02 mag at 16, 0.1 mag at 20),
    and their errors."""
    rng = np.random.default_rng(seed)
    errors = 0.02 + 0.08 * 10 ** (0.4 * (truth - 20.0))
    return truth + rng.normal(0.0, errors), errors


def test_errors_are_scaled_by_the_root_of_the_reduced_chi2_when_the_scatter_is_larger():
    truth = model_magnitude(CADENCE, 9.0, 1.2)
    rng = np.random.default_rng(7)
    mag = truth + rng.normal(0.0, 0.3, CADENCE.size)  # 0.3 mag scatter, 0.03 mag claimed
    fit = fit_decay(CADENCE, mag, np.full(CADENCE.size, 0.03))
    honest = fit_decay(CADENCE, mag, np.full(CADENCE.size, 0.3))
    assert fit.chi2_reduced == pytest.approx(fit.chi2 / (CADENCE.size - 2))
    assert fit.chi2_reduced > 50
    raw = 0.1 * honest.index_err / np.sqrt(max(honest.chi2_reduced, 1.0))  # errors ÷ 10
    assert fit.index_err == pytest.approx(raw * np.sqrt(fit.chi2_reduced), rel=1e-6)
    assert abs(fit.index - 1.2) < 2 * fit.index_err


def test_the_joint_error_is_scaled_by_the_root_of_the_reduced_chi2_like_the_per_filter_ones():
    t, mag, filters = light_curve(1.2, noise=0.3, seed=7)  # 0.3 mag scatter, 0.03 mag claimed
    fit = fit_joint_decay(t, mag, np.full(len(t), 0.03), filters)
    honest = fit_joint_decay(t, mag, np.full(len(t), 0.3), filters)
    assert fit.chi2_reduced == pytest.approx(fit.chi2 / fit.ndof)
    assert fit.chi2_reduced > 50
    raw = 0.1 * honest.index_err / np.sqrt(max(honest.chi2_reduced, 1.0))  # errors ÷ 10
    assert fit.index_err == pytest.approx(raw * np.sqrt(fit.chi2_reduced), rel=1e-6)
    assert abs(fit.index - 1.2) < 2 * fit.index_err


def test_a_single_power_law_is_recovered_within_2_sigma_and_preferred():
    pulls = []
    for seed in SEEDS:
        fit = fit_decay(CADENCE, *observed(model_magnitude(CADENCE, 9.0, 1.25), seed))
        assert fit.valid and not fit.prefers_broken, seed
        pulls.append(((fit.index - 1.25) / fit.index_err,))
    assert_recovered(pulls)


def test_a_broken_power_law_is_recovered_within_2_sigma_and_preferred():
    truth = broken_magnitude(CADENCE, 17.0, np.log10(8000.0), 0.6, 1.7)
    pulls = []
    for seed in SEEDS:
        fit = fit_decay(CADENCE, *observed(truth, seed))
        broken = fit.broken
        assert fit.prefers_broken and broken.bic < fit.bic, seed
        pulls.append(
            (
                (broken.index1 - 0.6) / broken.index1_err,
                (broken.index2 - 1.7) / broken.index2_err,
                (broken.t_break - 8000.0) / broken.t_break_err,
            )
        )
    assert_recovered(pulls)


def test_a_rise_to_a_decay_is_a_broken_law_with_its_indices_in_time_order():
    truth = broken_magnitude(CADENCE, 16.0, np.log10(600.0), -1.0, 1.1)
    broken = fit_broken_decay(CADENCE, *observed(truth, 1))
    assert broken.valid and broken.index1 < 0 < broken.index2
    assert abs(broken.t_break - 600.0) < 2 * broken.t_break_err


def test_the_window_leaves_out_the_points_outside_it():
    mag = broken_magnitude(CADENCE, 17.0, np.log10(8000.0), 0.6, 1.7)
    late = fit_decay(CADENCE, mag, np.full(CADENCE.size, 0.05), window_s=(5e4, 1e6))
    assert late.t_first >= 5e4 and late.n_points == int(np.sum(CADENCE >= 5e4))
    assert late.index == pytest.approx(1.7, abs=0.05)  # the late decay, not an average
    whole = fit_decay(CADENCE, mag, np.full(CADENCE.size, 0.05))
    assert whole.index < 1.5


def test_degenerate_fits_are_invalid():
    same_time = fit_decay(np.array([300.0, 300.0]), np.array([17.0, 17.3]), np.full(2, 0.05))
    assert not same_time.valid and "degenerate" in same_time.reason
    near = fit_decay(np.array([300.0, 300.0 + 1e-9]), np.array([17.0, 17.3]), np.full(2, 0.05))
    assert not near.valid
    zero = fit_decay(CADENCE[:3], np.array([17.0, 17.3, 17.5]), np.array([0.05, 0.0, 0.05]))
    assert not zero.valid and "not positive" in zero.reason
    few = fit_broken_decay(CADENCE[:5], model_magnitude(CADENCE[:5], 9.0, 1.0), np.full(5, 0.05))
    assert not few.valid and "at least 6 needed" in few.reason


def test_the_fit_says_which_model_in_its_dict():
    mag = broken_magnitude(CADENCE, 17.0, np.log10(8000.0), 0.6, 1.7)
    data = fit_decay(CADENCE, mag, np.full(CADENCE.size, 0.05)).to_dict()
    assert data["model"] == "broken" and data["broken"]["smoothness"] == SMOOTHNESS
