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

By noun: :mod:`.power_law` (the model, :func:`fit_decay`, :func:`fit_filters`,
:func:`fit_joint_decay`), :mod:`.broken_power_law` (:func:`fit_broken_decay`) and
:mod:`.fitting` (the weighted fit and the checks both laws share).
"""

from analysis.afterglow.broken_power_law import (
    BREAK_STARTS,
    MIN_BROKEN_DETECTIONS,
    MIN_SIDE_DETECTIONS,
    SMOOTHNESS,
    BrokenDecayFit,
    broken_magnitude,
    fit_broken_decay,
)
from analysis.afterglow.fitting import MAX_FIT_MAG, MAX_INDEX, MIN_DETECTIONS, MIN_FIT_MAG
from analysis.afterglow.power_law import (
    AB_ZERO_POINT_UJY,
    DecayFit,
    JointDecayFit,
    fit_decay,
    fit_filters,
    fit_joint_decay,
    mid_exposure,
    model_magnitude,
)

__all__ = [
    "AB_ZERO_POINT_UJY",
    "BREAK_STARTS",
    "MAX_FIT_MAG",
    "MAX_INDEX",
    "MIN_BROKEN_DETECTIONS",
    "MIN_DETECTIONS",
    "MIN_FIT_MAG",
    "MIN_SIDE_DETECTIONS",
    "SMOOTHNESS",
    "BrokenDecayFit",
    "DecayFit",
    "JointDecayFit",
    "broken_magnitude",
    "fit_broken_decay",
    "fit_decay",
    "fit_filters",
    "fit_joint_decay",
    "mid_exposure",
    "model_magnitude",
]
