"""The all-sky map's geometry: Aitoff, circles on the sphere, the galactic plane."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from analysis.sky import aitoff, cut_at_edge, galactic_plane, small_circle


def test_aitoff_known_points():
    x, y = aitoff([180.0, 90.0, 270.0, 180.0, 0.0], [0.0, 0.0, 0.0, 90.0, 0.0])
    np.testing.assert_allclose(x, [0, 90, -90, 0, 180], atol=1e-9)  # RA grows to the left
    np.testing.assert_allclose(y, [0, 0, 0, 90, 0], atol=1e-9)
    # the map's outline is the ellipse x^2/180^2 + y^2/90^2 = 1
    x, y = aitoff(np.full(5, 0.0001), np.linspace(-80, 80, 5))
    np.testing.assert_allclose((x / 180) ** 2 + (y / 90) ** 2, 1, atol=1e-4)


def test_small_circle_has_its_true_radius():
    for dec in (0.0, 60.0, 89.5):
        ra, decs = small_circle(10.0, dec, 2.0, points=13)
        centre = SkyCoord(10 * u.deg, dec * u.deg)
        np.testing.assert_allclose(
            centre.separation(SkyCoord(ra * u.deg, decs * u.deg)).deg, 2.0, atol=1e-9
        )


def test_galactic_plane_passes_the_centre_and_lines_cut_at_the_edge():
    ra, dec = galactic_plane(points=5)
    assert ra[0] == pytest.approx(266.405, abs=1e-3) and dec[0] == pytest.approx(-28.936, abs=1e-3)
    cut_ra, _ = cut_at_edge([170.0, 350.0, 10.0, 20.0], [0.0, 0.0, 0.0, 0.0])
    assert np.isnan(cut_ra).sum() == 1 and np.isnan(cut_ra[2])
