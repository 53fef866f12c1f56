"""One life cycle for every piece of background work — an import or export job, a feed file and its
parts, a night part, a matcher segment, a rotation piece, a push outbox item — so each ends `done` or
`failed` with a reason, runs once in effect however often its event is delivered, and never stays
导入中 / 处理中 for good. A push item differs in one edge only: a sender that died with a request on the
wire is `unknown`, never retaken by itself (`claim(retake=False)`, services/compliance/push.py settle).
A lease alone — one push pass of a day at a time — is `hold` / `release`.

    queued | (none) ──claim──▶ running ──finish──▶ done | failed | quarantined
                                 │ the worker died: lease expires ──claim again (next delivery)──▶ running
                                 │ an unexpected error ──release the lease, re-raise──▶ next delivery
                                 │ the last delivery fails ──▶ failed (reason), message to the dead-letter queue
                                 │ the lease ran out with no delivery left ──▶ failed, when next read

S3 → SQS delivers at least once: claims are conditional writes, so two deliveries at once run it once.
The record's model needs `status`, `lease_until`, `attempts`, `message` and `finished_at` attributes.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.models import Model

from chalicelib.rules.clock import now
from chalicelib.store.values import condition_failed

LEASE = timedelta(minutes=15)  # under the queues' 16-minute visibility timeout: a retry finds it expired
MAX_DELIVERIES = 5  # the queues' maxReceiveCount (infra/stateful.json)
GAVE_UP = "处理失败：系统在 {n} 次尝试后仍未完成，请重新上传；如仍失败请联系系统运维人员（可在「数据接入 → 失败队列」重试）"
TIMED_OUT = "处理超时：系统在 {n} 次尝试后仍未完成，请重新上传；如仍失败请联系系统运维人员"


def claim(record: Model, *, create: bool = False, lease: timedelta = LEASE, retake: bool = True) -> bool:
    """Take the work for this delivery. `create`: the record is written by its first claim (a feed
    file); otherwise it exists as `queued` (an import job). `retake`: a running record whose lease ran
    out may be taken again (False: only a queued one). False: another delivery has it, or it ended."""
    cls, current = type(record), now()
    if create:
        record.status, record.lease_until, record.attempts = "running", current + lease, 1
        try:
            record.save(condition=cls._hash_key_attribute().does_not_exist())
            return True
        except PutError as exc:
            if not condition_failed(exc):
                raise
        condition = lapsed(cls)
    else:
        condition = (cls.status == "queued") | lapsed(cls) if retake else cls.status == "queued"
    try:
        record.update(actions=[cls.status.set("running"), cls.lease_until.set(current + lease), cls.attempts.add(1)],
                      condition=condition)
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            record.refresh(consistent_read=True)
            return False
        raise


def lapsed(cls):
    """The condition "running, and its lease has run out": the worker that held it is gone."""
    return (cls.status == "running") & (cls.lease_until < now())


def hold(record: Model, *, lease: timedelta, actions: list | tuple = ()) -> bool:
    """A lease alone (no status): taken when nobody holds it or its holder's ran out. False: held."""
    cls, current = type(record), now()
    return conditionally(record, [cls.lease_until.set(current + lease), *actions],
                         cls.lease_until.does_not_exist() | (cls.lease_until < current))


def conditionally(record: Model, actions: list, condition) -> bool:
    """A conditional update: False (and nothing written) when another writer got there first."""
    try:
        record.update(actions=actions, condition=condition)
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def release(record: Model) -> None:
    record.update(actions=[type(record).lease_until.remove()])


def finish(record: Model, *, status: str, message: str, actions: list | tuple = (), condition=None) -> None:
    """End the work. `condition`: only if it still holds (UpdateError otherwise) — whoever ends the last
    of several parts ends the whole once."""
    cls = type(record)
    record.update(actions=[cls.status.set(status), cls.message.set(message), cls.finished_at.set(now()),
                           cls.lease_until.remove(), *actions], condition=condition)


@contextmanager
def attempt(record: Model, *, delivery: int):
    """Around the work of one delivery: an unexpected error frees the lease for the next delivery, or on
    the last one ends the record `failed`; either way it is re-raised, so the message is retried and in
    the end kept in the dead-letter queue for 运维."""
    try:
        yield
    except Exception:
        cls = type(record)
        if delivery >= MAX_DELIVERIES:
            finish(record, status="failed", message=GAVE_UP.format(n=delivery))
        else:
            record.update(actions=[cls.lease_until.set(now())])
        raise


def settle(record: Model) -> Model:
    """On read: a record whose lease ran out after its last delivery (the function timed out or died)
    ends `failed` here, so the page stops polling."""
    if (record.status == "running" and record.lease_until is not None and record.lease_until < now()
            and (record.attempts or 0) >= MAX_DELIVERIES):
        finish(record, status="failed", message=TIMED_OUT.format(n=int(record.attempts)))
    return record


def reopen(record: Model, *, status: str) -> None:
    """Before 运维 retries a dead letter: the record may be claimed again, with its attempts anew."""
    cls = type(record)
    record.update(actions=[cls.status.set(status), cls.lease_until.set(now()), cls.attempts.set(0),
                           cls.message.set("运维已重新排队，等待处理"), cls.finished_at.remove()])
