"""A feed file in parts (issue 24): cut at line ends, each part run through the import queue as its own
job (claimed once however often it is delivered, retried when it fails), the file's report the exact sum
of its parts; and strangers' rows written as a few stranger-index items, not a record each, yet matched
at once when the person is registered later."""
from __future__ import annotations

import boto3
import pytest

from chalicelib.services.feeds import apply, parts
from chalicelib.services.health import strangers
from chalicelib.services.registry.staff import person_key
from chalicelib.store.feeds import FeedPart, StrangerShard
from chalicelib.store.models import FeedFile, HealthRecord, PersonHealth
from tests.functional.test_feeds import (HEAD, NAT_HEADER, district, drop, feed, feed_files, id_number,  # noqa: F401
                                         people, person, stamp)


@pytest.fixture
def failing(monkeypatch):
    """`failing(part, times)`: that part's work dies `times` times (None: always), as a function would."""
    plan = {}
    real = apply.ingest

    def ingest(*args, strangers=None, **kwargs):
        part = strangers.part if strangers is not None else None
        if part in plan and (plan[part] is None or plan[part] > 0):
            if plan[part] is not None:
                plan[part] -= 1
            raise RuntimeError("the function died")
        return real(*args, strangers=strangers, **kwargs)

    monkeypatch.setattr(apply, "ingest", ingest)
    return lambda part, times: plan.__setitem__(part, times)


def run_queue(aws, *, redeliver: bool = False) -> dict[str, int]:
    """The import queue as SQS runs it: every message handed to on_upload, a failing one handed again
    with its receive count up (until the fifth), each one twice when `redeliver`. Returns attempts per key."""
    import app as application
    from chalicelib.events import s3_records

    sqs, url = boto3.client("sqs"), aws.queues["ImportQueue"]
    attempts: dict[str, int] = {}
    pending = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            pending += [m["Body"]] * (2 if redeliver else 1)
    while pending:
        body = pending.pop(0)
        key = next((k for _, k in s3_records(body)), "")
        attempts[key] = attempts.get(key, 0) + 1
        event = {"Records": [{"messageId": "m", "receiptHandle": "r", "body": body, "eventSource": "aws:sqs",
                              "attributes": {"ApproximateReceiveCount": str(attempts[key])}, "messageAttributes": {},
                              "eventSourceARN": "arn", "awsRegion": "us-east-1"}]}
        try:
            application.on_upload(event, None)
        except RuntimeError:
            if attempts[key] < 5:
                pending.append(body)
    return attempts


def _event(key: str, etag: str = "x") -> str:
    import json

    from chalicelib.config import settings

    return json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": settings().files_bucket}, "object": {"key": key, "eTag": etag}}}]})


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(parts, "PART_BYTES", 1500)  # ~20 rows a part


def _rows() -> tuple[list[str], list[str]]:
    strangers_ids = [id_number(n, born="19850101") for n in range(120)]
    rows = [f"{id_number(1)},甲,{stamp(5)},,阴性,A点\n", f"{id_number(2)},乙,{stamp(6)},,阳性,A点\n"]
    rows += [f"{number},路人,{stamp(3 + n / 100)},,阴性,B点\n" for n, number in enumerate(strangers_ids)]
    rows.insert(60, "440115199001011234,坏,2026-11-20 10:00:00,,阴性,x\n")  # a bad check digit, in a later part
    rows += [f"{id_number(3)},丙,{stamp(7)},,阴性,A点\n", f"{id_number(3)},丙,{stamp(7)},,阴性,A点\n"]  # repeated
    return rows, strangers_ids


def test_a_file_in_parts_delivered_twice_and_failing_once_reports_the_exact_sum(api, aws, login, people,
                                                                              small_parts, failing):
    rows, strangers_ids = _rows()
    drop("feeds/nat/big.csv", (NAT_HEADER + "".join(rows)).encode())
    assert feed(aws) == 1
    [record] = list(FeedFile.scan())
    planned = list(FeedPart.query(record.feed_id))
    assert len(planned) >= 5 and record.status == "running" and "分" in record.message
    assert [int(p.start) for p in planned][0] == 0 and all(
        a.end == b.start for a, b in zip(planned, planned[1:]))  # the ranges tile the file

    second = parts.mark_key(record.feed_id, 2)
    failing(2, 1)
    attempts = run_queue(aws, redeliver=True)
    assert attempts.get(second) == 3, attempts  # failed once, then its retry and the redelivered copy
    report = feed_files(api, login)[0]
    assert (report["status"], report["rows_read"], report["matched"], report["unmatched"], report["rejected"],
            report["repeated"]) == ("done", 125, 3, 120, 1, 1), report
    assert {int(p.part): int(p.attempts) for p in FeedPart.query(record.feed_id)} == {
        n: 2 if n == 2 else 1 for n in range(1, len(planned) + 1)}  # the redelivered copies claimed nothing
    problem = api.get(f"/api/feeds/{record.feed_id}", token=login("admin"))[1]["problems"][0]
    assert problem["part"] > 1 and 1 <= problem["line"] <= 30 and "身份证号码" in problem["reason"]

    # registered people: records and state; strangers: no write of their own, found in the index
    assert {r.result for r in HealthRecord.query(person_key(id_number(2)))} == {"阳性"}
    keys = [person_key(n) for n in strangers_ids]
    assert sum(HealthRecord.count(k) + PersonHealth.count(k) for k in keys) == 0
    assert len(strangers.lookup(keys)) == 120
    assert sum(1 for _ in StrangerShard.scan()) <= 120


def test_a_part_that_fails_every_delivery_fails_the_file_naming_it(api, aws, login, people, small_parts, failing):
    rows, _ = _rows()
    drop("feeds/nat/broken.csv", (NAT_HEADER + "".join(rows)).encode())
    feed(aws)
    failing(3, None)
    run_queue(aws)
    report = feed_files(api, login)[0]
    assert report["status"] == "failed" and report["message"].startswith("第 3 部分处理失败"), report["message"]
    assert 0 < report["rows_read"] < 125  # every other part applied and counted

    # SQS keeps the message in the dead-letter queue; 运维 sees it with its part's state and retries it
    record = next(iter(FeedFile.scan()))
    sqs = boto3.client("sqs")
    dead = sqs.get_queue_url(QueueName="sentinel-local-imports-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=dead, MessageBody=_event(parts.mark_key(record.feed_id, 3)))
    admin = login("admin")
    [letter] = api.get("/api/dead-letters", token=admin)[1]["items"]
    assert (letter["object_key"], letter["status"]) == (parts.mark_key(record.feed_id, 3), "failed")
    failing(3, 0)  # the cause is fixed
    assert api.post("/api/dead-letters/retry", token=admin, body={"queue": "imports", "id": letter["id"]})[0] == 200
    run_queue(aws)
    report = feed_files(api, login)[0]
    assert (report["status"], report["rows_read"]) == ("done", 125), report


def test_a_stranger_registered_later_is_matched_at_once(api, aws, login, people, head_login):
    late = id_number(77, born="19850101")
    drop("feeds/nat/late.csv", (NAT_HEADER + f"{late},路人,{stamp(30)},,阴性,C点\n{late},路人,{stamp(4)},,阳性,C点\n"
                                ).encode())
    feed(aws)
    assert PersonHealth.count(person_key(late)) == 0  # nothing written for them while nobody registered them
    token = head_login(HEAD)
    enterprise = people[1][0]["enterprise_id"]
    status, made = api.post("/api/staff", token=token, body=person(enterprise, 77, name="后来者") | {"id_number": late})
    assert status == 201, made
    listed = api.get("/api/staff?page_size=100", token=token)[1]["items"]
    health = next(p for p in listed if p["id"] == made["id"])["health"]
    assert health["last_result"] == "阳性" and health["last_sampled_at"]
    assert sorted(r.result for r in HealthRecord.query(person_key(late))) == ["阳性", "阴性"]


def test_a_file_retried_after_its_parts_had_ended_ends_again(api, aws, login, people):
    """The file's last delivery failed after its one part had ended (the function died before the file's
    end was written): 运维's retry reopens the file, the part is found done, and the file ends with it."""
    from chalicelib.services.jobs import lifecycle as jobs

    drop("feeds/nat/late.csv", (NAT_HEADER + f"{id_number(1)},甲,{stamp(5)},,阴性,A点\n").encode())
    feed(aws)
    record = next(iter(FeedFile.scan()))
    with pytest.raises(RuntimeError), jobs.attempt(record, delivery=jobs.MAX_DELIVERIES):
        raise RuntimeError("the function died")
    assert feed_files(api, login)[0]["status"] == "failed"

    sqs = boto3.client("sqs")
    dead = sqs.get_queue_url(QueueName="sentinel-local-feeds-dlq")["QueueUrl"]
    from chalicelib.config import settings

    etag = boto3.client("s3").head_object(Bucket=settings().files_bucket, Key="feeds/nat/late.csv")["ETag"]
    sqs.send_message(QueueUrl=dead, MessageBody=_event("feeds/nat/late.csv", etag.strip('"')))
    admin = login("admin")
    [letter] = api.get("/api/dead-letters", token=admin)[1]["items"]
    assert api.post("/api/dead-letters/retry", token=admin, body={"queue": "feeds", "id": letter["id"]})[0] == 200
    feed(aws)
    report = feed_files(api, login)[0]
    assert (report["status"], report["rows_read"], report["matched"]) == ("done", 1, 1), report
