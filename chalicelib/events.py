"""Turning queue messages into service calls. Shared by the Lambda handlers in app.py and the local
worker, so both run the same code path: one table from an S3 prefix to its work (UPLOADS), S3 keys
decoded once (integrations/s3_events.py)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Callable

from chalicelib.rules.clock import local_day, now

from chalicelib.services.registry import enterprise_import, staff_import
from chalicelib.services.stats import downloads
from chalicelib.services.views import ledger
from chalicelib.services.compliance import night, overnight, push, records
from chalicelib.services.health import roster
from chalicelib.integrations.s3_events import s3_records
from chalicelib.services.feeds import ingest as feeds
from chalicelib.services.feeds import parts as feed_parts
from chalicelib.services.jobs import exports, imports
from chalicelib.services.operations import rotation


def delivery(message) -> int:
    """How many times SQS has handed this message out (1 on the first delivery)."""
    attributes = message.to_dict().get("attributes") or {}
    try:
        return max(1, int(attributes.get("ApproximateReceiveCount", 1)))
    except (TypeError, ValueError):
        return 1


@dataclass(frozen=True)
class Work:
    """One kind of background work announced by an object under uploads/: what runs it, and the record
    its life cycle moves (services/jobs/lifecycle.py) — what the dead letters show and a retry reopens."""
    handle: Callable[..., str]  # (bucket, key decoded, *, delivery) -> what happened, for the log
    record: Callable[[str], object | None] = lambda key: None  # marks whose work keeps no record: None


# What each kind of job runs: a workbook's import by its kind, an export's builder by its kind. Named here,
# where the worker starts, rather than registered as a side effect of importing the modules.
IMPORTS: dict[str, imports.Processor] = {enterprise_import.KIND: enterprise_import.process,
                                         staff_import.KIND: staff_import.process}
EXPORTS: dict[str, exports.Export] = {e.kind: e for e in (ledger.EXPORT, records.PEOPLE_EXPORT, downloads.NAT_EXPORT,
                                                         downloads.VACCINE_EXPORT)}

# The one table from an uploads/ prefix to its work (the longest matching prefix wins): a reader follows
# any queue message to its code from here.
UPLOADS: dict[str, Work] = {
    exports.PREFIX: Work(partial(exports.handle_object, kinds=EXPORTS), exports.record_for),  # a workbook to build for download
    roster.MARKS: Work(roster.handle_object),  # the statistics' read model of a partition, rebuilt
    push.MARKS: Work(push.handle_object),  # a push pass (its items keep their own states)
    night.MARKS: Work(night.handle_object, night.record_for),  # one part of a day's compliance run
    rotation.MARKS: Work(rotation.handle_object),  # one piece of a person-key rotation
    feed_parts.MARKS: Work(feed_parts.handle_object, feed_parts.record_for),  # one byte range of a feed file
    overnight.MARKS: Work(overnight.handle_object, overnight.record_for),  # one segment of the night's matcher
    imports.PREFIX: Work(partial(imports.handle_object, processors=IMPORTS), imports.record_for),  # a workbook to import
}


def work_for(key: str) -> Work | None:
    found = [prefix for prefix in UPLOADS if key.startswith(prefix)]
    return UPLOADS[max(found, key=len)] if found else None


def record_for(queue: str, key: str, etag: str = ""):
    """The record a queue's message is for (数据接入 → 失败队列)."""
    if queue == "feeds":
        return feeds.record_for(key, etag)
    work = work_for(key)
    return work.record(key) if work else None


def handle_upload_messages(event, log: logging.Logger) -> None:
    for message in event:
        for bucket, key in s3_records(message.body):
            work = work_for(key)
            log.info(work.handle(bucket, key, delivery=delivery(message)) if work else f"ignored {key}")


def handle_feed_messages(event, log: logging.Logger) -> None:
    for message in event:
        for bucket, key, etag in s3_records(message.body, with_etag=True):
            log.info(feeds.handle_object(bucket, key, etag, delivery=delivery(message)))


def scheduled_day(event) -> date:
    """The Asia/Shanghai day a scheduled event fired on: 18:00 UTC on 12-01 is 02:00 on 12-02."""
    raw = getattr(event, "time", None) or (event.get("time") if isinstance(event, dict) else None)
    try:
        return local_day(datetime.fromisoformat(str(raw).replace("Z", "+00:00")))
    except (TypeError, ValueError):
        return local_day(now())
