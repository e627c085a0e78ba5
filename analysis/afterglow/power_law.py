"""The power law F ∝ (t - T0)^-α of an afterglow, at mid-exposure: the model, its fit to
one filter (with the broken law beside it), to each filter, and to every filter at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from analysis.afterglow.broken_power_law import BrokenDecayFit, fit_broken_decay
from analysis.afterglow.fitting import (
    MAX_FIT_MAG,
    MAX_INDEX,
    MIN_FIT_MAG,
    _problem,
    _usable,
    _weighted_fit,
)

AB_ZERO_POINT_UJY = 23.9
"""AB magnitude of a 1 µJy source."""


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
    """A power-law fit of one filter's light curve, with the broken law fitted beside it.

    Attributes
    ----------
    n_points : int
        Detections fitted.
    t_first, t_last : float
        First and last fitted time after T0 (mid-exposure), s (TFITSTART, TFITSTOP).
    norm_ujy : float
        Flux density of the fit at t - T0 = 1 s, µJy (FITNORM).
    index, index_err : float
        Decay index α and its 1σ error (FITINDEX, ERFITINDEX); α > 0 fades. The error is
        scaled by √(χ²/dof) when χ²/dof > 1.
    chi2 : float
        χ² of the fit (FITCHI2), with ``n_points - 2`` degrees of freedom.
    chi2_reduced : float
        χ²/dof (FITCHI2R); 0 with no degree of freedom.
    bic : float
        χ² + 2 ln n, compared with the broken law's.
    valid : bool
        False when no fit could be made; then the numbers are 0 and ``reason`` says why.
    reason : str
    broken : BrokenDecayFit or None
        The broken power law of the same points (None when not tried).
    """

    n_points: int
    t_first: float
    t_last: float
    norm_ujy: float = 0.0
    index: float = 0.0
    index_err: float = 0.0
    chi2: float = 0.0
    chi2_reduced: float = 0.0
    bic: float = 0.0
    valid: bool = False
    reason: str = ""
    broken: BrokenDecayFit | None = None

    @property
    def prefers_broken(self) -> bool:
        """Whether the broken power law is valid and has the lower BIC."""
        return bool(
            self.valid
            and self.broken is not None
            and self.broken.valid
            and self.broken.bic < self.bic
        )

    def to_dict(self) -> dict:
        """The numbers of the fit (the broken law's under ``broken``) and the model chosen."""
        return {**asdict(self), "model": "broken" if self.prefers_broken else "single"}

    def magnitude(self, t_s: np.ndarray) -> np.ndarray:
        """The fitted AB magnitude at times ``t_s`` after T0 (s), for drawing the fit."""
        return model_magnitude(t_s, AB_ZERO_POINT_UJY - 2.5 * np.log10(self.norm_ujy), self.index)


@dataclass(frozen=True)
class JointDecayFit:
    """One power law fitted to every filter at once: one α, one offset per filter.

    Attributes
    ----------
    index, index_err : float
        The joint decay index α (positive when fading) and its 1σ error, scaled by
        √(χ²/dof) when χ²/dof > 1 as the per-filter fits' errors are.
    offsets : dict
        Per filter, the magnitude of the fit at t - T0 = 1 s (AB mag).
    chi2 : float
        χ² of the fit.
    ndof : int
        Degrees of freedom: points - filters - 1.
    chi2_reduced : float
        χ²/dof; 0 with no degree of freedom.
    """

    index: float
    index_err: float
    offsets: dict
    chi2: float
    ndof: int
    chi2_reduced: float = 0.0


def _no_fit(n: int, t: np.ndarray, reason: str) -> DecayFit:
    first, last = (float(t.min()), float(t.max())) if t.size else (0.0, 0.0)
    return DecayFit(n_points=n, t_first=first, t_last=last, reason=reason)


def fit_decay(
    t_s: np.ndarray,
    mag: np.ndarray,
    mag_err: np.ndarray,
    *,
    window_s: tuple[float, float] | None = None,
    broken: bool = True,
) -> DecayFit:
    """Fit F ∝ (t - T0)^-α to detections of one filter, and the broken law beside it.

    Parameters
    ----------
    t_s : ndarray
        Times after T0, s (mid-exposure); points at or before T0 are left out.
    mag, mag_err : ndarray
        AB magnitudes of the detections and their 1σ errors (positive), mag.
    window_s : (float, float), optional
        Start and end of the fit window, s after T0; the whole curve when None.
    broken : bool, optional
        Also fit the smoothly broken power law (:func:`fit_broken_decay`).

    Returns
    -------
    DecayFit
        ``valid`` False (numbers 0) with fewer than 2 usable detections, fewer than 2
        distinct times, an error that is not positive, or when the fit does not converge
        or its covariance cannot be estimated. ``index_err`` is scaled by √(χ²/dof) when
        χ²/dof > 1.

    Examples
    --------
    >>> t = np.array([100.0, 1000.0, 10000.0])
    >>> fit = fit_decay(t, 15 + 2.5 * 1.2 * np.log10(t), np.full(3, 0.05))
    >>> round(fit.index, 6)
    1.2
    """
    t_s, mag, mag_err = _usable(t_s, mag, mag_err, window_s)
    n = int(t_s.size)
    if problem := _problem(t_s, mag_err, 2):
        return _no_fit(n, t_s, problem)
    try:
        params, errors, chi2, reduced = _weighted_fit(
            model_magnitude, t_s, mag, mag_err, (float(np.median(mag)), 1.0)
        )
    except RuntimeError as exc:
        return _no_fit(n, t_s, f"no convergence: {exc}")
    if not (MIN_FIT_MAG < params[0] < MAX_FIT_MAG and abs(params[1]) < MAX_INDEX):
        return _no_fit(
            n, t_s, f"no convergence: the fit ran away (M1={params[0]:.3g}, alpha={params[1]:.3g})"
        )
    if errors[1] > MAX_INDEX:
        return _no_fit(n, t_s, f"degenerate fit: the index is unconstrained (±{errors[1]:.3g})")
    return DecayFit(
        n_points=n,
        t_first=float(t_s.min()),
        t_last=float(t_s.max()),
        norm_ujy=float(10 ** ((AB_ZERO_POINT_UJY - params[0]) / 2.5)),
        index=float(params[1]),
        index_err=float(errors[1]),
        chi2=chi2,
        chi2_reduced=reduced,
        bic=chi2 + 2 * np.log(n),
        valid=True,
        broken=fit_broken_decay(t_s, mag, mag_err) if broken else None,
    )


def fit_filters(
    t_s: np.ndarray,
    mag: np.ndarray,
    mag_err: np.ndarray,
    filters: Sequence[str],
    *,
    window_s: tuple[float, float] | None = None,
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
    window_s : (float, float), optional
        Start and end of the fit window, s after T0; the whole curve when None.

    Returns
    -------
    dict
        Filter name → :class:`DecayFit`, in sorted order of the names.
    """
    t_s, mag, mag_err = (np.asarray(a, dtype=float) for a in (t_s, mag, mag_err))
    names = np.asarray(list(filters), dtype=str)
    return {
        name: fit_decay(
            t_s[names == name], mag[names == name], mag_err[names == name], window_s=window_s
        )
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
        covariance of the weighted least squares (absolute sigma), multiplied by
        √(χ²/dof) when χ²/dof > 1 (the scatter is then larger than the errors say), as
        :func:`fit_decay` does; ``chi2_reduced`` records χ²/dof.

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
    chi2, ndof = float(residual @ residual), int(len(t_s) - len(labels) - 1)
    reduced = chi2 / ndof if ndof > 0 else 0.0
    return JointDecayFit(
        index=float(solution[-1]),
        index_err=float(np.sqrt(covariance[-1, -1] * max(reduced, 1.0))),
        offsets={f: float(solution[k]) for k, f in enumerate(labels)},
        chi2=chi2,
        ndof=ndof,
        chi2_reduced=reduced,
    )
