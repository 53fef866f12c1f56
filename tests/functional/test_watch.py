"""The ops watch (services/operations/watch.py, every half hour) publishes what the alarms of
infra/operations.json watch (issue 23): from 08:30 Asia/Shanghai whether today's night run is 完成, from the
stage's NatFeedDeadlineHour whether a NAT file arrived today — read from the records 告警记录 and 数据接入 show,
under the watch's own IAM policy (moto enforces it here)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import boto3
import pytest

from chalicelib.rules.clock import SHANGHAI
from chalicelib.store.compliance import HEADER, ComplianceRun
from chalicelib.store.models import FeedFile

DAY = date(2026, 12, 8)


def at(clock: time, day: date = DAY) -> dict:
    """A scheduled event as EventBridge sends it: `time` in UTC."""
    instant = datetime.combine(day, clock, SHANGHAI).astimezone(timezone.utc)
    return {"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events", "account": "1",
            "time": instant.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": "us-east-1", "resources": ["arn"], "detail": {}}


@pytest.fixture
def watch(aws, monkeypatch):
    """Runs the app's ops_watch handler at a Shanghai time; returns the metrics published then."""
    import app as application
    from chalicelib.services.operations import watch as module

    monkeypatch.setenv("NAT_FEED_DEADLINE_HOUR", "11")

    def run(clock: time, day: date = DAY) -> dict:
        instant = datetime.combine(day, clock, SHANGHAI)
        monkeypatch.setattr(module, "now", lambda: instant.astimezone(timezone.utc))
        application.ops_watch(at(clock, day), None)
        return published(instant)

    return run


def published(instant: datetime) -> dict:
    cloudwatch, found = boto3.client("cloudwatch"), {}
    for name in ("NightFinished", "NatFeedArrived"):
        points = cloudwatch.get_metric_statistics(
            Namespace="Sentinel", MetricName=name, Dimensions=[{"Name": "Stage", "Value": "local"}],
            StartTime=instant - timedelta(minutes=1), EndTime=instant + timedelta(minutes=1), Period=60,
            Statistics=["Minimum"])["Datapoints"]
        if points:
            found[name] = min(p["Minimum"] for p in points)
    return found


def _feed(received: datetime, status: str, n: int = 1) -> None:
    FeedFile(f"feeds/nat/{n}.csv#etag", kind="nat", object_key=f"feeds/nat/{n}.csv", filename=f"{n}.csv",
             status=status, received_at=received.astimezone(timezone.utc)).save()


def test_before_half_past_eight_and_before_the_feeds_hour_nothing_is_published(watch):
    assert watch(time(8, 0)) == {}


def test_the_night_is_reported_unfinished_from_half_past_eight_until_it_is_done(watch):
    assert watch(time(8, 30)) == {"NightFinished": 0}  # no run at all today
    ComplianceRun(DAY.isoformat(), HEADER, status="running", parts=3).save()
    assert watch(time(9, 0)) == {"NightFinished": 0}
    ComplianceRun(DAY.isoformat(), HEADER, status="failed", parts=3).save()
    assert watch(time(9, 30)) == {"NightFinished": 0}  # ended 失败: not finished either
    ComplianceRun(DAY.isoformat(), HEADER, status="done", parts=3).save()
    assert watch(time(10, 0)) == {"NightFinished": 1}  # the alarm returns to OK
    ComplianceRun((DAY - timedelta(days=1)).isoformat(), HEADER, status="done").save()
    assert watch(time(8, 30), DAY + timedelta(days=1)) == {"NightFinished": 0}  # yesterday's run is not today's


def test_a_missing_nat_feed_is_reported_from_the_stages_hour_until_a_file_arrives(watch):
    assert "NatFeedArrived" not in watch(time(10, 30))  # before NatFeedDeadlineHour (11 here)
    _feed(datetime.combine(DAY - timedelta(days=1), time(23, 0), SHANGHAI), "done", 1)  # yesterday's
    _feed(datetime.combine(DAY, time(9, 0), SHANGHAI), "quarantined", 2)  # unreadable: not data
    assert watch(time(11, 0))["NatFeedArrived"] == 0
    _feed(datetime.combine(DAY, time(11, 10), SHANGHAI), "running", 3)  # being read
    assert watch(time(11, 30))["NatFeedArrived"] == 1
    assert watch(time(0, 0), DAY + timedelta(days=1)) == {}  # a new day: asked again from its 11:00 on
