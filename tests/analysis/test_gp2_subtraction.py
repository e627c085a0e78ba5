"""The named decisions of the subtraction: when a PSF counts as broadened, how far a known
star is masked."""

from __future__ import annotations

import math

import numpy as np

from analysis.gp2.subtraction import (
    KNOWN_BRIGHT_FROM_MAG,
    KNOWN_BRIGHT_SPAN_MAG,
    KNOWN_RADIUS_GROWTH_PER_MAG,
    known_source_radius,
    psf_broadened,
)


def test_known_stars_brighter_than_the_margin_get_a_wider_mask():
    limit = 20.0
    mags = np.array([limit, limit - KNOWN_BRIGHT_FROM_MAG - 2.0, -100.0])
    radius = known_source_radius(3.0, limit, mags)
    top = 3.0 * (1.0 + KNOWN_RADIUS_GROWTH_PER_MAG * KNOWN_BRIGHT_SPAN_MAG)
    assert np.allclose(radius, [3.0, 3.0 * (1.0 + 2.0 * KNOWN_RADIUS_GROWTH_PER_MAG), top])


def test_without_a_limit_every_known_star_gets_the_base_radius():
    assert known_source_radius(3.0, math.nan, np.array([5.0, 25.0])) == 3.0


def test_a_psf_counts_as_broadened_only_beyond_rounding():
    assert not psf_broadened(3.0, 3.0)
    assert not psf_broadened(3.0, 3.0 * (1 + 1e-6))
    assert psf_broadened(3.0, 3.1)
