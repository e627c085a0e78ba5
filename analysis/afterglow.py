"""The afterglow of a burst: a power law F ∝ (t - T0)^-α, fitted per filter or jointly, and
a smoothly broken power law beside it.

In AB magnitudes the power law is a straight line in log time,
``mag(t) = m_f + 2.5 α log10((t - T0) / 1 s)``, with ``m_f`` the filter's magnitude at
t - T0 = 1 s. α > 0 is a fading source.

Times are mid-exposure, in seconds after T0, everywhere (:func:`mid_exposure`): the QTI
product, the Reprocess page and the GP2 summary give the same α for the same photometry.

Three fits:

- :func:`fit_decay`, one filter (the QTI product's FITINDEX, the Reprocess page's α per
  filter), with :func:`scipy.optimize.curve_fit` weighted by the errors. There is no fit
  (``valid`` False, every number 0, as the products want no NaN) with fewer than
  :data:`MIN_DETECTIONS` detections, fewer distinct times than parameters, an error that
  is not positive, an index left unconstrained, or when the fit does not converge or its
  covariance cannot be estimated (scipy's OptimizeWarning, the notes' "mettre nul sur
  OptimizeWarning"). :func:`fit_filters` applies it to every filter of a light curve.
- :func:`fit_joint_decay`, every filter at once: one α, one offset per filter (the GP2
  summary's decay), by weighted linear least squares (its error scaled as below).
- :func:`fit_broken_decay`, one filter: the smoothly broken power law of Beuermann et al.
  (1999), ``F = F_b [(t/t_b)^(s α1) + (t/t_b)^(s α2)]^(-1/s)``, with the smoothness ``s``
  fixed (:data:`SMOOTHNESS`; fitting it as well leaves ``t_b`` and ``s`` degenerate on a
  sparse curve). :func:`fit_decay` makes it beside the single law and chooses between the
  two by the Bayesian information criterion, ``BIC = χ² + k ln n`` (k = 2 and 4 free
  parameters): the broken law is preferred when its BIC is lower.

Honest errors: the covariance is that of the given magnitude errors (absolute sigma);
when the reduced χ² (χ²/dof) exceeds 1 the scatter is larger than those errors say, and
every parameter's error is multiplied by √(χ²/dof) (the reduced χ² is kept beside it,
FITCHI2R). A fit window (start, end in s after T0) leaves out the points outside it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

MIN_DETECTIONS = 2
MIN_BROKEN_DETECTIONS = 6
"""A broken power law (4 parameters) is fitted with at least this many detections."""
MIN_SIDE_DETECTIONS = 2
"""Detections needed on each side of a fitted break for the break to count."""
SMOOTHNESS = 2.0
"""The smoothness ``s`` of the broken power law, fixed (Beuermann et al. 1999)."""
BREAK_STARTS = 7
"""Trial break times, spread evenly in log time over the fitted range, the fit starts from."""
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
class BrokenDecayFit:
    """A smoothly broken power law fitted to one filter's light curve (Beuermann form).

    Attributes
    ----------
    n_points : int
        Detections fitted.
    t_break, t_break_err : float
        Break time after T0 and its 1σ error, s.
    index1, index1_err, index2, index2_err : float
        Decay indices before and after the break and their 1σ errors; > 0 fades.
    mag_break : float
        The model's AB magnitude scale at the break (``F_b``), mag.
    smoothness : float
        The fixed ``s`` of the model.
    chi2, chi2_reduced : float
        χ² and χ²/dof (``n_points - 4`` degrees of freedom); errors are scaled by
        √(χ²/dof) when it exceeds 1.
    bic : float
        χ² + 4 ln n.
    valid : bool
        False when no fit could be made; then the numbers are 0 and ``reason`` says why.
    reason : str
    """

    n_points: int
    t_break: float = 0.0
    t_break_err: float = 0.0
    index1: float = 0.0
    index1_err: float = 0.0
    index2: float = 0.0
    index2_err: float = 0.0
    mag_break: float = 0.0
    smoothness: float = SMOOTHNESS
    chi2: float = 0.0
    chi2_reduced: float = 0.0
    bic: float = 0.0
    valid: bool = False
    reason: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def magnitude(self, t_s: np.ndarray) -> np.ndarray:
        """The fitted AB magnitude at times ``t_s`` after T0 (s), for drawing the fit."""
        return broken_magnitude(
            t_s,
            self.mag_break,
            float(np.log10(self.t_break)),
            self.index1,
            self.index2,
            smoothness=self.smoothness,
        )


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


def broken_magnitude(
    t_s: np.ndarray,
    mag_break: float,
    log_t_break: float,
    index1: float,
    index2: float,
    *,
    smoothness: float = SMOOTHNESS,
) -> np.ndarray:
    """The smoothly broken power law in AB magnitudes (Beuermann form).

    ``mag = mag_break + (2.5 / s) log10((t/t_b)^(s α1) + (t/t_b)^(s α2))``, the magnitude of
    ``F = F_b [(t/t_b)^(s α1) + (t/t_b)^(s α2)]^(-1/s)``.

    Parameters
    ----------
    t_s : ndarray
        Times after T0 (mid-exposure), s; positive.
    mag_break : float
        AB magnitude of ``F_b``.
    log_t_break : float
        log10 of the break time, s.
    index1, index2 : float
        Decay indices before and after the break.
    smoothness : float, optional
        ``s``; larger is sharper.
    """
    x = (np.log10(np.asarray(t_s, dtype=float)) - log_t_break) * smoothness * np.log(10.0)
    both = np.logaddexp(index1 * x, index2 * x) / np.log(10.0)
    return mag_break + 2.5 / smoothness * both


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


def _side_index(log_t: np.ndarray, mag: np.ndarray) -> float:
    """A starting index from the straight line through one side's points."""
    if np.unique(log_t).size < 2:
        return 1.0
    return float(np.polyfit(log_t, mag, 1)[0] / 2.5)


def _broken_start(log_t: np.ndarray, mag: np.ndarray, log_break: float) -> tuple:
    before, after = log_t <= log_break, log_t > log_break
    near = np.argmin(np.abs(log_t - log_break))
    return (
        float(mag[near]),
        log_break,
        _side_index(log_t[before], mag[before]),
        _side_index(log_t[after], mag[after]),
    )


def fit_broken_decay(
    t_s: np.ndarray,
    mag: np.ndarray,
    mag_err: np.ndarray,
    *,
    window_s: tuple[float, float] | None = None,
    smoothness: float = SMOOTHNESS,
) -> BrokenDecayFit:
    """Fit the smoothly broken power law (:func:`broken_magnitude`) to one filter.

    The fit starts from :data:`BREAK_STARTS` trial breaks across the fitted range and keeps
    the lowest χ²; the break is bounded to that range. With ``s > 0`` the model steepens
    (``index1 < index2``: a rise to a decay, a plateau's end, a jet break); a flattening
    (a late supernova or host) is not this model, and is best left out with the window.

    Parameters
    ----------
    t_s : ndarray
        Times after T0, s (mid-exposure); points at or before T0 are left out.
    mag, mag_err : ndarray
        AB magnitudes of the detections and their 1σ errors (positive), mag.
    window_s : (float, float), optional
        Start and end of the fit window, s after T0; the whole curve when None.
    smoothness : float, optional
        The fixed ``s``.

    Returns
    -------
    BrokenDecayFit
        ``valid`` False with fewer than :data:`MIN_BROKEN_DETECTIONS` detections, a break
        with fewer than :data:`MIN_SIDE_DETECTIONS` on either side, or no convergence.
        Errors are scaled by √(χ²/dof) when χ²/dof > 1.
    """
    t_s, mag, mag_err = _usable(t_s, mag, mag_err, window_s)
    n = int(t_s.size)
    if problem := _problem(t_s, mag_err, MIN_BROKEN_DETECTIONS):
        return BrokenDecayFit(n_points=n, reason=problem)
    log_t = np.log10(t_s)
    bounds = (
        [-np.inf, log_t.min(), -MAX_INDEX, -MAX_INDEX],
        [np.inf, log_t.max(), MAX_INDEX, MAX_INDEX],
    )

    def model(t, m, lb, a1, a2):
        return broken_magnitude(t, m, lb, a1, a2, smoothness=smoothness)

    best = None
    for log_break in np.linspace(log_t.min(), log_t.max(), BREAK_STARTS + 2)[1:-1]:
        try:
            found = _weighted_fit(
                model, t_s, mag, mag_err, _broken_start(log_t, mag, log_break), bounds
            )
        except RuntimeError:
            continue
        if best is None or found[2] < best[2]:
            best = found
    if best is None:
        return BrokenDecayFit(n_points=n, reason="no convergence from any trial break")
    (m, lb, a1, a2), errors, chi2, reduced = best
    if a1 > a2:  # the model is symmetric in the two indices: the earlier is the smaller
        a1, a2, errors = a2, a1, errors[[0, 1, 3, 2]]
    sides = min(int(np.sum(log_t < lb)), int(np.sum(log_t > lb)))
    if sides < MIN_SIDE_DETECTIONS:
        return BrokenDecayFit(
            n_points=n, reason=f"the break at {10**lb:.4g} s has {sides} detection(s) on one side"
        )
    if np.max(errors[1:]) > MAX_INDEX:
        return BrokenDecayFit(n_points=n, reason="degenerate fit: the break is unconstrained")
    return BrokenDecayFit(
        n_points=n,
        t_break=float(10**lb),
        t_break_err=float(10**lb * np.log(10.0) * errors[1]),
        index1=float(a1),
        index1_err=float(errors[2]),
        index2=float(a2),
        index2_err=float(errors[3]),
        mag_break=float(m),
        smoothness=smoothness,
        chi2=chi2,
        chi2_reduced=reduced,
        bic=chi2 + 4 * np.log(n),
        valid=True,
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
