"""The overnight matcher, 凌晨 02:00 Asia/Shanghai, in segments (compliance/overnight.py runs each as its
own part; the last to end starts the night's compliance run).

Feeds and registrations keep person-health current as they happen; this run makes it agree with the
registry and the kept records once a day, whatever happened in between:

- every person some enterprise registers has their state rebuilt from their kept records (a sample
  whose state update failed is healed);
- a person registered in the last two days is looked up again in the stranger index (a registration
  that raced a feed part, whose strangers were written after the registration looked);
- a person marked registered whose staff records are all gone is released: from now on only what
  matching needs is kept of them, as long as a feed keeps anyone nobody registered (rules.feeds.kept_until).

Each segment reads its share of the staff table and of the registered people (DynamoDB's parallel Scan
segments): a batch job, not a request; at a city's size (1,000,000 staff) 128 segments of ~7,800 people,
each well inside a minute (MATCHER_SEGMENTS, docs/performance.md).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from chalicelib.rules.clock import now
from chalicelib.rules.feeds import kept_until
from chalicelib.services.health import state as health
from chalicelib.services.health import strangers
from chalicelib.services.common.parallel import in_parallel
from chalicelib.store.models import PersonHealth, Staff

log = logging.getLogger(__name__)
RECENTLY = timedelta(days=2)  # registrations the night looks again for in the stranger index


def reconcile(current: datetime | None = None, *, segments: int = 1) -> dict:
    """The whole night in this process (the tests', the bench's and a small stage's way): every segment
    one after the other. On AWS each segment is a part of its own (compliance/overnight.py)."""
    totals = {"rebuilt": 0, "released": 0, "failed": 0, "looked_again": 0}
    for segment in range(segments):
        for name, value in reconcile_segment(segment, segments, current=current).items():
            totals[name] += value
    return totals


def reconcile_segment(segment: int, segments: int, *, current: datetime | None = None) -> dict:
    """One parallel Scan segment of the staff table and of person-health: rebuild the registered people
    this segment's staff records name, release the registered people of this person-health segment no
    staff record names any more (one index Query each: segments of two tables do not line up), and look
    again in the stranger index for those registered in the last two days (a registration that raced a
    feed part: apply.py)."""
    current = current or now()
    registry = {p.person_key for p in Staff.scan(segment=segment, total_segments=segments,
                                                   attributes_to_get=["person_key"])}
    marked, recent = set(), set()
    since = current - RECENTLY
    for state in PersonHealth.scan(PersonHealth.registered == True, segment=segment,  # noqa: E712
                                   total_segments=segments, attributes_to_get=["person_key", "registered_at"]):
        marked.add(state.person_key)
        if state.registered_at is not None and state.registered_at >= since:
            recent.add(state.person_key)
    gone = [key for key in marked - registry if not any(True for _ in Staff.by_person.query(key, limit=1))]
    found = strangers.lookup(recent, current=current) if recent else {}
    health.adopt(found)
    until = kept_until(current)  # a sample of today stays until the last day whose window needs it
    failed = _each(registry, health.rebuild) + _each(gone, lambda key: health.release(key, until=until))
    failed += _each([k for k in found if k not in registry], health.rebuild)
    return {"rebuilt": len(registry), "released": len(gone), "failed": failed, "looked_again": len(recent)}


def _each(keys, action) -> int:
    """`action(key)` for every key; one person's failure is logged and counted, never the night's end
    (tomorrow's run tries them again). Returns how many failed."""
    failed = []

    def attempt(key: str) -> None:
        try:
            action(key)
        except Exception:  # noqa: BLE001 - isolate one person; the log has the traceback
            log.exception("overnight matcher: person %s…", key[:8])
            failed.append(key)

    in_parallel([lambda key=key: attempt(key) for key in keys])
    return len(failed)
