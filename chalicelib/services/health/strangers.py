"""What feeds said about people nobody has registered (yet), kept without a write per row.

~90 % of a provincial file names people no enterprise registers. Writing each of their rows (a record
and a pending marker) was ~18M writes a day at a city's size, most of the feed's bill, for data almost
never read. Instead a feed part hands its strangers' rows here once (`Buffer`), and they are written as
one item per shard of person keys (store/feeds.StrangerShard: zlib-compressed JSON), so a part of
90,000 rows costs at most SHARDS (4,096) writes instead of ~160,000:

    feed part ──rows of unregistered keys──▶ Buffer ──flush──▶ StrangerShard (shard, "<day>#<feed>#<part>")
    registration ──keys──▶ lookup: one Query per shard touched, rows of the last 14 days ──▶ records

A redelivered part writes the same slots again (same keys, same content): nothing doubles. A reader drops
what is older than the kept window (rules.feeds.kept_since), whatever TTL has not deleted yet.
"""
from __future__ import annotations

import json
import zlib
from collections import defaultdict
from datetime import datetime, timedelta

from chalicelib.rules.clock import local_day, now
from chalicelib.rules.feeds import RESULT_RANK, kept_since, kept_until
from chalicelib.services.common.parallel import in_parallel
from chalicelib.store.feeds import StrangerShard

SHARD_CHARS = 3  # 4,096 shards: a city's day (9M strangers) is ~2,200 rows a shard, a few KB compressed
MAX_BLOB = 350_000  # bytes of one item's blob, under DynamoDB's 400 KB item limit
NAT, VACCINE = "nat", "vaccine"


def shard_of(kind: str, person_key: str) -> str:
    return f"{kind}#{person_key[:SHARD_CHARS]}"


class Buffer:
    """One feed part's strangers, by shard, until the part ends."""

    def __init__(self, kind: str, feed_id: str, part: int, received: datetime):
        self.kind, self.feed_id, self.part = kind, feed_id, part
        self.day = local_day(received).isoformat()
        self.rows: dict[str, list] = defaultdict(list)
        self.newest = received  # a vaccination's rows are kept as long as the part's own day needs them

    def nat(self, person_key: str, sampled: datetime, tested: datetime | None, result: str, site: str | None) -> None:
        self.rows[shard_of(NAT, person_key)].append(
            [person_key, int(sampled.timestamp()), int(tested.timestamp()) if tested else None, result, site])
        self.newest = max(self.newest, sampled)

    def dose(self, person_key: str, dose: int, day: str, product: str | None, unit: str | None) -> None:
        self.rows[shard_of(VACCINE, person_key)].append([person_key, dose, day, product, unit])

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def flush(self) -> int:
        """Write every shard's rows (one item each, a second if one would outgrow an item); returns items."""
        expires = kept_until(self.newest)
        items = []
        for shard, rows in self.rows.items():
            rows = _once(rows, vaccine=shard.startswith(VACCINE))
            for n, blob in enumerate(_blobs(rows)):
                slot = f"{self.day}#{self.feed_id}#{self.part:05d}" + (f"#{n}" if n else "")
                items.append(StrangerShard(shard, slot, rows=len(rows), blob=blob, expires_at=expires))
        in_parallel([lambda chunk=chunk: _save(chunk) for chunk in _chunks(items, 25)])
        return len(items)


def _once(rows: list, *, vaccine: bool) -> list:
    """One row per sample (person, time, site: the final result wins) or dose (person, dose: the later
    row wins), as the records of a registered person are kept: a part may replace a row it saw before."""
    kept: dict[tuple, list] = {}
    for row in rows:
        identity = (row[0], row[1]) if vaccine else (row[0], row[1], row[4])
        known = kept.get(identity)
        if vaccine or known is None or RESULT_RANK[row[3]] >= RESULT_RANK[known[3]]:
            kept[identity] = row
    return list(kept.values())


def _blobs(rows: list) -> list[bytes]:
    blob = zlib.compress(json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode(), 6)
    if len(blob) <= MAX_BLOB or len(rows) == 1:
        return [blob]
    half = len(rows) // 2
    return _blobs(rows[:half]) + _blobs(rows[half:])


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _save(items: list[StrangerShard]) -> None:
    with StrangerShard.batch_write() as batch:
        for item in items:
            batch.save(item)


def lookup(person_keys, *, current: datetime | None = None) -> dict[str, dict[str, list]]:
    """person key → {"nat": [[key, sampled s, tested s | None, result, site, feed id], …], "vaccine":
    [[key, dose, day, product, unit, feed id], …]} for the keys any kept part named; one Query per shard
    touched."""
    wanted = set(person_keys)
    if not wanted:
        return {}
    current = current or now()
    since = kept_since(current)
    first_day = (local_day(since) - timedelta(days=1)).isoformat()  # a file received the day before its oldest sample
    shards = sorted({shard_of(kind, key) for key in wanted for kind in (NAT, VACCINE)})
    found: dict[str, dict[str, list]] = {}

    def read(shard: str) -> list[tuple[str, list]]:
        kind = shard.split("#", 1)[0]
        out = []
        for item in StrangerShard.query(shard, StrangerShard.slot >= first_day):
            feed_id = item.slot.split("#")[1]
            for row in json.loads(zlib.decompress(item.blob)):
                if row[0] in wanted and (kind == VACCINE or row[1] >= since.timestamp()):
                    out.append((kind, [*row, feed_id]))
        return out

    for rows in in_parallel([lambda s=s: read(s) for s in shards]):
        for kind, row in rows:
            found.setdefault(row[0], {NAT: [], VACCINE: []})[kind].append(row)
    return found
