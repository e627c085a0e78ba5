"""The temporal decay of an afterglow: a power law F ∝ (t - T0)^-α fitted per filter.

In AB magnitudes the power law is a straight line in log time,
``mag(t) = M1 + 2.5 α log10((t - T0) / 1 s)``; :func:`fit_decay` fits it with
:func:`scipy.optimize.curve_fit` to the detections, weighted by their errors
(absolute sigma), so the covariance gives the error of α (ERFITINDEX). α > 0 is a
fading source. The normalisation is given as the flux density at t - T0 = 1 s
(FITNORM, µJy), so that F(t) = FITNORM · (t / 1 s)^-α.

There is no fit (``valid`` False, every number 0, as the products want no NaN) with
fewer than :data:`MIN_DETECTIONS` detections, or when the fit does not converge or
its covariance cannot be estimated (scipy's OptimizeWarning, the notes' "mettre nul
sur OptimizeWarning").
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

MIN_DETECTIONS = 2
MIN_MAG_ERR = 0.01
"""Magnitude errors below this (mag) are raised to it before weighting."""
AB_ZERO_POINT_UJY = 23.9
"""AB magnitude of a 1 µJy source."""
MIN_FIT_MAG, MAX_FIT_MAG, MAX_INDEX = -30.0, 60.0, 20.0
"""A fit whose magnitude at 1 s or whose index leaves these bounds has run away (no fit)."""


@dataclass(frozen=True)
class DecayFit:
    """A power-law fit of one filter's light curve.

    Attributes
    ----------
    n_points : int
        Detections fitted.
    t_first, t_last : float
        First and last fitted time after T0 (mid-exposure), s (TFITSTART, TFITSTOP).
    norm_ujy : float
        Flux density of the fit at t - T0 = 1 s, µJy (FITNORM).
    index, index_err : float
        Decay index α and its 1σ error (FITINDEX, ERFITINDEX); α > 0 fades.
    chi2 : float
        χ² of the fit (FITCHI2), with ``n_points - 2`` degrees of freedom.
    valid : bool
        False when no fit could be made; then the numbers are 0 and ``reason`` says why.
    reason : str
    """

    n_points: int
    t_first: float
    t_last: float
    norm_ujy: float = 0.0
    index: float = 0.0
    index_err: float = 0.0
    chi2: float = 0.0
    valid: bool = False
    reason: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def magnitude(self, t_s: np.ndarray) -> np.ndarray:
        """The fitted AB magnitude at times ``t_s`` after T0 (s), for drawing the fit."""
        m1 = AB_ZERO_POINT_UJY - 2.5 * np.log10(self.norm_ujy)
        return m1 + 2.5 * self.index * np.log10(np.asarray(t_s, dtype=float))


def _model(log_t: np.ndarray, m1: float, alpha: float) -> np.ndarray:
    return m1 + 2.5 * alpha * log_t


def _no_fit(n: int, t: np.ndarray, reason: str) -> DecayFit:
    first, last = (float(t.min()), float(t.max())) if t.size else (0.0, 0.0)
    return DecayFit(n_points=n, t_first=first, t_last=last, reason=reason)


def fit_decay(t_s: np.ndarray, mag: np.ndarray, mag_err: np.ndarray) -> DecayFit:
    """Fit F ∝ (t - T0)^-α to detections of one filter.

    Parameters
    ----------
    t_s : ndarray
        Times after T0, s (mid-exposure); points at or before T0 are left out.
    mag, mag_err : ndarray
        AB magnitudes of the detections and their 1σ errors, mag.

    Returns
    -------
    DecayFit
        ``valid`` False (numbers 0) with fewer than 2 usable detections, or when the fit does
        not converge or its covariance cannot be estimated.

    Examples
    --------
    >>> t = np.array([100.0, 1000.0, 10000.0])
    >>> fit = fit_decay(t, 15 + 2.5 * 1.2 * np.log10(t), np.full(3, 0.05))
    >>> round(fit.index, 6)
    1.2
    """
    t_s, mag, mag_err = (np.asarray(a, dtype=float) for a in (t_s, mag, mag_err))
    usable = (t_s > 0) & np.isfinite(t_s) & np.isfinite(mag) & np.isfinite(mag_err)
    t_s, mag, mag_err = t_s[usable], mag[usable], np.maximum(mag_err[usable], MIN_MAG_ERR)
    n = int(t_s.size)
    if n < MIN_DETECTIONS:
        return _no_fit(n, t_s, f"{n} detection(s) after T0, at least {MIN_DETECTIONS} needed")
    log_t = np.log10(t_s)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OptimizeWarning)
        try:
            params, cov = curve_fit(
                _model,
                log_t,
                mag,
                p0=(float(np.median(mag)), 1.0),
                sigma=mag_err,
                absolute_sigma=True,
            )
        except (OptimizeWarning, RuntimeError, ValueError, np.linalg.LinAlgError) as exc:
            return _no_fit(n, t_s, f"no convergence: {exc}")
    index_err = float(np.sqrt(cov[1, 1])) if np.isfinite(cov[1, 1]) else float("nan")
    if not np.all(np.isfinite(params)) or not np.isfinite(index_err):
        return _no_fit(n, t_s, "no convergence: the covariance could not be estimated")
    if not (MIN_FIT_MAG < params[0] < MAX_FIT_MAG and abs(params[1]) < MAX_INDEX):
        return _no_fit(
            n, t_s, f"no convergence: the fit ran away (M1={params[0]:.3g}, alpha={params[1]:.3g})"
        )
    chi2 = float(np.sum(((mag - _model(log_t, *params)) / mag_err) ** 2))
    return DecayFit(
        n_points=n,
        t_first=float(t_s.min()),
        t_last=float(t_s.max()),
        norm_ujy=float(10 ** ((AB_ZERO_POINT_UJY - params[0]) / 2.5)),
        index=float(params[1]),
        index_err=index_err,
        chi2=chi2,
        valid=True,
    )
