"""Turning queue messages into service calls. Shared by the Lambda handlers in app.py and the local
worker, so both run the same code path."""
from __future__ import annotations

import logging
from datetime import date, datetime
from urllib.parse import unquote_plus

from chalicelib.rules.clock import local_day, now

from chalicelib.services.registry import enterprise_import, staff_import  # noqa: F401 - register the import processors
from chalicelib.services.stats import downloads  # noqa: F401 - registers the statistics' exports
from chalicelib.services.views import ledger  # noqa: F401 - registers the ledger export
from chalicelib.services.compliance import night, push, records  # noqa: F401 - records registers its export
from chalicelib.services.health import roster
from chalicelib.integrations.s3_events import s3_records
from chalicelib.services.feeds import ingest as feeds
from chalicelib.services.jobs import exports, imports
from chalicelib.services.operations import rotation


def delivery(message) -> int:
    """How many times SQS has handed this message out (1 on the first delivery)."""
    attributes = message.to_dict().get("attributes") or {}
    try:
        return max(1, int(attributes.get("ApproximateReceiveCount", 1)))
    except (TypeError, ValueError):
        return 1


def handle_upload_messages(event, log: logging.Logger) -> None:
    for message in event:
        for bucket, key in s3_records(message.body):
            handler = _handler_for(unquote_plus(key))
            log.info(handler(bucket, key, delivery=delivery(message)))


def _handler_for(key: str):
    """uploads/ holds the background work: workbooks to import, exports to build, roster marks, and the
    compliance run's parts and push passes."""
    if key.startswith(exports.PREFIX):
        return exports.handle_object
    if key.startswith(roster.MARKS):
        return roster.handle_object
    if key.startswith(push.MARKS):
        return push.handle_object
    if key.startswith(night.MARKS):
        return night.handle_object
    if key.startswith(rotation.MARKS):
        return rotation.handle_object
    return imports.handle_object


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
