"""The overnight matcher (ARCHITECTURE.md flow 4), 凌晨 02:00 Asia/Shanghai.

Feeds and registrations keep person-health current as they happen; this run makes it agree with the
registry and the kept records once a day, whatever happened in between:

- every person some enterprise registers has their state rebuilt from the last 14 days of records (a
  sample whose state update failed, or a registration that raced a feed's pending marker, is healed);
- a person marked registered whose staff records are all gone is released: from now on only what
  matching needs is kept of them, for 14 days, as of anyone nobody registered.

It reads the staff table and the registered people in full, once a night: a batch job, not a request.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.rules.clock import now
from chalicelib.rules.feeds import KEEP_DAYS
from chalicelib.services import health
from chalicelib.services.parallel import in_parallel
from chalicelib.store.models import PersonHealth, Staff


def reconcile(current: datetime | None = None) -> dict:
    current = current or now()
    registry = {person.person_key for person in Staff.scan(attributes_to_get=["person_key"])}
    marked = {state.person_key for state in PersonHealth.scan(PersonHealth.registered == True,  # noqa: E712
                                                               attributes_to_get=["person_key"])}
    in_parallel([lambda key=key: health.rebuild(key) for key in registry])
    released = marked - registry
    until = current + timedelta(days=KEEP_DAYS)
    in_parallel([lambda key=key: health.release(key, until=until) for key in released])
    return {"rebuilt": len(registry), "released": len(released)}
