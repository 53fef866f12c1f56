"""The overnight matcher (ARCHITECTURE.md flow 4), 凌晨 02:00 Asia/Shanghai.

Feeds and registrations keep person-health current as they happen; this run makes it agree with the
registry and the kept records once a day, whatever happened in between:

- every person some enterprise registers has their state rebuilt from their kept records (a sample
  whose state update failed, or a registration that raced a feed's pending marker, is healed);
- a person marked registered whose staff records are all gone is released: from now on only what
  matching needs is kept of them, as long as a feed keeps anyone nobody registered (rules.feeds.kept_until).

It reads the staff table and the registered people in full, once a night: a batch job, not a request.
"""
from __future__ import annotations

import logging
from datetime import datetime

from chalicelib.rules.clock import now
from chalicelib.rules.feeds import kept_until
from chalicelib.services.health import roster
from chalicelib.services.health import state as health
from chalicelib.services.common.parallel import in_parallel
from chalicelib.store.models import PersonHealth, Staff

log = logging.getLogger(__name__)


def reconcile(current: datetime | None = None) -> dict:
    current = current or now()
    registry = {person.person_key for person in Staff.scan(attributes_to_get=["person_key"])}
    marked = {state.person_key for state in PersonHealth.scan(PersonHealth.registered == True,  # noqa: E712
                                                               attributes_to_get=["person_key"])}
    released = marked - registry
    until = kept_until(current)  # a sample of today stays until the last day whose window needs it
    failed = _each(registry, health.rebuild) + _each(released, lambda key: health.release(key, until=until))
    partitions = roster.every_partition()
    failed += _each(partitions, lambda part: roster.rebuild(*part))  # the samples that aged out leave the statistics
    return {"rebuilt": len(registry), "released": len(released), "failed": failed, "rosters": len(partitions)}


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
