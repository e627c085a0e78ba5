"""What a burst looks like from the telescope: altitude, airmass, rise and set, the Moon, the night.

Every function takes a :class:`Site`, ICRS positions in degrees and :class:`~astropy.time.Time`
instants, and computes with :mod:`astropy.coordinates` (the Sun and the Moon from
``get_body``, horizontal coordinates from ``AltAz``, no refraction). Events (twilights, rise
and set) are found on a grid of :data:`STEP_MIN` minutes and placed between two samples by
linear interpolation, good to a few seconds.

The computations never reach the network: astropy's IERS tables are used as shipped (UT1-UTC
and polar motion beyond them are taken as their predicted or mean values, which moves a
position by well under an arcsecond, nothing an observability plan can see), see
:func:`offline_iers`.

Example::

    site = Site("San Pedro Martir", 31.0439, -115.4637, 2800.0)
    seen = observability(site, 86.97, -0.44, Time("2026-12-02T03:00:00"))
    seen.altitude_deg, seen.night.evening_astronomical, seen.to_dict()
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.coordinates import AltAz, EarthLocation, SkyCoord, get_body
from astropy.time import Time
from astropy.utils import iers

#: Minutes between two samples of the grid events are found on.
STEP_MIN = 10.0
#: Altitude of the Sun's centre at sunset and sunrise (refraction and half its diameter), deg.
SUNSET_ALTITUDE_DEG = -0.833
#: The Sun's altitude at the end of civil, nautical and astronomical twilight, deg.
TWILIGHT_ALTITUDES_DEG = {"civil": -6.0, "nautical": -12.0, "astronomical": -18.0}
#: Lowest altitude a burst is worth observing at (airmass 2), deg.
MIN_ALTITUDE_DEG = 30.0
#: Hours searched ahead for the coming night and for a burst's rise and set.
SEARCH_HOURS = 30.0
#: Hours of the grid before "now" (the sunset of a night in progress lies there).
PAST_HOURS = 14.0


@dataclass(frozen=True)
class Site:
    """An observatory: geodetic latitude and longitude (deg, east positive) and elevation (m)."""

    name: str
    latitude_deg: float
    longitude_deg: float
    elevation_m: float

    @functools.cached_property
    def location(self) -> EarthLocation:
        return EarthLocation.from_geodetic(
            self.longitude_deg * u.deg, self.latitude_deg * u.deg, self.elevation_m * u.m
        )


@dataclass(frozen=True)
class Night:
    """Sunset, the evening and morning twilights and sunrise of one night (UTC, None if the Sun
    does not reach that altitude)."""

    sunset: Time | None
    evening_civil: Time | None
    evening_nautical: Time | None
    evening_astronomical: Time | None
    morning_astronomical: Time | None
    morning_nautical: Time | None
    morning_civil: Time | None
    sunrise: Time | None

    def to_dict(self) -> dict[str, str | None]:
        return {name: _iso(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Observability:
    """A position seen from a site at one instant and over the coming night.

    ``altitude_deg`` and ``airmass`` (None below the horizon) at ``at``; ``next_rise`` and
    ``next_set`` across the horizon (None when it stays up or down for a day); the Moon's
    distance from the position (deg), its illuminated fraction and altitude (deg);
    ``night``; and the track over the night from sunset to sunrise (``track_times``,
    ``track_altitude_deg``, ``track_airmass``), with the hours of astronomical night the
    position spends above :data:`MIN_ALTITUDE_DEG` (``dark_hours_above``).
    """

    ra_deg: float
    dec_deg: float
    at: Time
    altitude_deg: float
    airmass: float | None
    next_rise: Time | None
    next_set: Time | None
    moon_separation_deg: float
    moon_illumination: float
    moon_altitude_deg: float
    sun_altitude_deg: float
    night: Night
    track_times: Time
    track_altitude_deg: np.ndarray
    track_airmass: np.ndarray
    dark_hours_above: float

    def to_dict(self) -> dict:
        """JSON-ready values: times in ISO UTC, angles in degrees, the track as lists."""
        return {
            "at": _iso(self.at),
            "altitude_deg": round(self.altitude_deg, 3),
            "airmass": None if self.airmass is None else round(self.airmass, 3),
            "next_rise": _iso(self.next_rise),
            "next_set": _iso(self.next_set),
            "moon_separation_deg": round(self.moon_separation_deg, 2),
            "moon_illumination": round(self.moon_illumination, 3),
            "moon_altitude_deg": round(self.moon_altitude_deg, 2),
            "sun_altitude_deg": round(self.sun_altitude_deg, 2),
            "night": self.night.to_dict(),
            "dark_hours_above_min_altitude": round(self.dark_hours_above, 2),
            "min_altitude_deg": MIN_ALTITUDE_DEG,
            "track": {
                "time": [_iso(t) for t in self.track_times],
                "altitude_deg": [round(float(a), 2) for a in self.track_altitude_deg],
                "airmass": [
                    None if np.isnan(a) else round(float(a), 3) for a in self.track_airmass
                ],
            },
        }


@contextlib.contextmanager
def offline_iers() -> Iterator[None]:
    """astropy's IERS settings for a machine that may be offline: no download, and times
    past the shipped tables computed with their last values instead of raising."""
    with (
        iers.conf.set_temp("auto_download", False),
        iers.conf.set_temp("auto_max_age", None),
        iers.conf.set_temp("iers_degraded_accuracy", "ignore"),
    ):
        yield


def airmass(altitude_deg: np.ndarray | float) -> np.ndarray:
    """sec(z) of an altitude (deg); NaN at or below the horizon."""
    altitude = np.asarray(altitude_deg, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(altitude > 0, 1 / np.sin(np.radians(altitude)), np.nan)


def time_grid(start: Time, hours: float, *, step_min: float = STEP_MIN) -> Time:
    """Instants from ``start`` every ``step_min`` minutes over ``hours`` hours."""
    return start + np.arange(0, hours * 60 + step_min, step_min) * u.min


def altitudes(site: Site, ra_deg, dec_deg, times: Time) -> np.ndarray:
    """Altitude (deg) of ICRS positions at ``times`` (broadcast together)."""
    with offline_iers():
        frame = AltAz(obstime=times, location=site.location)
        return SkyCoord(ra_deg * u.deg, dec_deg * u.deg).transform_to(frame).alt.deg


def body_altitudes(site: Site, body: str, times: Time) -> np.ndarray:
    """Altitude (deg) of ``"sun"`` or ``"moon"`` at ``times``."""
    with offline_iers():
        frame = AltAz(obstime=times, location=site.location)
        return get_body(body, times, site.location).transform_to(frame).alt.deg


def crossings(times: Time, values: np.ndarray, level: float, *, rising: bool) -> list[Time]:
    """The instants where ``values`` sampled at ``times`` cross ``level`` upwards (``rising``)
    or downwards, each placed by linear interpolation between its two samples."""
    above = values > level
    index = np.flatnonzero(above[1:] & ~above[:-1] if rising else ~above[1:] & above[:-1])
    if not len(index):
        return []
    fraction = (level - values[index]) / (values[index + 1] - values[index])
    mjd = times.utc.mjd
    found = Time(mjd[index] + fraction * (mjd[index + 1] - mjd[index]), format="mjd", scale="utc")
    return list(found)


def coming_night(site: Site, at: Time) -> Night:
    """The night in progress at ``at``, or the next one in daytime: from the sunset before the
    next sunrise to that sunrise, with the twilights of :data:`TWILIGHT_ALTITUDES_DEG`.

    Raises
    ------
    ValueError
        If the Sun neither sets nor rises within :data:`SEARCH_HOURS` (a polar site).
    """
    times, sun = _sun_grid(site, _grid_start(at))
    return _night(site, times, sun, at)


def _grid_start(at: Time) -> float:
    """The MJD the grid around ``at`` starts at, on a whole step (so that grids are reused)."""
    step = STEP_MIN / 1440
    return float(np.floor((at.utc.mjd - PAST_HOURS / 24) / step) * step)


@functools.lru_cache(maxsize=64)
def _sun_grid(site: Site, start_mjd: float) -> tuple[Time, np.ndarray]:
    """The grid from ``start_mjd`` over :data:`PAST_HOURS` + :data:`SEARCH_HOURS` + one step
    and the Sun's altitude on it (kept: every position seen from one site shares it)."""
    times = time_grid(Time(start_mjd, format="mjd", scale="utc"), PAST_HOURS + SEARCH_HOURS + 1)
    return times, body_altitudes(site, "sun", times)


def _night(site: Site, times: Time, sun: np.ndarray, at: Time) -> Night:
    rises = [t for t in crossings(times, sun, SUNSET_ALTITUDE_DEG, rising=True) if t > at]
    sets = crossings(times, sun, SUNSET_ALTITUDE_DEG, rising=False)
    sets = [t for t in sets if rises and t < rises[0]]
    if not rises or not sets:
        msg = f"{site.name}: the Sun does not set and rise within {SEARCH_HOURS} h of {at.isot}"
        raise ValueError(msg)
    sunset, sunrise = sets[-1], rises[0]
    twilights = {}
    for name, level in TWILIGHT_ALTITUDES_DEG.items():
        evening = [t for t in crossings(times, sun, level, rising=False) if sunset <= t < sunrise]
        morning = [t for t in crossings(times, sun, level, rising=True) if sunset < t <= sunrise]
        twilights[f"evening_{name}"] = evening[-1] if evening else None
        twilights[f"morning_{name}"] = morning[0] if morning else None
    return Night(sunset=sunset, sunrise=sunrise, **twilights)


def moon_illumination(site: Site, at: Time) -> float:
    """The Moon's illuminated fraction (0 new, 1 full) at ``at``, from the Sun–Moon–Earth
    phase angle."""
    with offline_iers():
        return _illumination(
            get_body("sun", at, site.location), get_body("moon", at, site.location)
        )


def _illumination(sun: SkyCoord, moon: SkyCoord) -> float:
    elongation = sun.separation(moon).rad
    phase_angle = np.arctan2(
        sun.distance * np.sin(elongation), moon.distance - sun.distance * np.cos(elongation)
    )
    return float((1 + np.cos(phase_angle.value)) / 2)


def _now(site: Site, ra_deg: float, dec_deg: float, at: Time) -> dict:
    """Altitudes of the position, the Sun and the Moon at ``at``, the Moon's distance from
    the position and its illuminated fraction."""
    with offline_iers():
        frame = AltAz(obstime=at, location=site.location)
        target = SkyCoord(ra_deg * u.deg, dec_deg * u.deg).transform_to(frame)
        sun_seen = get_body("sun", at, site.location)
        moon_seen = get_body("moon", at, site.location)
        moon, sun = moon_seen.transform_to(frame), sun_seen.transform_to(frame)
        illumination = _illumination(sun_seen, moon_seen)
    return {
        "altitude_deg": float(target.alt.deg),
        "moon_separation_deg": float(target.separation(moon).deg),
        "moon_altitude_deg": float(moon.alt.deg),
        "sun_altitude_deg": float(sun.alt.deg),
        "moon_illumination": illumination,
    }


def observability(site: Site, ra_deg: float, dec_deg: float, at: Time) -> Observability:
    """A position seen from ``site`` at ``at`` and over the coming night (see
    :class:`Observability`); the night's track is sampled every :data:`STEP_MIN` minutes.

    Parameters
    ----------
    site : Site
    ra_deg, dec_deg : float
        ICRS position, deg.
    at : Time
        The instant "now" stands for.

    Raises
    ------
    ValueError
        If the position is not finite or Dec lies outside [-90, 90]; the message gives it.
    """
    if not (np.isfinite(ra_deg) and np.isfinite(dec_deg) and -90 <= dec_deg <= 90):
        raise ValueError(f"position RA {ra_deg}, Dec {dec_deg} deg is not a sky position")
    times, sun = _sun_grid(site, _grid_start(at))
    night = _night(site, times, sun, at)
    altitude = altitudes(site, ra_deg, dec_deg, times)
    ahead = times > at
    rises = crossings(times[ahead], altitude[ahead], 0.0, rising=True)
    sets = crossings(times[ahead], altitude[ahead], 0.0, rising=False)
    in_night = (times >= night.sunset) & (times <= night.sunrise)
    now = _now(site, ra_deg, dec_deg, at)
    return Observability(
        ra_deg=float(ra_deg),
        dec_deg=float(dec_deg),
        at=at,
        airmass=None if now["altitude_deg"] <= 0 else float(airmass(now["altitude_deg"])),
        next_rise=rises[0] if rises else None,
        next_set=sets[0] if sets else None,
        night=night,
        track_times=times[in_night],
        track_altitude_deg=altitude[in_night],
        track_airmass=airmass(altitude[in_night]),
        dark_hours_above=_dark_hours_above(night, times, altitude),
        **now,
    )


def _dark_hours_above(night: Night, times: Time, altitude: np.ndarray) -> float:
    start, end = night.evening_astronomical, night.morning_astronomical
    if start is None or end is None:
        return 0.0
    dark = (times >= start) & (times <= end) & (altitude >= MIN_ALTITUDE_DEG)
    return float(dark.sum() * STEP_MIN / 60)


def _iso(moment: Time | None) -> str | None:
    return None if moment is None else moment.utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def horizon(site: Site, at: Time, *, altitude_deg: float = 0.0, points: int = 181) -> tuple:
    """The circle of the sky at ``altitude_deg`` above the site's horizon at ``at``, as ICRS
    (RA, Dec) arrays in degrees, azimuth 0 to 360."""
    with offline_iers():
        azimuth = np.linspace(0, 360, points) * u.deg
        frame = AltAz(obstime=at, location=site.location)
        circle = SkyCoord(az=azimuth, alt=np.full(points, altitude_deg) * u.deg, frame=frame)
        icrs = circle.icrs
    return icrs.ra.deg, icrs.dec.deg


def sun_and_moon(site: Site, at: Time) -> dict[str, tuple[float, float]]:
    """The Sun's and the Moon's ICRS (RA, Dec), deg, seen from the site at ``at``."""
    with offline_iers():
        bodies = {name: get_body(name, at, site.location).icrs for name in ("sun", "moon")}
    return {name: (float(c.ra.deg), float(c.dec.deg)) for name, c in bodies.items()}


#: The keys :func:`with_observability` adds to a trigger file, after the file's own keys.
TRIGGER_OBSERVABILITY_KEYS: tuple[str, ...] = (
    "obs_site",
    "obs_computed",
    "obs_altitude_deg",
    "obs_airmass",
    "obs_next_rise",
    "obs_next_set",
    "obs_moon_separation_deg",
    "obs_moon_illumination",
    "obs_sunset",
    "obs_night_start",
    "obs_night_end",
    "obs_sunrise",
    "obs_dark_hours_above_min_altitude",
)


def with_observability(trigger_text: str, site: Site, at: Time) -> str:
    """A trigger file's text with the observability of its position from ``site`` at ``at``
    as the ``obs_*`` lines of :data:`TRIGGER_OBSERVABILITY_KEYS` (any older ones replaced;
    the file's own lines unchanged). The night is astronomical twilight to twilight; an
    unknown value is ``none``. A file without a position gets no ``obs_*`` line.

    Raises
    ------
    ValueError
        If the file cannot be read (see :func:`analysis.trigger_file.read_trigger_file`).
    """
    from analysis.trigger_file import read_trigger_file

    own = [line for line in trigger_text.splitlines() if not line.startswith("obs_")]
    values = read_trigger_file("\n".join(own))
    try:
        ra, dec = float(values.get("ra_deg", "")), float(values.get("dec_deg", ""))
        seen = observability(site, ra, dec, at).to_dict()
    except ValueError:
        return "\n".join(own) + "\n"
    extra = {
        "obs_site": site.name,
        "obs_computed": seen["at"],
        "obs_altitude_deg": seen["altitude_deg"],
        "obs_airmass": seen["airmass"],
        "obs_next_rise": seen["next_rise"],
        "obs_next_set": seen["next_set"],
        "obs_moon_separation_deg": seen["moon_separation_deg"],
        "obs_moon_illumination": seen["moon_illumination"],
        "obs_sunset": seen["night"]["sunset"],
        "obs_night_start": seen["night"]["evening_astronomical"],
        "obs_night_end": seen["night"]["morning_astronomical"],
        "obs_sunrise": seen["night"]["sunrise"],
        "obs_dark_hours_above_min_altitude": seen["dark_hours_above_min_altitude"],
    }
    lines = [f"{key} = {'none' if extra[key] is None else extra[key]}" for key in extra]
    return "\n".join(own + lines) + "\n"


def above(
    site: Site, ra_deg: np.ndarray, dec_deg: np.ndarray, times: Time, *, min_altitude_deg=0.0
) -> np.ndarray:
    """Whether each of the positions (1-D arrays, deg) stands above ``min_altitude_deg`` at
    one instant at least of ``times`` (an instant, or a 1-D array of them)."""
    when = times.reshape(-1, 1) if not times.isscalar else times
    altitude = altitudes(site, np.asarray(ra_deg)[None, :], np.asarray(dec_deg)[None, :], when)
    return (np.atleast_2d(altitude) > min_altitude_deg).any(axis=0)
