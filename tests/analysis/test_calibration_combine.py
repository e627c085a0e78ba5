"""The pixel-wise combine: the selection-network median and the sigma-clipped mean."""

import numpy as np
import pytest

from analysis.calibration.combine import (
    _odd_even_merge_sort,
    clipped_mean_rows,
    combine_rows,
    median_network,
    median_rows,
)


@pytest.mark.parametrize("n", range(1, 22))
def test_median_equals_numpy_median_for_every_count(n):
    stack = np.random.default_rng(n).normal(size=(n, 9, 31)).astype(np.float32)
    expected = np.median(stack, axis=0)
    assert np.array_equal(median_rows(stack.copy()), expected.astype(np.float32))


def test_median_with_ties_and_integers_is_exact():
    stack = np.random.default_rng(0).integers(0, 5, size=(10, 40, 40)).astype(np.float32)
    assert np.array_equal(median_rows(stack.copy()), np.median(stack, axis=0))


def test_median_skips_nan_pixels_like_nanmedian():
    stack = np.random.default_rng(1).normal(size=(6, 20, 20)).astype(np.float32)
    stack[2, 3, 4] = np.nan
    stack[:, 5, 6] = np.nan  # every frame masked here
    got = median_rows(stack.copy())
    assert np.isnan(got[5, 6])
    finite = np.ones(got.shape, bool)
    finite[5, 6] = False
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanmedian(stack, axis=0)
    assert np.allclose(got[finite], expected[finite], atol=1e-6)


def test_network_for_ten_values_is_pruned_from_the_full_sort():
    assert len(median_network(10)) < len(_odd_even_merge_sort(10))


def test_clipped_mean_known_answer():
    """Three 10x10 frames of 0/-1000/+1000 give exactly 0 (ccdproc test_combiner_minmax)."""
    stack = np.stack([np.zeros((10, 10)), np.full((10, 10), -1000.0), np.full((10, 10), 1000.0)])
    assert np.array_equal(clipped_mean_rows(stack.astype(np.float32)), np.zeros((10, 10)))


def test_clipped_mean_rejects_a_cosmic_ray():
    rng = np.random.default_rng(2)
    stack = rng.normal(100, 1, size=(9, 30, 30)).astype(np.float32)
    clean = stack.copy()
    stack[4, 10, 10] = 50000
    mean = clipped_mean_rows(stack)
    assert abs(mean[10, 10] - 100) < 3
    assert np.allclose(
        np.delete(mean.ravel(), 310), np.delete(clean.mean(axis=0).ravel(), 310), atol=1.5
    )


def test_unknown_method_and_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="not one of median, mean"):
        combine_rows(np.zeros((3, 2, 2), np.float32), method="mode")
    with pytest.raises(ValueError, match="must be a 3D stack"):
        median_rows(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="sigma must be positive"):
        clipped_mean_rows(np.zeros((3, 2, 2), np.float32), sigma=0)


@pytest.mark.parametrize("n", [2, 3, 9, 10, 11, 12])
@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.uint8])
def test_median_of_integer_frames_is_numpy_median_without_overflow(n, dtype):
    limits = np.iinfo(dtype)
    stack = np.random.default_rng(n).integers(
        limits.min, limits.max, size=(n, 7, 5000), dtype=dtype, endpoint=True
    )
    stack[:, 0, :3] = limits.max  # the two middle values at the top: their sum overflows dtype
    stack[:, 1, :3] = limits.min
    result = median_rows(stack.copy())
    assert result.dtype == np.float32
    assert np.array_equal(result, np.median(stack, axis=0).astype(np.float32))
    assert np.array_equal(result, np.median(stack.astype(np.float32), axis=0))


def test_median_refuses_wider_integers():
    with pytest.raises(ValueError, match="float32 or 8/16-bit integers, got int32"):
        median_rows(np.zeros((3, 2, 2), np.int32))


@pytest.mark.parametrize("method", ["median", "mean"])
def test_combine_writes_into_the_rows_given(method):
    stack = np.random.default_rng(3).normal(size=(10, 6, 40)).astype(np.float32)
    expected = combine_rows(stack.copy(), method=method)
    master = np.zeros((20, 40), np.float32)
    returned = combine_rows(stack, method=method, out=master[4:10])
    assert np.shares_memory(returned, master)
    assert np.array_equal(master[4:10], expected)
    assert not master[:4].any() and not master[10:].any()
    with pytest.raises(ValueError, match="C-contiguous float32"):
        median_rows(stack, out=np.zeros((40, 6), np.float32).T)
