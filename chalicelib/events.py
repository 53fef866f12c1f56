"""Turning queue messages into service calls. Shared by the Lambda handlers in app.py and the local
worker, so both run the same code path."""
from __future__ import annotations

import json
import logging

from chalicelib.services import enterprise_import, staff_import  # noqa: F401 - register the import processors
from chalicelib.services import feeds, imports


def s3_records(body: str, *, with_etag: bool = False) -> list[tuple]:
    """(bucket, key[, etag]) of each ObjectCreated record in an S3 notification; s3:TestEvent yields none."""
    try:
        message = json.loads(body)
    except ValueError:
        return []
    records = []
    for record in message.get("Records", []) if isinstance(message, dict) else []:
        if str(record.get("eventName", "")).startswith("ObjectCreated"):
            found = (record["s3"]["bucket"]["name"], record["s3"]["object"]["key"])
            records.append((*found, record["s3"]["object"].get("eTag", "")) if with_etag else found)
    return records


def handle_upload_messages(event, log: logging.Logger) -> None:
    for message in event:
        for bucket, key in s3_records(message.body):
            log.info(imports.handle_object(bucket, key))


def handle_feed_messages(event, log: logging.Logger) -> None:
    for message in event:
        for bucket, key, etag in s3_records(message.body, with_etag=True):
            log.info(feeds.handle_object(bucket, key, etag))
