"""A feed's rows applied (docs/feeds.md): validated, matched to registered people by keyed ID hash, and
stored — the work of one part of a file (parts.py), however the file was cut.

    per block: drop repeats of a sample or dose the part named before (rows.Repeats)
             ─▶ which people are registered (batched reads, side by side)
             ─▶ registered: records (idempotent keys) and their state moved forward (never back)
             ─▶ nobody's: into the part's stranger buffer (health/strangers.py) — no write per row

Records first, then state: a crash in between leaves records a retry rewrites and state it then moves
forward. A person registered in the milliseconds between a block's lookup and the part's end lands in
the stranger buffer; their registration's lookup may run before the buffer is written, so the overnight
matcher looks again for everyone registered in the last two days (health/matcher.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterator

import numpy as np

from chalicelib.rules import feeds as rules
from chalicelib.rules.clock import SHANGHAI
from chalicelib.services.common.parallel import in_parallel
from chalicelib.services.feeds.reader import BadFeedError, Block
from chalicelib.services.feeds.rows import (NO_TIME, RESULTS, Context, NatRows, Repeats, Report, nat_once, nat_rows,
                                            vaccine_once, vaccine_rows)
from chalicelib.services.health import rekey
from chalicelib.services.health import state as health
from chalicelib.services.health.strangers import Buffer
from chalicelib.store.models import HealthRecord

WRITE_CHUNK = 5000  # rows whose records are built and written together
LOOKUP_KEYS = 100  # BatchGetItem's limit: a block's 40,000 keys are 400 calls, made side by side


def ingest(kind: str, source_id: str, blocks: Iterator[Block], current: datetime, *, registered=None,
           write: bool = True, strangers: Buffer | None = None) -> Report:
    """Validate, match and (when `write`) store every row. `registered(keys) -> set` may be given (the
    bench passes an in-memory set); by default batched reads of person-health. Rows of unregistered
    people go to `strangers` (the caller writes it when the part ends). A file that turns out unreadable
    halfway raises BadFeedError carrying the report of the rows before."""
    report = Report()
    context = Context(current)
    lookup = registered or registered_of
    repeats = Repeats()  # across the blocks: a repeat may come a million rows after its first row
    try:
        for block in blocks:
            report.rows_read += block.count
            if kind == "nat":
                rows = nat_rows(block, context, report)
                rows.keys, on_old = _registered_key(rows.keys, context, lookup)
                _apply_nat(source_id, nat_once(rows, context, repeats, report), report, lookup, write, strangers)
            else:
                pairs = vaccine_rows(block, context, report)
                keys, on_old = _registered_key([k for k, _ in pairs], context, lookup)
                pairs, again = vaccine_once(list(zip(keys, [v for _, v in pairs])), repeats, report)
                _apply_vaccine(source_id, pairs, report, lookup, write, strangers, again=again)
            if on_old and write:
                _heal(on_old)
    except BadFeedError as exc:
        exc.report = report
        raise
    return report


def registered_of(keys: list[str]) -> set[str]:
    """Which of these people are registered: BatchGetItem of 100 keys a call, the calls side by side."""
    distinct = list(dict.fromkeys(keys))
    chunks = [distinct[i:i + LOOKUP_KEYS] for i in range(0, len(distinct), LOOKUP_KEYS)]
    found: set[str] = set()
    for states in in_parallel([lambda c=c: health.states(c, attributes=["person_key", "registered"]) for c in chunks]):
        found.update(k for k, state in states.items() if state.registered)
    return found


def _registered_key(keys: list[str], context: Context, lookup) -> tuple[list[str], dict[str, str]]:
    """While a person-key rotation runs, a row of someone still registered under the replaced key is
    matched (and stored) under that key, which the re-key job then moves; everyone else under the
    current key. One more batched read per block, during a rotation only. Returns the keys and, for the
    rows kept under a replaced key, replaced key → current key."""
    if not context.alias:
        return keys, {}
    old = [context.alias[key] for key in keys]
    context.alias.clear()
    registered = lookup(keys + old)
    chosen = [o if key not in registered and o in registered else key for key, o in zip(keys, old)]
    return chosen, {o: key for key, o, c in zip(keys, old, chosen) if c == o}


def _heal(on_old: dict[str, str]) -> None:
    """Someone the re-key job moved between this block's lookup and its writes has the block's samples
    left under the replaced key: move those too (their state there is gone, so the move is due)."""
    still = set(health.states(list(on_old), attributes=["person_key"]))
    for old, new in on_old.items():
        if old not in still:
            rekey.move(old, new)


def _count(report: Report, keys: list[str], registered: set[str], again, *, per_row: bool) -> list[bool]:
    """Count matched and unmatched rows, less those `again` marks (a repeat replacing an earlier block's
    copy: counted as repeated); `per_row`: also return which rows matched."""
    hits = list(map(registered.__contains__, keys)) if per_row else []
    matched = sum(hits) if per_row else sum(map(registered.__contains__, keys))
    counted = len(keys)
    if again is not None:
        counted -= int(again.sum())
        matched -= sum(keys[i] in registered for i in np.flatnonzero(again).tolist())
    report.matched += matched
    report.unmatched += counted - matched
    return hits


def _apply_nat(source_id: str, rows: NatRows, report: Report, lookup, write: bool, strangers: Buffer | None) -> None:
    if not rows.keys:
        return
    hits = _count(report, rows.keys, lookup(rows.keys), rows.again, per_row=write)
    report.saw(datetime.fromtimestamp(int(rows.sampled.max()), SHANGHAI).isoformat())
    if not write:
        return
    for start in range(0, len(rows.keys), WRITE_CHUNK):
        records, latest, samples = [], {}, {}
        for i in range(start, min(start + WRITE_CHUNK, len(rows.keys))):
            key, site = rows.keys[i], rows.sites[rows.site[i]]
            sampled = datetime.fromtimestamp(int(rows.sampled[i]), SHANGHAI)
            tested = datetime.fromtimestamp(int(rows.tested[i]), SHANGHAI) if rows.tested[i] != NO_TIME else None
            result = RESULTS[rows.result[i]]
            if not hits[i]:
                if strangers is not None:
                    strangers.nat(key, sampled, tested, result, site)
                continue
            values = {"sampled_at": sampled, "tested_at": tested, "result": result, "site": site}
            records.append(HealthRecord(key, f"nat#{sampled.isoformat()}#{site or '-'}", kind="nat", feed_id=source_id,
                                        expires_at=rules.kept_until(sampled), **values))
            samples.setdefault(key, set()).add(health.sample_tag(sampled, result, site))
            if key not in latest or sampled >= latest[key]["sampled_at"]:
                latest[key] = values
        _store(records, [lambda key=key, v=v: health.apply_nat(key, **v, samples=samples[key])
                         for key, v in latest.items()])


def _apply_vaccine(source_id: str, rows: list[tuple[str, dict]], report: Report, lookup, write: bool,
                   strangers: Buffer | None, *, again=None) -> None:
    if not rows:
        return
    keys = [key for key, _ in rows]
    hits = _count(report, keys, lookup(keys), again, per_row=write)
    report.saw(max(v["day"] for _, v in rows))
    if not write:
        return
    records, updates = [], []
    for (key, v), hit in zip(rows, hits):
        if not hit:
            if strangers is not None:
                strangers.dose(key, v["dose"], v["day"], v["product"], v["unit"])
            continue
        records.append(HealthRecord(key, f"vax#{v['dose']}", kind="vaccine", dose=v["dose"], vaccinated_on=v["day"],
                                    product=v["product"], unit=v["unit"], feed_id=source_id))
        updates.append(lambda key=key, v=v: health.apply_dose(key, dose=v["dose"], day=v["day"], product=v["product"]))
    _store(records, updates)


def _store(records: list, updates: list) -> None:
    """Records first, then state, each side by side (a part's registered tenth of 90,000 rows is 360
    BatchWriteItem calls). A failure raises: the lease expires and the redelivered part finishes."""
    in_parallel([lambda chunk=chunk: _save_all(HealthRecord, chunk) for chunk in _chunks(records)])
    in_parallel(updates)


def _chunks(items: list, size: int = 250) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _save_all(model, items) -> None:
    with model.batch_write() as batch:
        for item in items:
            batch.save(item)
