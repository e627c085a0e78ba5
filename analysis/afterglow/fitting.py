"""The weighted fit both laws share: which detections are usable, why they cannot be
fitted, and :func:`scipy.optimize.curve_fit` with absolute sigma, its errors scaled by
√(χ²/dof) when that exceeds 1."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

MIN_DETECTIONS = 2
MIN_FIT_MAG, MAX_FIT_MAG, MAX_INDEX = -30.0, 60.0, 20.0
"""A fit whose magnitude at 1 s or whose index leaves these bounds has run away (no fit)."""


def _usable(
    t_s: np.ndarray, mag: np.ndarray, mag_err: np.ndarray, window_s: tuple[float, float] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The detections after T0 with finite numbers, inside the window when one is given."""
    t_s, mag, mag_err = (np.asarray(a, dtype=float) for a in (t_s, mag, mag_err))
    usable = (t_s > 0) & np.isfinite(t_s) & np.isfinite(mag) & np.isfinite(mag_err)
    if window_s is not None:
        usable &= (t_s >= window_s[0]) & (t_s <= window_s[1])
    return t_s[usable], mag[usable], mag_err[usable]


def _problem(t_s: np.ndarray, mag_err: np.ndarray, needed: int) -> str:
    """Why these detections cannot be fitted with ``needed`` parameters ('' when they can)."""
    n = int(t_s.size)
    if n < max(needed, MIN_DETECTIONS):
        return f"{n} detection(s) after T0, at least {max(needed, MIN_DETECTIONS)} needed"
    if np.any(mag_err <= 0):
        at = ", ".join(f"{t:g}" for t in t_s[mag_err <= 0])
        return f"magnitude error not positive at t = {at} s"
    if np.unique(t_s).size < needed:
        return f"{np.unique(t_s).size} distinct time(s), {needed} parameters: degenerate fit"
    return ""


def _weighted_fit(model, t_s, mag, mag_err, p0, bounds=(-np.inf, np.inf)):
    """curve_fit with absolute sigma; parameters, errors scaled by √(χ²/dof) when above 1,
    χ² and χ²/dof. Raises RuntimeError when the fit or its covariance fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", OptimizeWarning)
        try:
            params, cov = curve_fit(
                model, t_s, mag, p0=p0, sigma=mag_err, absolute_sigma=True, bounds=bounds
            )
        except (OptimizeWarning, ValueError, np.linalg.LinAlgError) as exc:
            raise RuntimeError(str(exc)) from None
    errors = np.sqrt(np.diag(cov))
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(errors))):
        raise RuntimeError("the covariance could not be estimated")
    chi2 = float(np.sum(((mag - model(t_s, *params)) / mag_err) ** 2))
    dof = t_s.size - len(p0)
    reduced = chi2 / dof if dof > 0 else 0.0
    return params, errors * np.sqrt(max(reduced, 1.0)), chi2, reduced
