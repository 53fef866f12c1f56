"""What an S3 event notification (as SQS delivers it) says: the objects it announces."""
from __future__ import annotations

import json


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
