"""The ops watch (`ops_watch`, every half hour): the two things 运维 must hear of before 09:00 that no AWS
metric says, published as metrics the alarms of infra/operations.json watch (docs/deploy.md, Alarms):

- NightFinished, from 08:30 Asia/Shanghai on: 1 once today's overnight run (告警记录) is 完成, else 0 —
  a run that never started, is still running, or ended 失败 alike. The 09:00 push sends lists only then.
- NatFeedArrived, from NAT_FEED_DEADLINE_HOUR (stack parameter NatFeedDeadlineHour) on: 1 once a NAT file
  received today is being read or was read (数据接入; a quarantined or failed one is not data), else 0.

Before those times nothing is published, and the alarms keep their state (missing data ignored). Read
from the records the console shows, so an alarm and 告警记录 / 数据接入 never disagree. Why a check rather
than a metric sent when the night finishes: an alarm must fire on something that did *not* happen (a night
that never started, a feed that never came), which a metric published on success can only show by its
absence — and CloudWatch cannot tell "no data because not yet" from "no data because never". If the watch
itself stops, its own alarms fire (errors, a failure destination, ops-watch-silent).
"""
from __future__ import annotations

import os
from datetime import datetime, time

from pynamodb.exceptions import DoesNotExist

from chalicelib.config import settings
from chalicelib.integrations import metrics
from chalicelib.rules.clock import SHANGHAI, now
from chalicelib.store.compliance import HEADER, ComplianceRun
from chalicelib.store.models import FeedFile

NIGHT_DUE = time(8, 30)  # the 09:00 push reads the run: half an hour to act
DEFAULT_DEADLINE_HOUR = 12
ARRIVED = ("running", "done")


def deadline_hour() -> int:
    return int(os.environ.get("NAT_FEED_DEADLINE_HOUR", str(DEFAULT_DEADLINE_HOUR)))


def check(current: datetime | None = None) -> dict[str, int]:
    """Publish what is due at `current` (now) and return it."""
    current = current or now()
    local = current.astimezone(SHANGHAI)
    found = {}
    if local.time() >= NIGHT_DUE:
        found["NightFinished"] = int(night_finished(local.date().isoformat()))
    if local.hour >= deadline_hour():
        found["NatFeedArrived"] = int(nat_arrived(local))
    if found:
        metrics.publish(settings().stage, found, current)
    return found


def night_finished(day: str) -> bool:
    try:
        return ComplianceRun.get(day, HEADER, consistent_read=True).status == "done"
    except DoesNotExist:
        return False


def nat_arrived(local: datetime) -> bool:
    midnight = datetime.combine(local.date(), time(0), SHANGHAI)
    return any(f.status in ARRIVED for f in FeedFile.by_kind.query("nat", FeedFile.received_at >= midnight))
