"""What an S3 event notification (as SQS delivers it) says: the objects it announces.

S3 sends object keys URL-encoded (a space as "+", "/" as "%2F" in some senders): they are decoded here,
once, and nowhere else — a key decoded twice turns a real "+" in a file name into a space.
"""
from __future__ import annotations

import json
from urllib.parse import unquote_plus


def s3_records(body: str, *, with_etag: bool = False) -> list[tuple]:
    """(bucket, key[, etag]) of each ObjectCreated record in an S3 notification, the key decoded;
    s3:TestEvent yields none."""
    try:
        message = json.loads(body)
    except ValueError:
        return []
    records = []
    for record in message.get("Records", []) if isinstance(message, dict) else []:
        if str(record.get("eventName", "")).startswith("ObjectCreated"):
            found = (record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"]))
            records.append((*found, record["s3"]["object"].get("eTag", "")) if with_etag else found)
    return records
