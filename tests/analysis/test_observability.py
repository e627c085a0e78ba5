"""Observability from San Pedro Martir, checked against astropy's own coordinates."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import AltAz, SkyCoord, get_body
from astropy.time import Time

from analysis.observability import (
    SUNSET_ALTITUDE_DEG,
    TRIGGER_OBSERVABILITY_KEYS,
    Site,
    coming_night,
    horizon,
    moon_illumination,
    observability,
    offline_iers,
    with_observability,
)

SPM = Site("OAN San Pedro Martir", 31.0439, -115.4637, 2800.0)
EVENING = Time("2026-12-02T20:00:00")  # noon in Baja California: the night is ahead
DEEP_NIGHT = Time("2026-12-03T08:00:00")  # 01:00 local time


def sun_altitude(at: Time) -> float:
    with offline_iers():
        frame = AltAz(obstime=at, location=SPM.location)
        return float(get_body("sun", at, SPM.location).transform_to(frame).alt.deg)


def altaz(ra: float, dec: float, at: Time):
    with offline_iers():
        frame = AltAz(obstime=at, location=SPM.location)
        return SkyCoord(ra * u.deg, dec * u.deg).transform_to(frame)


def test_the_sun_is_at_the_twilight_altitudes_at_the_computed_times():
    night = coming_night(SPM, EVENING)
    expected = {
        "sunset": SUNSET_ALTITUDE_DEG,
        "evening_civil": -6,
        "evening_nautical": -12,
        "evening_astronomical": -18,
        "morning_astronomical": -18,
        "morning_nautical": -12,
        "morning_civil": -6,
        "sunrise": SUNSET_ALTITUDE_DEG,
    }
    for name, altitude in expected.items():
        assert sun_altitude(getattr(night, name)) == pytest.approx(altitude, abs=0.05), name
    assert EVENING < night.sunset < night.evening_astronomical < night.morning_astronomical
    assert sun_altitude(night.evening_astronomical + 10 * u.min) < -18  # it keeps setting
    assert (night.sunrise - night.sunset).to_value(u.h) == pytest.approx(13.75, abs=0.5)


def test_a_night_in_progress_started_before_now():
    night = coming_night(SPM, DEEP_NIGHT)
    assert night.sunset < DEEP_NIGHT < night.sunrise
    assert abs((night.sunset - coming_night(SPM, EVENING).sunset).to_value(u.s)) < 1


def test_altitude_airmass_moon_match_astropy():
    ra, dec = 86.9755, -0.4379
    seen = observability(SPM, ra, dec, DEEP_NIGHT)
    direct = altaz(ra, dec, DEEP_NIGHT)
    assert seen.altitude_deg == pytest.approx(direct.alt.deg, abs=1e-6)
    assert seen.airmass == pytest.approx(float(direct.secz), rel=1e-6)
    with offline_iers():
        moon = get_body("moon", DEEP_NIGHT, SPM.location).transform_to(direct.frame)
    assert seen.moon_separation_deg == pytest.approx(direct.separation(moon).deg, abs=1e-6)
    assert seen.moon_altitude_deg == pytest.approx(moon.alt.deg, abs=1e-6)
    assert seen.sun_altitude_deg < -18
    track = seen.track_times
    assert track[0] >= seen.night.sunset and track[-1] <= seen.night.sunrise
    assert seen.track_altitude_deg[5] == pytest.approx(altaz(ra, dec, track[5]).alt.deg, abs=1e-6)


def test_next_rise_and_set_are_on_the_horizon():
    seen = observability(SPM, 250.0, 20.0, EVENING)
    assert EVENING < seen.next_rise and EVENING < seen.next_set
    assert altaz(250.0, 20.0, seen.next_rise).alt.deg == pytest.approx(0, abs=0.05)
    assert altaz(250.0, 20.0, seen.next_set).alt.deg == pytest.approx(0, abs=0.05)
    assert altaz(250.0, 20.0, seen.next_rise + 10 * u.min).alt.deg > 0


def test_circumpolar_and_never_rising_positions():
    assert observability(SPM, 10.0, 85.0, EVENING).next_set is None
    never = observability(SPM, 10.0, -80.0, EVENING)
    assert never.next_rise is None and never.airmass is None
    assert np.isnan(never.track_airmass).all() and never.dark_hours_above == 0


def test_moon_illumination_follows_its_elongation():
    for moment in (Time("2026-12-09T00:00:00"), Time("2026-12-16T00:00:00"), EVENING):
        with offline_iers():
            sun = get_body("sun", moment, SPM.location)
            moon = get_body("moon", moment, SPM.location)
            elongation = sun.separation(moon).rad
        assert moon_illumination(SPM, moment) == pytest.approx(
            (1 - np.cos(elongation)) / 2, abs=0.01
        )


def test_horizon_is_at_zero_altitude():
    ra, dec = horizon(SPM, DEEP_NIGHT, points=7)
    assert altaz(ra[3], dec[3], DEEP_NIGHT).alt.deg == pytest.approx(0, abs=1e-6)


def test_a_bad_position_is_refused():
    with pytest.raises(ValueError, match="not a sky position"):
        observability(SPM, 10.0, 95.0, EVENING)


TRIGGER = (
    "# comment\nburst_id = sb26120201\nra_deg = 86.9755\ndec_deg = -0.4379\nretracted = false\n"
)


def test_trigger_file_gains_observability_keys_and_keeps_its_own():
    extended = with_observability(TRIGGER, SPM, DEEP_NIGHT)
    assert extended.startswith(TRIGGER)
    keys = [line.split(" = ")[0] for line in extended.splitlines()[5:]]
    assert tuple(keys) == TRIGGER_OBSERVABILITY_KEYS
    again = with_observability(extended, SPM, EVENING)  # older obs_ lines replaced
    assert again.startswith(TRIGGER) and again.count("obs_altitude_deg") == 1
    assert again != extended
    no_position = TRIGGER.replace("86.9755", "none")
    assert with_observability(no_position, SPM, EVENING) == no_position
