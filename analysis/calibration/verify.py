"""The second check, in the manner of Rubin's cp_verify: apply the master to its own frames.

A good master bias subtracted from the night's raw biases leaves residuals whose mean
is near 0 and whose noise is near the read noise; a master built wrongly (or from a
frame with a glitch) leaves structure, and the residual noise grows. The expected
noise is measured on the same frames, from the difference of consecutive frames
divided by √2 (the read noise, for biases; read and dark-current noise for darks;
photon noise, relative, for flats), so no detector constant is needed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from analysis.calibration.frames import FrameInfo
from analysis.calibration.masters import Corrections, RowSource, corrected_rows, flat_level

#: Rows of each frame read by the check (evenly spaced).
SAMPLE_ROWS = 256

#: Default pass criteria: |mean| at most this many noise units, noise at most this ratio.
MAX_MEAN_IN_NOISE = 0.5
MAX_NOISE_RATIO = 1.3


@dataclass(frozen=True)
class ResidualCheck:
    """Residuals of the raw frames once the master is applied.

    Attributes
    ----------
    mean : float
        Mean residual over every frame (ADU, ADU/s for darks per second, relative for flats).
    noise : float
        Median over the frames of the residual's standard deviation, same unit.
    expected_noise : float
        Median over consecutive pairs of std(frame_k − frame_k+1)/√2, same unit.
    n_frames : int
    passed : bool
        |mean| ≤ ``max_mean_in_noise`` × expected_noise and noise ≤ ``max_noise_ratio`` ×
        expected_noise.
    reason : str
        Why it failed ("" when it passed).
    """

    mean: float
    noise: float
    expected_noise: float
    n_frames: int
    passed: bool
    reason: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def residual_check(
    corrected: np.ndarray,
    model: np.ndarray,
    *,
    max_mean_in_noise: float = MAX_MEAN_IN_NOISE,
    max_noise_ratio: float = MAX_NOISE_RATIO,
) -> ResidualCheck:
    """Compare corrected frames with the master that should describe them.

    Parameters
    ----------
    corrected : ndarray, shape (n, rows, nx)
        The same rows of n frames, corrected as for building (NaN = masked).
    model : ndarray, shape (rows, nx)
        The master's rows.
    max_mean_in_noise, max_noise_ratio : float, optional
        Pass criteria (see :class:`ResidualCheck`).

    Returns
    -------
    ResidualCheck
    """
    if corrected.ndim != 3 or corrected.shape[1:] != model.shape:
        raise ValueError(
            f"corrected frames {corrected.shape} and master rows {model.shape} do not match"
        )
    n = corrected.shape[0]
    sums = [_sum_and_std(corrected[k] - model) for k in range(n)]
    count = sum(c for c, _, _ in sums)
    mean = sum(t for _, t, _ in sums) / count if count else math.nan
    noise = float(np.median([std for _, _, std in sums]))
    if n > 1:
        pairs = [
            _sum_and_std(corrected[k] - corrected[k + 1])[2] / math.sqrt(2) for k in range(n - 1)
        ]
        expected = float(np.median(pairs))
    else:
        expected = math.nan
    reason = ""
    if not (math.isfinite(mean) and math.isfinite(noise) and math.isfinite(expected)):
        reason = "residuals not computable (one frame, or no finite pixel)"
    elif abs(mean) > max_mean_in_noise * expected:
        reason = f"mean residual {mean:.4g} exceeds {max_mean_in_noise} × noise {expected:.4g}"
    elif noise > max_noise_ratio * expected:
        reason = (
            f"residual noise {noise:.4g} exceeds {max_noise_ratio} × frame noise {expected:.4g}"
        )
    return ResidualCheck(mean, noise, expected, n, passed=not reason, reason=reason)


def _sum_and_std(values: np.ndarray) -> tuple[int, float, float]:
    """Count, sum and standard deviation of the finite values (float64 sums)."""
    good = np.isfinite(values)
    finite = values.reshape(-1) if good.all() else values[good]
    if finite.size == 0:
        return 0, 0.0, math.nan
    total = float(finite.sum(dtype=np.float64))
    centred = finite - np.float32(total / finite.size)
    return finite.size, total, math.sqrt(float(np.dot(centred, centred)) / finite.size)


def residual_rows(ny: int) -> slice:
    """The rows the residual check looks at (:data:`SAMPLE_ROWS`, evenly spaced)."""
    return slice(0, ny, max(1, ny // SAMPLE_ROWS))


def verify_master(
    master: np.ndarray,
    frames: Sequence[RowSource],
    infos: Sequence[FrameInfo],
    caltype: str,
    *,
    corrections: Corrections | None = None,
    max_mean_in_noise: float = MAX_MEAN_IN_NOISE,
    max_noise_ratio: float = MAX_NOISE_RATIO,
    corrected: np.ndarray | None = None,
) -> ResidualCheck:
    """Apply a master to the raw frames it was built from, on evenly spaced rows.

    Parameters
    ----------
    master : ndarray, shape (ny, nx)
        The master (bias ADU; dark as built; flat normalised to 1).
    frames, infos : sequences
        The raw frames and their descriptions.
    caltype : {"bias", "dark", "flat"}
    corrections : Corrections, optional
        As given to :func:`~analysis.calibration.masters.build_master`.
    corrected : ndarray, shape (n, rows, nx), optional
        The frames' rows of :func:`residual_rows`, already corrected (kept by
        ``build_master(keep=...)``); the frames are then not read again.

    Returns
    -------
    ResidualCheck
    """
    corrections = corrections or Corrections()
    rows = residual_rows(master.shape[0])
    model = np.asarray(master[rows], dtype=np.float32)
    stack = corrected
    if stack is None:
        stack = np.empty((len(frames), *model.shape), np.float32)
        for k, (frame, info) in enumerate(zip(frames, infos, strict=True)):
            level = flat_level(frame, info, corrections) if caltype == "flat" else 1.0
            corrected_rows(frame, info, rows, caltype, corrections, level=level, out=stack[k])
    return residual_check(
        stack,
        model,
        max_mean_in_noise=max_mean_in_noise,
        max_noise_ratio=max_noise_ratio,
    )
