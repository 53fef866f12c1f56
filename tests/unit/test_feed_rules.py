"""The head's home buckets (§2.4.2) at their exact boundaries, feed times in Asia/Shanghai, and the kept
days of NAT data (whole calendar days, as the testing rules judge them)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.rules import feeds
from chalicelib.rules.clock import SHANGHAI, local_day

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)  # 09:00 in Asia/Shanghai


@pytest.mark.parametrize("age,expected", [
    (timedelta(0), "h24"),
    (timedelta(hours=24), "h24"),  # n ≤ 24
    (timedelta(hours=24, seconds=1), "h48"),
    (timedelta(hours=48), "h48"),
    (timedelta(hours=48, seconds=1), "h72"),
    (timedelta(hours=72), "h72"),
    (timedelta(hours=72, seconds=1), "over72"),
    (timedelta(days=14), "over72"),  # still within the kept days
    (timedelta(days=14, hours=9), "over72"),  # 11-12 00:00:00 Shanghai: the first second kept
    (timedelta(days=14, hours=9, seconds=1), "unmatched"),
])
def test_bucket_boundaries(age, expected):
    assert feeds.bucket(NOW - age, NOW) == expected


def test_no_sample_is_unmatched():
    assert feeds.bucket(None, NOW) == "unmatched"


def test_naive_times_are_shanghai_wall_clock():
    sampled = feeds.parse_instant("2026-11-26 00:30:00", "采样时间")
    assert sampled == datetime(2026, 11, 25, 16, 30, tzinfo=timezone.utc)
    assert local_day(sampled).isoformat() == "2026-11-26"  # the Shanghai day, not the UTC one
    assert feeds.parse_instant("2026-11-25T16:30:00Z", "采样时间") == sampled
    assert feeds.parse_instant("2026/11/26 00:30", "采样时间") == sampled
    assert feeds.parse_instant(datetime(2026, 11, 26, 0, 30), "采样时间").astimezone(SHANGHAI).hour == 0


@pytest.mark.parametrize("raw,expected", [
    ("2026/11/26 0:30", "2026-11-26T00:30:00+08:00"),  # what a spreadsheet writes: unpadded, no seconds
    ("2026/1/5 8:05:09", "2026-01-05T08:05:09+08:00"),
    ("2026-1-5", "2026-01-05T00:00:00+08:00"),
    ("2026/1/5", "2026-01-05T00:00:00+08:00"),  # a vaccination day as Excel exports it
    ("20260105080509", "2026-01-05T08:05:09+08:00"),
])
def test_spreadsheet_style_times(raw, expected):
    assert feeds.parse_instant(raw, "采样时间").isoformat() == expected


@pytest.mark.parametrize("raw", ["2026/1-5 8:00", "2026/2/29 8:00", "2026/1/5 24:00", "1/5/2026 8:00"])
def test_times_that_are_refused_name_the_column(raw):
    with pytest.raises(feeds.RowError, match="采样时间.*不是有效的时间"):
        feeds.parse_instant(raw, "采样时间")


def test_just_before_midnight_is_the_previous_day():
    assert local_day(feeds.parse_instant("2026-11-25 23:59:59", "采样时间")).isoformat() == "2026-11-25"


@pytest.mark.parametrize("raw,expected", [("阴性", "阴性"), ("Negative", "阴性"), ("阳性", "阳性"),
                                          ("pending", "未出结果"), ("", "未出结果"), ("待出结果", "未出结果")])
def test_results(raw, expected):
    assert feeds.parse_result(raw) == expected


@pytest.mark.parametrize("raw,expected", [("1", 1), (2.0, 2), ("第三针", 3), ("加强针", 3)])
def test_doses(raw, expected):
    assert feeds.parse_dose(raw) == expected


def test_future_samples_are_refused_and_old_ones_skipped():
    with pytest.raises(feeds.RowError):
        feeds.check_sample_window(NOW + timedelta(hours=2), NOW)
    assert feeds.check_sample_window(NOW - timedelta(days=15), NOW) is False


def shanghai(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize("instant,since", [
    ("2026-12-08 00:00:00", "2026-11-24 00:00:00"),
    ("2026-12-08 02:00:00", "2026-11-24 00:00:00"),  # the night: 十四天一检's window begins at 11-24 00:00
    ("2026-12-08 23:59:59", "2026-11-24 00:00:00"),
    ("2026-12-09 00:00:00", "2026-11-25 00:00:00"),
    ("2026-03-01 08:00:00", "2026-02-15 00:00:00"),  # across a month end
])
def test_kept_since_is_the_midnight_fourteen_days_before_the_day(instant, since):
    assert feeds.kept_since(shanghai(instant)) == shanghai(since)


def test_kept_since_takes_the_day_in_shanghai_not_in_utc():
    # 2026-12-07 17:00 UTC is 12-08 01:00 in Asia/Shanghai
    assert feeds.kept_since(datetime(2026, 12, 7, 17, 0, tzinfo=timezone.utc)) == shanghai("2026-11-24 00:00:00")
    assert feeds.sample_window(NOW)[0] == feeds.kept_since(NOW) == shanghai("2026-11-12 00:00:00")


@pytest.mark.parametrize("sampled,until", [
    ("2026-11-24 00:00:00", "2026-12-09 00:00:00"),
    ("2026-11-24 23:59:59", "2026-12-09 00:00:00"),
    ("2026-11-25 00:00:00", "2026-12-10 00:00:00"),
])
def test_kept_until_is_when_no_window_needs_the_sample_any_more(sampled, until):
    at = shanghai(sampled)
    assert feeds.kept_until(at) == shanghai(until)
    # kept exactly while it is inside the kept days
    assert feeds.kept_since(feeds.kept_until(at) - timedelta(seconds=1)) <= at
    assert feeds.kept_since(feeds.kept_until(at)) > at


def test_a_window_is_whole_at_any_hour_of_its_run_day():
    from chalicelib.rules import testing

    fourteen = testing.rule("14d1")
    for hour in range(24):
        run = shanghai("2026-12-08 00:00:00") + timedelta(hours=hour, minutes=59)
        start, _ = testing.window(fourteen, local_day(run))
        assert feeds.kept_since(run) <= start
