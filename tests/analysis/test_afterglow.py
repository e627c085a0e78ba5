"""The one afterglow model: a power law fitted per filter and jointly, at mid-exposure."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.afterglow import (
    DecayFit,
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
