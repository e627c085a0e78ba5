"""The one-pass statistics of a master and of its difference give NumPy's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.calibration.statistics import (
    WINDOWED_MEDIAN_MIN,
    difference_histogram,
    difference_image,
    difference_statistics,
    image_statistics,
)

SHAPE = (600, 700)  # 420,000 pixels: above WINDOWED_MEDIAN_MIN, so the window is used


def numpy_histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The histogram's rule written plainly: bin ⌊(v − low) × bins / (high − low)⌋."""
    low, high, n_bins = float(edges[0]), float(edges[-1]), edges.size - 1
    wide = values.astype(np.float64)
    kept = (values >= np.float32(low)) & (wide <= high)
    index = ((wide[kept] - low) * (n_bins / (high - low))).astype(np.intp)
    counts = np.bincount(index, minlength=n_bins + 1)
    counts[n_bins - 1] += counts[n_bins]
    return counts[:n_bins]


def masters(kind: str, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "lattice":  # medians of uint16 counts: 0.5 ADU steps
        new, ref = (np.round(2 * rng.normal(1000, 3, (2, *SHAPE))) / 2).astype(np.float32)
    elif kind == "flat":
        ref = rng.uniform(0.8, 1.2, SHAPE).astype(np.float32)
        new = (ref * rng.normal(1, 0.01, SHAPE)).astype(np.float32)
    else:  # a dark per second: continuous, skewed by hot pixels
        new, ref = rng.gamma(2.0, 0.02, (2, *SHAPE)).astype(np.float32)
    return new, ref


@pytest.mark.parametrize("kind", ["lattice", "flat", "dark"])
def test_statistics_of_a_master_and_of_its_difference_are_numpys(kind):
    assert SHAPE[0] * SHAPE[1] > WINDOWED_MEDIAN_MIN
    new, ref = masters(kind)
    stats = image_statistics(new)
    assert stats.median == float(np.median(new))  # exactly
    assert stats.mean == pytest.approx(float(np.mean(new, dtype=np.float64)), rel=1e-12)
    assert stats.rms == pytest.approx(float(np.std(new, dtype=np.float64)), rel=1e-9)
    caltype = "flat" if kind == "flat" else "bias"
    diff, counts, edges = difference_statistics(new, ref, caltype)
    plain = difference_image(new, ref, caltype).reshape(-1)
    assert diff.median == float(np.median(plain)) and diff.n_pixels == plain.size
    assert diff.mean == pytest.approx(float(np.mean(plain, dtype=np.float64)), rel=1e-9, abs=1e-12)
    assert diff.rms == pytest.approx(float(np.std(plain, dtype=np.float64)), rel=1e-9)
    assert np.array_equal(counts, numpy_histogram(plain, edges))
    assert np.array_equal(difference_histogram(plain, diff.median, diff.rms)[0], counts)


def test_a_ratio_where_the_reference_is_not_positive_leaves_those_pixels_out():
    new, ref = masters("flat")
    ref[:5] = 0.0
    ref[5:7] = -1.0
    diff, counts, edges = difference_statistics(new, ref, "flat")
    plain = difference_image(new, ref, "flat").reshape(-1)
    finite = plain[np.isfinite(plain)]
    assert diff.n_pixels == finite.size == new.size - 7 * SHAPE[1]
    assert diff.median == float(np.median(finite))
    assert np.array_equal(counts, numpy_histogram(finite, edges))


def test_a_master_with_nan_pixels_is_summed_without_them():
    new, _ = masters("dark")
    new[100:110, :] = np.nan
    new[200, 3] = np.inf
    stats = image_statistics(new)
    finite = new[np.isfinite(new)]
    assert stats.n_pixels == finite.size and stats.median == float(np.median(finite))
    assert stats.mean == pytest.approx(float(np.mean(finite, dtype=np.float64)), rel=1e-12)


@pytest.mark.parametrize("shape", [(64, 6160), (3, 5), (1, 1), (0, 4)])
def test_a_frames_sample_of_raw_counts_gives_numpys_median(shape):
    from analysis.calibration.frames import sample_levels

    rng = np.random.default_rng(1)
    counts = np.clip(rng.normal(1000, 300, shape), 0, 65535).astype(np.uint16)
    counts.reshape(-1)[:3] = 65535  # saturated
    levels = sample_levels(counts, 60000.0)
    as_floats = sample_levels(counts.astype(np.float32), 60000.0)
    if counts.size:
        assert levels.median == float(np.median(counts)) == as_floats.median
    else:
        assert np.isnan(levels.median) and np.isnan(as_floats.median)
    assert levels.saturated_fraction == as_floats.saturated_fraction
    assert levels.saturated_fraction == np.count_nonzero(counts >= 60000) / max(1, counts.size)
    assert levels.finite_fraction == (1.0 if counts.size else 0.0) == as_floats.finite_fraction
