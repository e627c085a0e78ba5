"""When the nightly calibration run is due: the site's morning twilight, checked against
astropy, plus the delay; the nights due, late links included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import AltAz, get_body
from astropy.time import Time

from analysis.calibration.schedule import due_nights, night_end, run_due_at
from analysis.observability import Site, offline_iers

SPM = Site("OAN San Pedro Martir", 31.0439, -115.4637, 2800.0)


def astropy_morning_twilight(site: Site, around: datetime) -> datetime:
    """The Sun rising through -18° within half an hour of ``around``, to the second."""
    times = Time(around) + np.arange(-1800, 1801, 30) * u.s
    with offline_iers():
        frame = AltAz(obstime=times, location=site.location)
        alt = get_body("sun", times, site.location).transform_to(frame).alt.deg
    k = int(np.flatnonzero((alt[:-1] < -18) & (alt[1:] >= -18))[0])
    fraction = (-18 - alt[k]) / (alt[k + 1] - alt[k])
    return (times[k] + fraction * 30 * u.s).to_datetime(timezone=UTC)


@pytest.mark.parametrize("night", [date(2024, 3, 1), date(2025, 6, 21), date(2025, 12, 21)])
def test_the_night_ends_at_the_morning_astronomical_twilight_as_astropy_finds_it(night):
    end = night_end(night, SPM)
    assert end.date() == night + timedelta(days=1)  # the next morning at SPM, UTC
    assert 10 <= end.hour <= 13  # before sunrise, local (UTC-7) 3 to 6 am
    assert abs((end - astropy_morning_twilight(SPM, end)).total_seconds()) < 60


def test_the_run_is_due_the_delay_after():
    night = date(2024, 3, 1)
    assert run_due_at(night, SPM, delay_h=1.5) - night_end(night, SPM) == timedelta(hours=1.5)


def test_due_nights_are_those_past_due_not_run_or_with_late_links():
    now = datetime(2024, 3, 2, 15, 0, tzinfo=UTC)  # after the night of March 1st ended
    kwargs = {"site": SPM, "delay_h": 1.0, "lookback_days": 3}
    assert due_nights(now, {}, **kwargs) == [date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)]
    ran = datetime(2024, 3, 2, 14, 0)
    done = {date(2024, 2, 28): ran, date(2024, 2, 29): ran, date(2024, 3, 1): ran}
    assert due_nights(now, done, **kwargs) == []
    late = {date(2024, 2, 29): ran + timedelta(minutes=5), date(2024, 3, 1): ran}
    assert due_nights(now, done, links_received=late, **kwargs) == [date(2024, 2, 29)]
    early = datetime(2024, 3, 2, 12, 0, tzinfo=UTC)  # before the twilight: March 1st not yet
    assert date(2024, 3, 1) not in due_nights(early, {}, **kwargs)


def test_due_nights_refuses_a_naive_time():
    with pytest.raises(ValueError, match="must be an aware"):
        due_nights(datetime(2024, 3, 2), {}, site=SPM, delay_h=1, lookback_days=1)
