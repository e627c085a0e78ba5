"""The smoothly broken power law of Beuermann et al. (1999), fitted to one filter beside
the single law: ``F = F_b [(t/t_b)^(s α1) + (t/t_b)^(s α2)]^(-1/s)``, the smoothness ``s``
fixed."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from analysis.afterglow.fitting import MAX_INDEX, _problem, _usable, _weighted_fit

MIN_BROKEN_DETECTIONS = 6
"""A broken power law (4 parameters) is fitted with at least this many detections."""
MIN_SIDE_DETECTIONS = 2
"""Detections needed on each side of a fitted break for the break to count."""
SMOOTHNESS = 2.0
"""The smoothness ``s`` of the broken power law, fixed (Beuermann et al. 1999)."""
BREAK_STARTS = 7
"""Trial break times, spread evenly in log time over the fitted range, the fit starts from."""


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
