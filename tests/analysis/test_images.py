"""Display downsampling and the zscale range."""

from __future__ import annotations

import numpy as np

from analysis.images import DISPLAY_MAX_SIDE, block_mean, block_size, zscale_limits


def test_block_mean_keeps_big_images_small_and_nan_blocks_nan():
    data = np.arange(2050 * 1030, dtype=np.float32).reshape(2050, 1030)
    data[:3, :3] = np.nan
    small = block_mean(data)
    assert max(small.shape) <= DISPLAY_MAX_SIDE and small.shape == (683, 343)
    assert block_size(data.shape) == 3
    assert np.isnan(small[0, 0]) and np.isfinite(small[1:, 1:]).all()
    assert block_mean(data[:100, :100]).shape == (100, 100)


def test_block_mean_ignores_nan_inside_a_block():
    data = np.array([[1.0, np.nan], [3.0, 5.0]], dtype=np.float32)
    assert block_mean(data, max_side=1).tolist() == [[3.0]]
    assert block_mean(data, max_side=1).dtype == np.float32


def test_block_mean_tiles_from_the_origin_and_leaves_the_partial_edge_out():
    frame = np.arange(2048 * 1536, dtype=np.float32).reshape(1536, 2048)
    kept = block_mean(frame)
    assert kept.shape == (768, 1024)
    assert kept[0, 0] == np.mean(frame[:2, :2])
    assert block_mean(np.ones((5, 7)), max_side=2).shape == (1, 1)


def test_zscale_ignores_a_hot_pixel_and_never_gives_an_empty_range():
    rng = np.random.default_rng(1)
    data = rng.normal(1000, 3, (64, 80)).astype(np.float32)
    data[10, 10] = 60000
    low, high = zscale_limits(data)
    assert 970 < low < 1000 < high < 1030
    assert zscale_limits(np.full((4, 4), np.nan)) == (0.0, 1.0)
    assert zscale_limits(np.full((4, 4), 7.0)) == (6.5, 7.5)
