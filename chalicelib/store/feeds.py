"""The tables of a feed file's parts and of the strangers it named (services/feeds/parts.py, strangers.py).

A provincial file of 10,000,000 rows is read by ~30 functions at once, one byte range each: `FeedPart`
is one range's work and report, moved through the jobs life cycle like every background job; the file's
own report (FeedFile) is the sum of its parts, made by whoever ends the last one.

Rows of people nobody has registered (~90 % of a file) are not written one by one: each part writes one
`StrangerShard` per shard of person keys it saw — a compressed blob of that shard's rows — so a later
registration finds a person's last 14 days with one Query of its shard, and a part of 90,000 rows costs
a few thousand writes instead of ~160,000.
"""
from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

from chalicelib.store.base import LazyTableName


class FeedPart(Model):
    """One byte range of a feed file (lines start + 1 … end), its life cycle and its report."""

    class Meta(metaclass=LazyTableName):
        base_name = "feed-parts"
        billing_mode = "PAY_PER_REQUEST"

    feed_id = UnicodeAttribute(hash_key=True)
    part = NumberAttribute(range_key=True)  # 1-based, in file order
    status = UnicodeAttribute(default="queued")  # queued → running → done | failed (services/jobs/lifecycle.py)
    lease_until = UTCDateTimeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    message = UnicodeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    start = NumberAttribute()  # first byte of the part's first line
    end = NumberAttribute()  # one past the last byte of its last line
    rows_read = NumberAttribute(default=0)
    matched = NumberAttribute(default=0)
    unmatched = NumberAttribute(default=0)
    rejected = NumberAttribute(default=0)
    too_old = NumberAttribute(default=0)
    repeated = NumberAttribute(default=0)
    newest_at = UnicodeAttribute(null=True)
    problems = ListAttribute(of=MapAttribute, default=list)  # [{"line": n, "reason": "…"}], lines of the part
    expires_at = TTLAttribute(null=True)


class StrangerShard(Model):
    """One part's rows of people nobody had registered, for one shard of person keys: a zlib-compressed
    JSON blob (services/feeds/strangers.py). Kept as long as the newest sample in it must be (rules.feeds
    .kept_until); a reader also drops what is older than the kept window."""

    class Meta(metaclass=LazyTableName):
        base_name = "stranger-index"
        billing_mode = "PAY_PER_REQUEST"

    shard = UnicodeAttribute(hash_key=True)  # "<kind>#<first SHARD_CHARS hex characters of the person key>"
    slot = UnicodeAttribute(range_key=True)  # "<received day>#<feed id>#<part>": one per part and shard
    rows = NumberAttribute(default=0)
    blob = BinaryAttribute(legacy_encoding=False)
    expires_at = TTLAttribute(null=True)
