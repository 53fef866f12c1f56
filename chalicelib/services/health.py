"""Per-person health state (latest NAT sample, vaccination doses) joined into staff views.

The provincial feeds (issue 4) fill it; until a feed has been ingested every field is empty. It is kept
per person (keyed hash of the ID number), not per staff record, so re-registering or re-importing a
person never erases what the feeds said about them.
"""
from __future__ import annotations

from typing import Iterable

EMPTY: dict = {"last_sampled_at": None, "last_result": None, "last_tested_at": None,
               "dose1_at": None, "dose2_at": None, "dose3_at": None}


def for_people(person_keys: Iterable[str]) -> dict[str, dict]:
    """person key → health fields, for the keys that have any (batched reads; none before feeds)."""
    return {}


def of(found: dict[str, dict], person_key: str) -> dict:
    return found.get(person_key, EMPTY)
