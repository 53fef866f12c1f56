"""After a restart: work that was queued or running when the stack died is resumed or ends `failed` with
a reason, so no import stays 导入中 and no feed 处理中 forever.

On AWS an SQS message outlives a crashed Lambda (it becomes visible again, then goes to the dead-letter
queue). Locally the queues live in the moto process's memory and die with it, while the uploaded files
and the job records are on disk: so every unfinished job whose file is there is announced again, as S3
would announce it, to the same handler. Claims are conditional and leases only stand in for a living
worker: every worker died with the stack, so their leases are released first.

This reads the job and feed tables whole: it runs once per start of the local stack, never per request.
"""
from __future__ import annotations

import json
from urllib.parse import quote_plus

import boto3
from botocore.exceptions import ClientError

from chalicelib.rules.clock import now
from chalicelib.services.compliance import overnight
from chalicelib.services.feeds import ingest as feeds
from chalicelib.store.compliance import MatcherRun
from chalicelib.store.feeds import FeedPart
from chalicelib.store.models import FeedFile, ImportJob
from infra.provision import Provisioned

LOST_UPLOAD = "服务在上传文件保存完成前停止，文件未能保存：请重新导入"
LOST_FEED = "服务在处理该文件时停止，且文件已不在 feeds/ 下：请重新放入该文件"


def _announce(sqs, queue_url: str, bucket: str, key: str, etag: str) -> None:
    record = {"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
              "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key), "eTag": etag}}}
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"Records": [record]}))


def _etag(s3, bucket: str, key: str) -> str | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    except ClientError:
        return None


def resume(resources: Provisioned) -> dict[str, int]:
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    bucket = resources.buckets["FilesBucket"]
    counts = {"imports": 0, "feeds": 0, "failed": 0}
    current = now()

    for job in ImportJob.scan(ImportJob.status.is_in("queued", "running")):
        etag = _etag(s3, bucket, job.object_key)
        if etag is None:
            job.update(actions=[ImportJob.status.set("failed"), ImportJob.message.set(LOST_UPLOAD),
                                ImportJob.finished_at.set(current), ImportJob.lease_until.remove()])
            counts["failed"] += 1
            continue
        if job.status == "running":
            job.update(actions=[ImportJob.lease_until.set(current)])
        _announce(sqs, resources.queues["ImportQueue"], bucket, job.object_key, etag)
        counts["imports"] += 1

    for part in FeedPart.scan(FeedPart.status == "running"):  # the file's announcement below runs them again
        part.update(actions=[FeedPart.lease_until.set(current)])
    for segment in MatcherRun.scan(MatcherRun.status.is_in("queued", "running")):
        if segment.part == overnight.HEADER:
            continue
        segment.update(actions=[MatcherRun.lease_until.set(current)])
        key = f"{overnight.MARKS}{segment.run_id}/{int(segment.part.removeprefix('seg#'))}.json"
        _announce(sqs, resources.queues["ImportQueue"], bucket, key, _etag(s3, bucket, key) or "")
        counts["imports"] += 1

    announced = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="feeds/"):
        for obj in page.get("Contents", []):
            key, etag = obj["Key"], obj["ETag"].strip('"')
            try:
                record = FeedFile.get(feeds.feed_id(key, etag))
            except FeedFile.DoesNotExist:
                record = None
            if record is not None and record.status != "running":
                continue
            if record is not None:
                record.update(actions=[FeedFile.lease_until.set(current)])
            _announce(sqs, resources.queues["FeedQueue"], bucket, key, etag)
            announced.add(feeds.feed_id(key, etag))
            counts["feeds"] += 1

    for record in FeedFile.scan(FeedFile.status == "running"):
        if record.feed_id not in announced:  # its file was moved away (quarantine) or deleted
            feeds.fail(record, LOST_FEED)
            counts["failed"] += 1
    return counts
