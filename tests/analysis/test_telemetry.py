from datetime import UTC, datetime, timedelta

import pytest

from analysis.telemetry import (
    NICE_BUCKETS_S,
    bucket_start,
    bucket_width,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5min", 300),
        ("5m", 300),
        ("1h", 3600),
        ("1d", 86400),
        ("2w", 1209600),
        ("1.5h", 5400),
        (" 10 MIN ", 600),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5", "h", "-1h", "0s", "1y", "one hour"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError, match="is not a positive number"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["30s", "5min", "1h", "1d", "1w", "90min"])
def test_format_duration_round_trips(text):
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


def test_bucket_width_keeps_under_max_points():
    start = datetime(2026, 1, 1)
    for days in (0.01, 1, 30, 365, 3650):
        end = start + timedelta(days=days)
        width = bucket_width(start, end, 2000)
        assert (end - start) / width <= 2000
        smaller = [w for w in NICE_BUCKETS_S if w < width.total_seconds()]
        if smaller:  # the narrowest that fits
            assert (end - start) / timedelta(seconds=smaller[-1]) > 2000


def test_bucket_width_respects_minimum():
    start = datetime(2026, 1, 1)
    width = bucket_width(start, start + timedelta(hours=1), 2000, minimum=timedelta(minutes=5))
    assert width == timedelta(minutes=5)


def test_bucket_width_refuses_zero_points():
    with pytest.raises(ValueError, match="at least 1"):
        bucket_width(datetime(2026, 1, 1), datetime(2026, 1, 2), 0)


def test_bucket_start_aligns_on_multiples():
    moment = datetime(2026, 3, 4, 17, 42, 13, tzinfo=UTC)
    assert bucket_start(moment, timedelta(hours=1)) == datetime(2026, 3, 4, 17, tzinfo=UTC)
    assert bucket_start(moment, timedelta(days=1)) == datetime(2026, 3, 4, tzinfo=UTC)
    assert bucket_start(moment, timedelta(minutes=5)) == datetime(2026, 3, 4, 17, 40, tzinfo=UTC)
