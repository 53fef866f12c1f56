"""The tables of the overnight compliance run and the 09:00 push (services/compliance/): one run per
day in parts, the non-compliant people per enterprise, and the outbox of 粤政易 messages.

Kept 30 days (TTL), the lists' attachments in S3 as long (infra lifecycle): long enough to look back at
a month of mornings, short for lists that carry names and phone numbers."""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.store.base import LazyTableName

HEADER = "run"  # ComplianceRun's range key for the day's header; parts are "<category>#<town>"


class ComplianceRun(Model):
    """A day's run (告警记录): the header item ("run") and one item per ledger partition, each moved
    through the jobs life cycle by its own queue message, so the night fans out and every part runs
    once in effect. `generation` counts the day's runs: a message of an earlier run finds a newer
    generation and does nothing."""

    class Meta(metaclass=LazyTableName):
        base_name = "compliance-runs"
        billing_mode = "PAY_PER_REQUEST"

    day = UnicodeAttribute(hash_key=True)  # the run day, Asia/Shanghai (YYYY-MM-DD)
    part = UnicodeAttribute(range_key=True)
    generation = NumberAttribute(default=1)
    status = UnicodeAttribute(default="queued")  # queued → running → done | failed
    lease_until = UTCDateTimeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    message = UnicodeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    category = UnicodeAttribute(null=True)
    town = UnicodeAttribute(null=True)
    rule = UnicodeAttribute(null=True)  # rules/testing.py code the part was judged by
    people = NumberAttribute(default=0)
    shortfalls = NumberAttribute(default=0)
    parts = NumberAttribute(default=0)  # header: how many parts the run has
    stale = BooleanAttribute(default=False)  # header: yesterday's NAT data had not arrived
    data_until = UnicodeAttribute(null=True)  # header: 核酸数据截至 when the run started
    result_key = UnicodeAttribute(null=True)  # part: its rows (JSON) in S3, one object per generation
    digest = UnicodeAttribute(null=True)  # part: what its list says (services/compliance/versions.py)
    started_at = UTCDateTimeAttribute(null=True)
    started_by = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class ShortfallItem(Model):
    """One non-compliant registered person of one enterprise on a run day: the head's own list (mobile
    home, PC 员工管理) reads its enterprises' partitions, never the run's files."""

    class Meta(metaclass=LazyTableName):
        base_name = "compliance-shortfalls"
        billing_mode = "PAY_PER_REQUEST"

    day_enterprise = UnicodeAttribute(hash_key=True)  # "<day>#<enterprise_id>"
    person_key = UnicodeAttribute(range_key=True)
    generation = NumberAttribute(default=1)
    name = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)  # masked (138****5678): the list needs no more
    reason = UnicodeAttribute()
    due = UnicodeAttribute()  # YYYY-MM-DD
    last_sampled = NumberAttribute(default=0)  # epoch s, 0 none in 14 days
    tests = NumberAttribute(default=0)
    required = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


class PushItem(Model):
    """One 粤政易 message of a day's push (推送记录): a category's list to one 高级推送人员, the summary to
    one member of 哨点监测专班, a notice that the lists are held, or the record that a category's list had
    nobody to receive it. Moved by conditional writes (queued → running → sent | failed | unknown); the
    range key makes it once per day, recipient, list and list version.

    What was sent is kept as sent: the card's text (`card`) and the attachment (`attachment_key`, a key
    that names the list's version, never written twice) are fixed when the item is planned. A re-run that
    changes a list adds a correction item ("<list>#<user>#g<generation>"); it never rewrites this one."""

    class Meta(metaclass=LazyTableName):
        base_name = "push-outbox"
        billing_mode = "PAY_PER_REQUEST"

    day = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True)  # "<list>#<user_id>"; "~pass" holds the push pass's lease
    kind = UnicodeAttribute(default="list")  # list | summary | notice | pass
    status = UnicodeAttribute(default="queued")
    lease_until = UTCDateTimeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    message = UnicodeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    category = UnicodeAttribute(null=True)
    town = UnicodeAttribute(null=True)  # the recipient's town limit
    user_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    rows = NumberAttribute(default=0)
    attachment_key = UnicodeAttribute(null=True)
    filename = UnicodeAttribute(null=True)
    media_id = UnicodeAttribute(null=True)
    media_at = UTCDateTimeAttribute(null=True)
    card_sent = BooleanAttribute(default=False)
    file_sent = BooleanAttribute(default=False)
    inflight = UnicodeAttribute(null=True)  # the step whose request was on the wire ("card" | "file")
    errcode = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)
    chain = UnicodeAttribute(null=True)  # "<list>#<user>": the item and its corrections share it
    generation = NumberAttribute(null=True)  # the run generation whose list this item carries
    version = UnicodeAttribute(null=True)  # the list's content digest (services/compliance/versions.py)
    card = UnicodeAttribute(null=True)  # the textcard exactly as sent (JSON)
    corrects = UnicodeAttribute(null=True)  # a correction: the item it corrects
    towns = UnicodeAttribute(null=True)  # an unrouted list, or 运维's copy of one: the towns nobody receives
    expires_at = TTLAttribute(null=True)


class MatcherRun(Model):
    """The overnight matcher in segments (services/compliance/overnight.py): the header ("run": the day,
    how many segments, whether the night's run is forced) and one item per parallel Scan segment, each
    moved through the jobs life cycle by its own queue message. The last segment to end starts the day's
    compliance run. The scheduled night's id is "<day>#scheduled", so EventBridge firing twice plans once."""

    class Meta(metaclass=LazyTableName):
        base_name = "matcher-runs"
        billing_mode = "PAY_PER_REQUEST"

    run_id = UnicodeAttribute(hash_key=True)  # "<day>#scheduled" | "<day>#<uuid>" (运维's 重新运行检查)
    part = UnicodeAttribute(range_key=True)  # "run" | "seg#0007"
    day = UnicodeAttribute()
    status = UnicodeAttribute(default="queued")  # queued → running → done | failed
    lease_until = UTCDateTimeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    message = UnicodeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    segments = NumberAttribute(default=1)
    force = BooleanAttribute(default=False)  # the night's run replaces the day's (运维), or keeps one (schedule)
    started_by = UnicodeAttribute(null=True)
    rebuilt = NumberAttribute(default=0)
    released = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)
