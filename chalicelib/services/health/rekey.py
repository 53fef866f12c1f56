"""Moving a person from one person key to another: what a person-key rotation does to each person.

Everything stored under a person key — their staff records (one per enterprise), their health state,
their kept NAT and vaccination records, and today's shortfall items the heads' lists link to — is copied
under the new key and only then deleted under the old one, so a crash halfway leaves the old copy
whole and the next attempt (the same move again) finishes it. Moving is idempotent: a person already
moved has nothing under the old key, and the move reads three things and writes nothing.

Two callers: the rotation's passes over the staff table (services/operations/rotation.py), and, while
a rotation runs, every registration, import and edit (`settle`), so that a person about to be written
under the current key is first moved there, with what feeds said of them before (registered or not).
"""
from __future__ import annotations

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from chalicelib.rules.clock import local_day, now
from chalicelib.services.common import keyring
from chalicelib.services.health import state as health
from chalicelib.services.health import strangers
from chalicelib.services.common.counts import adjust_count
from chalicelib.services.search import index as search_index
from chalicelib.store.compliance import ShortfallItem
from chalicelib.store.models import HealthRecord, PersonHealth, Staff
from chalicelib.store.values import condition_failed


def _copy(item, **changes):
    values = dict(item.attribute_values)
    values.update(changes)
    return type(item)(**values)


def _get(model, *keys):
    try:
        return model.get(*keys, consistent_read=True)
    except DoesNotExist:
        return None


def move(old: str, new: str, *, holders=()) -> bool:
    """Everything stored under `old` to `new`. True when anything moved. `holders`: enterprises known
    to hold a staff record under `old` (the rotation's scan read it), beside those the index names —
    the index lags a write by a moment; the scan does not."""
    if old == new:
        return False
    records = list(HealthRecord.query(old, consistent_read=True))
    state = _get(PersonHealth, old)
    holders = set(holders) | {row.enterprise_id for row in Staff.by_person.query(old)}
    if not records and state is None and not holders:
        return False
    with HealthRecord.batch_write() as batch:
        for record in records:
            batch.save(_copy(record, person_key=new))
    staff = [_move_staff(enterprise_id, old, new) for enterprise_id in sorted(holders)]
    if not records and state is None and MOVED not in staff:
        return False  # a holder the scan named was moved already, by a move of the same person
    registered = any(staff)
    existing = _get(PersonHealth, new)
    copied = False
    if state is not None and existing is None:
        try:
            _copy(state, person_key=new).save(condition=PersonHealth.person_key.does_not_exist())
            copied = state.registered or not registered
        except PutError as exc:
            if not condition_failed(exc):
                raise
    # the state copied whole is the person's (the usual case); otherwise — both keys had some, or records
    # without state, or a stranger's marker for someone registered — one state from every record
    if not copied and (registered or (state is not None and state.registered)
                       or (existing is not None and existing.registered)):
        health.rebuild(new)
    with HealthRecord.batch_write() as batch:
        for record in records:
            batch.delete(record)
    if state is not None:
        PersonHealth(old).delete()
    return True


MOVED, THERE = "moved", "there"


def _move_staff(enterprise_id: str, old: str, new: str) -> str | None:
    """One staff record to the new key, with today's shortfall item of it: MOVED, THERE (under the new
    key already), or None (not registered there, or changed meanwhile: the next pass moves it).

    Two conditional writes, not a transaction (half the write units; DynamoDB Local copies a table per
    transaction): the copy is marked `moved_from`, so a copy left by a crash before the delete is known
    for ours and written again, never taken for a second registration."""
    row = _get(Staff, enterprise_id, old)
    if row is None:
        if _get(Staff, enterprise_id, new) is None:
            return None
        # moved by an earlier attempt, which may have died before the search index followed
        search_index.refresh([(enterprise_id, old), (enterprise_id, new)])
        return THERE
    there = _get(Staff, enterprise_id, new)
    twice = there is not None and there.moved_from != old
    if not twice:  # absent, or our own earlier copy: (re)written from the record as it is now
        try:
            _copy(row, person_key=new, moved_from=old).save(
                condition=Staff.person_key.does_not_exist() | (Staff.moved_from == old))
        except PutError as exc:
            if not condition_failed(exc):
                raise
            twice = True  # registered under the new key this very moment: that record stays
    # the search index follows the copy before the original goes: a crash in between leaves the person
    # findable, and the next pass moves them again
    search_index.refresh([(enterprise_id, new)])
    try:
        row.delete(condition=Staff.updated_at == row.updated_at)
    except DeleteError as exc:
        if not condition_failed(exc):
            raise
        return None  # edited meanwhile: the next pass copies it again over its own copy
    search_index.sync({(enterprise_id, old): None})
    if twice:  # registered again under the new key meanwhile: the enterprise counts one person, not two
        adjust_count(enterprise_id, -1)
    _move_shortfall(enterprise_id, old, new)
    return MOVED


def _move_shortfall(enterprise_id: str, old: str, new: str) -> None:
    """Today's list item (the head's 未按规定检测 list opens the person by this key). Earlier days'
    items are history: they carry the name and masked phone they were made with and link nowhere."""
    item = _get(ShortfallItem, f"{local_day(now()).isoformat()}#{enterprise_id}", old)
    if item is None:
        return
    _copy(item, person_key=new).save()
    try:
        item.delete()
    except DeleteError:
        pass  # gone meanwhile (a new run's generation replaced the day's items)


def settle(id_numbers) -> int:
    """While a rotation runs: move these people (by ID number) to the current key before they are
    written, looked up or edited under it. Nothing to do otherwise, and no request is made then.
    Returns how many were moved."""
    ring = keyring.ring()
    replaced = ring.replaced_digests()
    if replaced is None:
        return 0
    numbers = list(dict.fromkeys(id_numbers))
    current = ring.digests()([n.encode() for n in numbers])
    old = replaced([n.encode() for n in numbers])
    # only someone with state under the old key has anything there (registration creates state; feeds
    # write it for strangers): one batched read for an import's rows, then the few that need moving
    held = set(health.states(old, attributes=["person_key"]))
    moved = sum(move(o, c) for o, c in zip(old, current) if o in held)
    return moved + _strangers_moved(dict(zip(old, current)))


def _strangers_moved(new_of: dict[str, str]) -> int:
    """What feeds said of people nobody had registered lives in the stranger index under the key of the
    day it came (strangers.py), not as records to move: taken from there under the current key, and a
    pending state left, so the registration that follows rebuilds their state from them."""
    found = strangers.lookup(list(new_of))
    moved = {new_of[old]: {kind: [[new_of[old], *row[1:]] for row in rows] for kind, rows in by_kind.items()}
             for old, by_kind in found.items()}
    health.adopt(moved)
    for key in moved:  # never over the state of someone registered under the current key already
        try:
            PersonHealth(key, registered=False, pending=True).save(condition=PersonHealth.person_key.does_not_exist())
        except PutError as exc:
            if not condition_failed(exc):
                raise
    return len(moved)
