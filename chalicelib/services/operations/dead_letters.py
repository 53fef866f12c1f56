"""The dead-letter queues, for 运维 (数据接入 → 失败队列): the S3 events whose work failed on every
delivery, each with the job or feed file it was for and why it ended, and a retry that puts it back.

A message is looked at without being consumed (received, then made visible again at once); a retry
reopens the record (services/jobs.reopen), sends the event to the work queue again and deletes the dead
letter. Queue names derive from the stage, as infra/stateful.json names them.
"""
from __future__ import annotations

from datetime import datetime, timezone

import boto3

from chalicelib.config import settings
from chalicelib.errors import NotFoundError, ValidationError
from chalicelib.integrations.s3_events import s3_records
from chalicelib.rules.clock import iso
from chalicelib.services.feeds import ingest as feeds
from chalicelib.services.jobs import imports
from chalicelib.services.jobs import lifecycle as jobs

QUEUES = {"imports": "工作簿导入", "feeds": "数据文件"}
STATUS_LABELS = {**imports.STATUS_LABELS, **feeds.STATUS_LABELS}
PEEK_ROUNDS = 10  # receive calls per listing (10 messages each): dead letters are few, or something is wrong

_client = None


def _sqs():
    global _client
    if _client is None:
        _client = boto3.client("sqs")
    return _client


def reset_client() -> None:
    global _client
    _client = None


def _url(kind: str, *, dead: bool) -> str:
    name = f"sentinel-{settings().stage}-{kind}" + ("-dlq" if dead else "")
    return _sqs().get_queue_url(QueueName=name)["QueueUrl"]


def _peek(kind: str) -> list[dict]:
    url, seen, out = _url(kind, dead=True), set(), []
    for _ in range(PEEK_ROUNDS):
        batch = _sqs().receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=2,
                                       AttributeNames=["All"]).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message["MessageId"])
            out.append(message)
    for start in range(0, len(out), 10):  # visible again now, so the next listing or a retry sees them
        _sqs().change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for i, m in enumerate(out[start:start + 10])])
    return out


def _record(kind: str, body: str, record_for):
    for record in s3_records(body, with_etag=True):
        return record_for(kind, record[1], record[2])
    return None


def listing(record_for) -> list[dict]:
    """Every dead letter with the record it was for; `record_for(queue, key, etag)` is the composition's
    table of background work (chalicelib/events.py), so a new kind of work is listed without a change here."""
    items = []
    for kind, label in QUEUES.items():
        for message in _peek(kind):
            records = s3_records(message["Body"])
            key = records[0][1] if records else ""
            record = _record(kind, message["Body"], record_for)
            sent = int(message.get("Attributes", {}).get("SentTimestamp", 0)) / 1000
            items.append({
                "id": message["MessageId"], "queue": kind, "queue_label": label,
                "object_key": key, "filename": getattr(record, "filename", "") or key.rsplit("/", 1)[-1],
                "status": getattr(record, "status", ""),
                "status_label": STATUS_LABELS.get(getattr(record, "status", ""), "无处理记录"),
                "message": getattr(record, "message", "") or "",
                "deliveries": int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
                "sent_at": iso(datetime.fromtimestamp(sent, timezone.utc)) if sent else None})
    return items


def _find(queue: str, message_id: str) -> list[dict]:
    return [m for m in _peek(queue) if m["MessageId"] == message_id]


def retry(queue: str, message_id: str, record_for) -> dict:
    if queue not in QUEUES:
        raise ValidationError("队列只能是 imports 或 feeds", fields={"queue": "不在可选范围内"})
    for message in _find(queue, message_id):
        record = _record(queue, message["Body"], record_for)
        if record is not None:
            jobs.reopen(record, status="queued" if queue == "imports" else "running")
        _sqs().send_message(QueueUrl=_url(queue, dead=False), MessageBody=message["Body"])
        _sqs().delete_message(QueueUrl=_url(queue, dead=True), ReceiptHandle=message["ReceiptHandle"])
        return {"message": "已重新排队，稍后可在列表中查看处理结果"}
    raise NotFoundError("该失败消息不存在或已被处理")
