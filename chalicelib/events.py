"""Turning queue messages into service calls. Shared by the Lambda handlers in app.py and the local
worker, so both run the same code path."""
from __future__ import annotations

import json
import logging

from chalicelib.services import enterprise_import, staff_import  # noqa: F401 - register the import processors
from chalicelib.services import imports


def s3_records(body: str) -> list[tuple[str, str]]:
    """(bucket, key) of each ObjectCreated record in an S3 notification; s3:TestEvent yields none."""
    try:
        message = json.loads(body)
    except ValueError:
        return []
    records = []
    for record in message.get("Records", []) if isinstance(message, dict) else []:
        if str(record.get("eventName", "")).startswith("ObjectCreated"):
            records.append((record["s3"]["bucket"]["name"], record["s3"]["object"]["key"]))
    return records


def handle_upload_messages(event, log: logging.Logger) -> None:
    for message in event:
        for bucket, key in s3_records(message.body):
            log.info(imports.handle_object(bucket, key))
