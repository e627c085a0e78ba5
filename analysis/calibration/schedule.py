"""When a night's calibration run is due: after the night's end at the site, and again when
links arrived late.

The notes start the process "after the end of the observing period": the morning
astronomical twilight of the night (the Sun back at -18°) at the site, plus a delay that
leaves TCS and the CDB the time to send the last series.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

from astropy.time import Time

from analysis.observability import Site, coming_night


def night_end(night: date, site: Site) -> datetime:
    """The morning astronomical twilight that ends ``night`` at ``site`` (UTC).

    ``night`` is the date of the evening the night starts on, at the site (the workbench's
    night dates). Where the Sun does not reach -18° that night, the sunrise.

    Raises
    ------
    ValueError
        If the Sun neither sets nor rises within a day (a polar site).
    """
    local_noon = datetime(night.year, night.month, night.day, 12, tzinfo=UTC) - timedelta(
        hours=site.longitude_deg / 15
    )
    found = coming_night(site, Time(local_noon))
    end = found.morning_astronomical or found.sunrise
    return end.to_datetime(timezone=UTC)


def run_due_at(night: date, site: Site, *, delay_h: float) -> datetime:
    """When ``night``'s calibration run is due: :func:`night_end` plus ``delay_h`` hours.

    Examples
    --------
    >>> spm = Site("SPM", 31.0439, -115.4637, 2800.0)
    >>> run_due_at(date(2024, 3, 1), spm, delay_h=1.0).isoformat(timespec="minutes")
    '2024-03-02T13:46+00:00'
    """
    return night_end(night, site) + timedelta(hours=delay_h)


def due_nights(
    now: datetime,
    done: Mapping[date, datetime],
    *,
    site: Site,
    delay_h: float,
    lookback_days: int,
    links_received: Mapping[date, datetime] | None = None,
) -> list[date]:
    """The nights whose calibration run should start at ``now``, oldest first.

    A night of the last ``lookback_days`` before ``now``'s date, or of that date, is due once
    :func:`run_due_at` has passed, when it has not been run yet or when links of it were
    received after its last run started (late links).

    Parameters
    ----------
    now : datetime
        Aware (UTC) time.
    done : mapping
        Night to the start of its last run.
    site : Site
    delay_h : float
        Hours after the night's end.
    lookback_days : int
        Nights considered, the newest first (>= 1).
    links_received : mapping, optional
        Night to the time the newest of its links was received.

    Raises
    ------
    ValueError
        If ``now`` is naive or ``lookback_days`` < 1.
    """
    if now.tzinfo is None:
        raise ValueError(f"now {now.isoformat()} must be an aware (UTC) time")
    if lookback_days < 1:
        raise ValueError(f"lookback_days must be >= 1, got {lookback_days}")
    links_received = links_received or {}
    nights = (now.date() - timedelta(days=back) for back in range(lookback_days, -1, -1))
    return [
        night
        for night in nights
        if run_due_at(night, site, delay_h=delay_h) <= now
        and (night not in done or links_received.get(night, done[night]) > done[night])
    ]
