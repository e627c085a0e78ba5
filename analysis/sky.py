"""The geometry of an all-sky map: the Aitoff projection, circles on the sphere, the galactic plane.

Angles are in degrees. The map follows the astronomers' habit: RA increases to the left,
the centre of the map is at RA :data:`CENTRE_RA_DEG`. A curve that crosses the map's edge
is cut there by a NaN, which plotting libraries draw as a gap.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord

#: RA at the centre of the map, deg.
CENTRE_RA_DEG = 180.0


def aitoff(ra_deg, dec_deg, *, centre_ra_deg: float = CENTRE_RA_DEG) -> tuple:
    """Aitoff map coordinates (x, y), deg, of ICRS positions: x in [-180, 180] grows to the
    right as RA decreases (RA increases to the left), y in [-90, 90].

    ``x = -2 cos(δ) sin(λ/2) / sinc(α)``, ``y = sin(δ) / sinc(α)``, with
    ``α = arccos(cos(δ) cos(λ/2))``, ``λ`` the RA from the centre in (-180, 180] and
    ``sinc(α) = sin(α)/α`` (Snyder, *Map Projections: A Working Manual*, 1987, p. 249).
    """
    lon = np.radians((np.asarray(ra_deg, dtype=float) - centre_ra_deg + 180) % 360 - 180)
    lat = np.radians(np.asarray(dec_deg, dtype=float))
    alpha = np.arccos(np.cos(lat) * np.cos(lon / 2))
    sinc = np.sinc(alpha / np.pi)  # numpy's sinc is sin(pi t) / (pi t)
    x = -2 * np.cos(lat) * np.sin(lon / 2) / sinc
    y = np.sin(lat) / sinc
    return np.degrees(x), np.degrees(y)


def cut_at_edge(ra_deg, dec_deg, *, centre_ra_deg: float = CENTRE_RA_DEG) -> tuple:
    """A curve's points with a NaN put between two that lie on either side of the map's edge."""
    ra = np.asarray(ra_deg, dtype=float)
    dec = np.asarray(dec_deg, dtype=float)
    lon = (ra - centre_ra_deg + 180) % 360 - 180
    jumps = np.flatnonzero(np.abs(np.diff(lon)) > 180) + 1
    return np.insert(ra, jumps, np.nan), np.insert(dec, jumps, np.nan)


def small_circle(
    ra_deg: float, dec_deg: float, radius_deg: float, *, points: int = 73
) -> tuple[np.ndarray, np.ndarray]:
    """The points (RA, Dec), deg, at ``radius_deg`` on the sphere from a centre: an error
    circle at its true size, however close to a pole."""
    ra0, dec0, radius = np.radians([ra_deg, dec_deg, radius_deg])
    angle = np.linspace(0, 2 * np.pi, points)
    dec = np.arcsin(np.sin(dec0) * np.cos(radius) + np.cos(dec0) * np.sin(radius) * np.cos(angle))
    ra = ra0 + np.arctan2(
        np.sin(angle) * np.sin(radius) * np.cos(dec0),
        np.cos(radius) - np.sin(dec0) * np.sin(dec),
    )
    return np.degrees(ra) % 360, np.degrees(dec)


def galactic_plane(*, points: int = 361) -> tuple[np.ndarray, np.ndarray]:
    """The galactic equator (b = 0) in ICRS (RA, Dec), deg, from l = 0 to 360."""
    plane = SkyCoord(np.linspace(0, 360, points) * u.deg, 0 * u.deg, frame="galactic").icrs
    return plane.ra.deg, plane.dec.deg
