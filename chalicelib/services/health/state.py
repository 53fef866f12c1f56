"""Per-person health state (latest NAT sample, vaccination doses), joined into every staff view.

Feeds (services/feeds/apply.py) write it for registered people; registration (`register`) creates it and
picks up what feeds said in the kept days (rules.feeds.kept_since) about a person nobody had registered
yet (the stranger index, strangers.py). It is kept per person (keyed hash of the ID number), not per staff record, so re-registering or
re-importing a person never erases it.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Iterable

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.rules.clock import SHANGHAI, iso, now
from chalicelib.rules.feeds import RESULT_RANK, kept_since, kept_until
from chalicelib.services.health import strangers
from chalicelib.store.models import HealthRecord, PersonHealth
from chalicelib.store.values import condition_failed

EMPTY: dict = {"last_sampled_at": None, "last_result": None, "last_tested_at": None, "last_site": None,
               "dose1_at": None, "dose2_at": None, "dose3_at": None}
IMPLIED = "已接种（日期不详）"  # a recorded dose 3 implies doses 1 and 2 (DOMAIN.md)
RESULT_CODES = {"阴性": "N", "阳性": "P", "未出结果": "U"}


def sample_tag(sampled_at, result: str, site: str | None) -> str:
    """One sample as PersonHealth.recent keeps it: when, the result, and which site (two samples at the
    same minute at two sites are two 人次; the same sample reported again is the same element)."""
    site_tag = hashlib.blake2s((site or "").encode(), digest_size=3).hexdigest()
    return f"{int(sampled_at.timestamp())}:{RESULT_CODES.get(result, 'U')}:{site_tag}"


def public(state: PersonHealth | None) -> dict:
    if state is None:
        return EMPTY
    sampled = state.last_sampled_at
    fresh = sampled is not None and sampled >= kept_since(now())
    doses = [state.dose1_at, state.dose2_at, state.dose3_at]
    for n in (2, 1):  # dose n+1 recorded implies dose n
        if doses[n] and not doses[n - 1]:
            doses[n - 1] = IMPLIED
    return {"last_sampled_at": iso(sampled) if fresh else None,
            "last_result": state.last_result if fresh else None,
            "last_tested_at": iso(state.last_tested_at) if fresh else None,
            "last_site": state.last_site if fresh else None,
            "dose1_at": doses[0], "dose2_at": doses[1], "dose3_at": doses[2]}


def states(person_keys: Iterable[str], *, attributes: list[str] | None = None) -> dict[str, PersonHealth]:
    """person key → state, for the keys that have one (BatchGetItem, 100 keys a call)."""
    keys = list(dict.fromkeys(person_keys))
    found: dict[str, PersonHealth] = {}
    for start in range(0, len(keys), 100):
        for state in PersonHealth.batch_get(keys[start:start + 100], attributes_to_get=attributes):
            found[state.person_key] = state
    return found


def for_people(person_keys: Iterable[str]) -> dict[str, dict]:
    """person key → the public health fields (batched reads)."""
    return {key: public(state) for key, state in states(person_keys).items()}


def of(found: dict[str, dict], person_key: str) -> dict:
    return found.get(person_key, EMPTY)


def register(person_keys: Iterable[str], *, current: datetime | None = None) -> int:
    """Mark people registered, and match what feeds said of them in the last 14 days now — a late
    registration is matched within the request or import, not overnight: their rows are taken from the
    stranger index (strangers.py) into records, or (a person released earlier, or written before the
    index existed) read from their kept records, and their state rebuilt. Returns how many were matched."""
    keys = list(dict.fromkeys(person_keys))
    current = current or now()
    existing = states(keys)
    fresh = [k for k in keys if k not in existing]
    with PersonHealth.batch_write() as batch:
        for key in fresh:
            batch.save(PersonHealth(key, registered=True, registered_at=current))
    unsettled = fresh + [k for k, state in existing.items() if not state.registered or state.pending]
    found = strangers.lookup(unsettled, current=current)
    adopt(found)
    matched = [k for k in unsettled if k in found or k in existing]
    for key in matched:
        rebuild(key)
    return len(matched)


def adopt(found: dict[str, dict[str, list]]) -> None:
    """Stranger rows (strangers.lookup) of people now registered, as the records a feed writes for a
    registered person (the same keys: a later delivery of the same sample replaces it, never doubles)."""
    records: dict[tuple[str, str], HealthRecord] = {}
    for key, rows in found.items():
        for _, sampled_s, tested_s, result, site, feed_id in rows["nat"]:
            sampled = datetime.fromtimestamp(sampled_s, SHANGHAI)
            record = HealthRecord(key, f"nat#{sampled.isoformat()}#{site or '-'}", kind="nat", sampled_at=sampled,
                                  tested_at=datetime.fromtimestamp(tested_s, SHANGHAI) if tested_s else None,
                                  result=result, site=site, feed_id=feed_id, expires_at=kept_until(sampled))
            known = records.get((key, record.record_key))
            if known is None or RESULT_RANK[result] > RESULT_RANK[known.result]:  # the final result wins
                records[(key, record.record_key)] = record
        for _, dose, day, product, unit, feed_id in rows["vaccine"]:
            records[(key, f"vax#{dose}")] = HealthRecord(key, f"vax#{dose}", kind="vaccine", dose=dose,
                                                         vaccinated_on=day, product=product, unit=unit,
                                                         feed_id=feed_id)
    items = list(records.values())
    with HealthRecord.batch_write() as batch:
        for item in items:
            batch.save(item)


def rebuild(person_key: str) -> PersonHealth:
    """The person's state from their kept records (late registration, and the overnight matcher).

    Records are written before state, so a stored sample newer than every record read here can only
    come from a feed applying it meanwhile: then that state stands (the write is conditional) and the
    next rebuild picks up the rest."""
    started = now()
    state = PersonHealth(person_key, registered=True, pending=False)
    latest, recent, since = None, set(), kept_since(started)
    for record in HealthRecord.query(person_key):
        if record.kind == "nat":
            if latest is None or record.sampled_at >= latest.sampled_at:
                latest = record
            if record.sampled_at >= since:
                recent.add(sample_tag(record.sampled_at, record.result, record.site))
        elif record.kind == "vaccine" and record.dose in (1, 2, 3):
            setattr(state, f"dose{int(record.dose)}_at", record.vaccinated_on)
            setattr(state, f"dose{int(record.dose)}_product", record.product or None)
            state.products = record.product or state.products
            if record.expires_at is not None:  # kept for good now that the person is registered
                record.update(actions=[HealthRecord.expires_at.remove()])
    # what a stored sample may be for this rebuild to replace it: one it read, or one already expired
    replaceable = (PersonHealth.last_sampled_at.does_not_exist()
                   | (PersonHealth.last_sampled_at < since))
    state.recent = recent or None
    if latest is not None:
        state.last_sampled_at, state.last_tested_at = latest.sampled_at, latest.tested_at
        state.last_result, state.last_site = latest.result, latest.site
        replaceable |= PersonHealth.last_sampled_at <= latest.sampled_at
    try:
        state.save(condition=replaceable)
    except PutError as exc:
        if not condition_failed(exc):
            raise
    return state


def release(person_key: str, *, until) -> None:
    """A person no enterprise registers any more: kept only as a stranger is (what matching needs, until
    `until`), their doses included. Registering them again rebuilds their state from what is left."""
    PersonHealth(person_key).update(actions=[PersonHealth.registered.set(False), PersonHealth.pending.set(True),
                                             PersonHealth.expires_at.set(until)])
    for record in HealthRecord.query(person_key):
        if record.expires_at is None or record.expires_at > until:
            record.update(actions=[HealthRecord.expires_at.set(until)])


def apply_nat(person_key: str, *, sampled_at, tested_at, result: str, site: str | None,
              samples: set[str] | frozenset = frozenset()) -> None:
    """Add a registered person's `samples` (sample_tag) to their recent ones and move their latest sample
    forward (never back: files arrive in any order). One write when this file's sample is the newest,
    as it nearly always is; a second, for the samples alone, when an older file arrives late."""
    recent = [PersonHealth.recent.add(samples)] if samples else []
    try:
        PersonHealth(person_key).update(
            actions=[PersonHealth.last_sampled_at.set(sampled_at), PersonHealth.last_result.set(result),
                     PersonHealth.last_tested_at.set(tested_at) if tested_at else PersonHealth.last_tested_at.remove(),
                     PersonHealth.last_site.set(site) if site else PersonHealth.last_site.remove(), *recent],
            condition=(PersonHealth.registered == True) & (PersonHealth.last_sampled_at.does_not_exist()  # noqa: E712
                                                          | (PersonHealth.last_sampled_at <= sampled_at)))
        return
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
    if recent:
        try:
            PersonHealth(person_key).update(actions=recent, condition=PersonHealth.registered == True)  # noqa: E712
        except UpdateError as exc:
            if not condition_failed(exc):
                raise


def apply_dose(person_key: str, *, dose: int, day: str, product: str | None) -> None:
    actions = [getattr(PersonHealth, f"dose{dose}_at").set(day)]
    if product:
        actions += [PersonHealth.products.set(product), getattr(PersonHealth, f"dose{dose}_product").set(product)]
    try:
        PersonHealth(person_key).update(actions=actions, condition=PersonHealth.registered == True)  # noqa: E712
    except UpdateError as exc:
        if not condition_failed(exc):
            raise


def records(person_key: str, *, days: int = 7) -> dict:
    """查看核酸 (the last `days` days of samples, newest first) and 疫苗接种 (doses) of one person."""
    since = now() - timedelta(days=days)
    nat, doses = [], []
    for record in HealthRecord.query(person_key):
        if record.kind == "nat" and record.sampled_at >= since:
            nat.append({"sampled_at": iso(record.sampled_at), "result": record.result,
                        "tested_at": iso(record.tested_at), "site": record.site or ""})
        elif record.kind == "vaccine":
            doses.append({"dose": int(record.dose), "vaccinated_on": record.vaccinated_on,
                          "product": record.product or "", "unit": record.unit or ""})
    nat.sort(key=lambda r: r["sampled_at"], reverse=True)
    recorded = {d["dose"] for d in doses}
    for dose in range(max(recorded, default=0) - 1, 0, -1):
        if dose not in recorded:
            doses.append({"dose": dose, "vaccinated_on": IMPLIED, "product": "", "unit": ""})
    doses.sort(key=lambda d: d["dose"])
    return {"nat": nat, "vaccine": doses}
