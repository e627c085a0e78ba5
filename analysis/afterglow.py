"""The afterglow of a burst: one power law F ∝ (t - T0)^-α, fitted per filter or jointly.

In AB magnitudes the power law is a straight line in log time,
``mag(t) = m_f + 2.5 α log10((t - T0) / 1 s)``, with ``m_f`` the filter's magnitude at
t - T0 = 1 s. α > 0 is a fading source.

Times are mid-exposure, in seconds after T0, everywhere (:func:`mid_exposure`): the QTI
product, the Reprocess page and the GP2 summary give the same α for the same photometry.

Two fits of that model:

- :func:`fit_decay`, one filter (the QTI product's FITINDEX, the Reprocess page's α per
  filter), with :func:`scipy.optimize.curve_fit` weighted by the errors (absolute sigma).
  There is no fit (``valid`` False, every number 0, as the products want no NaN) with
  fewer than :data:`MIN_DETECTIONS` detections, or when the fit does not converge or its
  covariance cannot be estimated (scipy's OptimizeWarning, the notes' "mettre nul sur
  OptimizeWarning"). :func:`fit_filters` applies it to every filter of a light curve.
- :func:`fit_joint_decay`, every filter at once: one α, one offset per filter (the GP2
  summary's decay), by weighted linear least squares.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

MIN_DETECTIONS = 2
MIN_MAG_ERR = 0.01
"""Magnitude errors below this (mag) are raised to it before weighting (per-filter fit)."""
AB_ZERO_POINT_UJY = 23.9
"""AB magnitude of a 1 µJy source."""
MIN_FIT_MAG, MAX_FIT_MAG, MAX_INDEX = -30.0, 60.0, 20.0
"""A fit whose magnitude at 1 s or whose index leaves these bounds has run away (no fit)."""


def mid_exposure(t_start_s: np.ndarray, t_end_s: np.ndarray) -> np.ndarray:
    """The time of each exposure that the model is evaluated at: its middle (s after T0).

    Parameters
    ----------
    t_start_s, t_end_s : ndarray
        Start and end of each exposure after T0, s.

    Returns
    -------
    ndarray
        ``(t_start_s + t_end_s) / 2``, s.
    """
    return (np.asarray(t_start_s, dtype=float) + np.asarray(t_end_s, dtype=float)) / 2.0


def model_magnitude(t_s: np.ndarray, mag_1s: float, index: float) -> np.ndarray:
    """The power law in AB magnitudes, ``mag_1s + 2.5 index log10(t / 1 s)``.

    Parameters
    ----------
    t_s : ndarray
        Times after T0 (mid-exposure), s; positive.
    mag_1s : float
        AB magnitude at t - T0 = 1 s.
    index : float
        Decay index α.
    """
    return mag_1s + 2.5 * index * np.log10(np.asarray(t_s, dtype=float))


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
        return model_magnitude(t_s, AB_ZERO_POINT_UJY - 2.5 * np.log10(self.norm_ujy), self.index)


@dataclass(frozen=True)
class JointDecayFit:
    """One power law fitted to every filter at once: one α, one offset per filter.

    Attributes
    ----------
    index, index_err : float
        The joint decay index α (positive when fading) and its 1σ error.
    offsets : dict
        Per filter, the magnitude of the fit at t - T0 = 1 s (AB mag).
    chi2 : float
        χ² of the fit.
    ndof : int
        Degrees of freedom: points - filters - 1.
    """

    index: float
    index_err: float
    offsets: dict
    chi2: float
    ndof: int


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
    with warnings.catch_warnings():
        warnings.simplefilter("error", OptimizeWarning)
        try:
            params, cov = curve_fit(
                model_magnitude,
                t_s,
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
    chi2 = float(np.sum(((mag - model_magnitude(t_s, *params)) / mag_err) ** 2))
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


def fit_filters(
    t_s: np.ndarray, mag: np.ndarray, mag_err: np.ndarray, filters: Sequence[str]
) -> dict[str, DecayFit]:
    """:func:`fit_decay` of each filter's detections, as the QTI product makes it.

    Parameters
    ----------
    t_s : ndarray
        Times after T0, s (mid-exposure).
    mag, mag_err : ndarray
        AB magnitudes of the detections and their 1σ errors, mag.
    filters : sequence of str
        Each point's filter.

    Returns
    -------
    dict
        Filter name → :class:`DecayFit`, in sorted order of the names.
    """
    t_s, mag, mag_err = (np.asarray(a, dtype=float) for a in (t_s, mag, mag_err))
    names = np.asarray(list(filters), dtype=str)
    return {
        name: fit_decay(t_s[names == name], mag[names == name], mag_err[names == name])
        for name in sorted(set(names.tolist()))
    }


def fit_joint_decay(
    t_s: np.ndarray, mag: np.ndarray, mag_err: np.ndarray, filters: Sequence[str] | None = None
) -> JointDecayFit:
    """Fit one α and one offset per filter, ``mag = m_f + 2.5 α log10(t)``, to every filter.

    Parameters
    ----------
    t_s : ndarray
        Times after T0, s (mid-exposure); positive.
    mag, mag_err : ndarray
        AB magnitudes of the detections and their 1σ errors (positive), mag.
    filters : sequence of str, optional
        Each point's filter (one offset each); all one filter (``"all"``) when None.

    Returns
    -------
    JointDecayFit
        ``offsets`` are the magnitudes at t - T0 = 1 s; the error of α is from the
        covariance of the weighted least squares (absolute sigma).

    Raises
    ------
    ValueError
        If a time or an error is not positive, or there are fewer points than the
        parameters + 1; the message gives what was received.
    """
    t_s, mag, err = (np.asarray(a, dtype=float) for a in (t_s, mag, mag_err))
    names = np.asarray(["all"] * len(t_s) if filters is None else list(filters), dtype=str)
    if np.any(~(t_s > 0)) or np.any(~(err > 0)):
        raise ValueError(
            "fit_joint_decay needs times after T0 (t > 0, s) and positive magnitude errors"
        )
    labels = sorted(set(names.tolist()))
    if len(t_s) < len(labels) + 2:
        raise ValueError(f"fit_joint_decay needs at least {len(labels) + 2} points, got {len(t_s)}")
    design = np.column_stack([(names == f).astype(float) for f in labels] + [2.5 * np.log10(t_s)])
    weights = 1.0 / err
    solution, *_ = np.linalg.lstsq(design * weights[:, None], mag * weights, rcond=None)
    covariance = np.linalg.inv((design * weights[:, None] ** 2).T @ design)
    residual = (mag - design @ solution) * weights
    return JointDecayFit(
        index=float(solution[-1]),
        index_err=float(np.sqrt(covariance[-1, -1])),
        offsets={f: float(solution[k]) for k, f in enumerate(labels)},
        chi2=float(residual @ residual),
        ndof=int(len(t_s) - len(labels) - 1),
    )
