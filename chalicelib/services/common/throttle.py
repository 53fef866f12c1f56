"""Counting attempts per time window — codes sent per client address, wrong passwords per account — with
one atomic ADD per attempt (no read-then-write race between two Lambda instances). A window is a fixed
slice of time (e.g. this hour); its counter expires with it through the table's TTL.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from chalicelib.rules.clock import now
from chalicelib.store.models import Throttle


MAX_WHO_BYTES = 200  # whoever is counted is named by the caller (a typed username): keys end at 2,048 bytes


def _key(what: str, who: str, window: timedelta, at: datetime) -> tuple[str, datetime]:
    if len(who.encode()) > MAX_WHO_BYTES:  # counted all the same, under a digest that fits a key
        who = "sha256:" + hashlib.sha256(who.encode()).hexdigest()
    size = int(window.total_seconds())
    start = int(at.timestamp()) // size * size
    return f"{what}#{who}#{start}", datetime.fromtimestamp(start + size, at.tzinfo)


def hit(what: str, who: str, *, window: timedelta) -> int:
    """Count one attempt; returns how many this window holds now, this one included."""
    key, ends = _key(what, who, window, now())
    record = Throttle(key)
    record.update(actions=[Throttle.count.add(1), Throttle.expires_at.set(ends + timedelta(minutes=5))])
    return int(record.count)


def count(what: str, who: str, *, window: timedelta) -> int:
    """How many attempts this window holds (TTL deletes late: an expired window is simply another key)."""
    key, _ = _key(what, who, window, now())
    try:
        return int(Throttle.get(key).count)
    except Throttle.DoesNotExist:
        return 0


def seconds_left(window: timedelta) -> int:
    """Until the current window ends: what a refusal tells the caller to wait."""
    _, ends = _key("", "", window, now())
    return max(1, int((ends - now()).total_seconds()))
