"""The staff registry (§2.2): what an enterprise head keeps, and the reads the ledger (§2.3) shares.

A staff record is (enterprise, person key), the person key being the keyed hash of the normalized ID
number; "one person per enterprise and ID number" is therefore the table's own key, checked by a
conditional write, never by a read-then-write.

Reads never scan the table. A head's lists read the partitions of their own enterprises; the ledger
reads the `by-scope` index partitions (category#town) of the caller's scope. Pages are assembled from
keys (newest first), then only the rows of the page are fetched whole. A search reads the search index
instead (staff_search.py); every write here keeps that index current (services/search/index.py).
"""
from __future__ import annotations

from typing import Iterator, Sequence

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from chalicelib.errors import DuplicateError, NotFoundError, StaleError, ValidationError
from chalicelib.rules import catalog, geography
from chalicelib.rules.clock import SHANGHAI, iso, now
from chalicelib.rules.masking import mask_id_number, mask_phone
from chalicelib.services.identity import audit
from chalicelib.services.health import roster
from chalicelib.services.health import state as health
from chalicelib.services.common import paging
from chalicelib.services.health import rekey
from chalicelib.services.common.counts import adjust_count  # noqa: F401 - staff.adjust_count for imports
from chalicelib.services.registry import staff_search
from chalicelib.services.registry.enterprises import enterprises_of_head
from chalicelib.services.search import index as search_index
from chalicelib.services.identity.auth import Principal
from chalicelib.access.policy import HEADS, require
from chalicelib.services.common import keyring
from chalicelib.services.registry.staff_schema import StaffIn, missing_enterprise, parse_staff
from chalicelib.store.models import Enterprise, Staff
from chalicelib.store.values import condition_failed, plain, scope_key
from chalicelib.workbooks import filenames

MAX_PAGE_SIZE = 500
NOT_FOUND = "人员不存在或不在您的管理范围内"


def person_key(id_number: str) -> str:
    """The key a record of this (normalized) ID number is written under: the ring's current version."""
    return keyring.person_key(id_number)


def staff_id(person: Staff) -> str:
    return f"{person.enterprise_id}.{person.person_key}"


def split_id(value: str) -> tuple[str, str]:
    enterprise_id, _, key = (value or "").partition(".")
    if not enterprise_id or len(key) != 64:
        raise NotFoundError(NOT_FOUND)
    return enterprise_id, key


def public(person: Staff, ent: Enterprise | None, *, full: bool = False, health_state: dict | None = None,
           with_head: bool = False) -> dict:
    category = catalog.category(person.category)
    item = {
        "id": staff_id(person),
        "enterprise_id": person.enterprise_id,
        "enterprise_name": ent.name if ent else "",
        "category": person.category,
        "category_name": category.name if category else person.category,
        "town": person.town,
        "name": person.name,
        "person_category": person.person_category or "",
        "phone": person.phone if full else mask_phone(person.phone),
        "id_number": person.id_number if full else mask_id_number(person.id_number),
        "residence_type": person.residence_type or "",
        "address": person.address or "",
        "extra": plain(person.extra),
        "created_at": iso(person.created_at),
        # to the microsecond: it is the edit's optimistic-lock token as well as a display time
        "updated_at": person.updated_at.astimezone(SHANGHAI).isoformat() if person.updated_at else None,
        "health": health_state or health.EMPTY,
    }
    if with_head:
        item["head_name"] = ent.head_name if ent else ""
        item["head_phone"] = (ent.head_phone if full else mask_phone(ent.head_phone)) if ent else ""
    return item


# ---------------------------------------------------------------------------------------------------
# The head's registry


def own_enterprises(principal: Principal) -> dict[str, Enterprise]:
    """The enterprises whose 负责人电话 is this head's phone, by id (sorted by name)."""
    require(principal, HEADS)

    return {e.enterprise_id: e for e in enterprises_of_head(principal.id)}


def options(principal: Principal) -> dict:
    owned = own_enterprises(principal)
    return {
        "enterprises": [{
            "id": e.enterprise_id, "name": e.name, "category": e.category, "town": e.town,
            "category_name": catalog.category(e.category).name if catalog.category(e.category) else e.category,
            "staff_fields": [{"key": f.key, "label": f.label, "required": f.required}
                             for f in (catalog.category(e.category).staff_fields if catalog.category(e.category) else ())],
        } for e in owned.values()],
        "person_categories": list(catalog.PERSON_CATEGORIES),
        "residence_types": list(catalog.RESIDENCE_TYPES),
    }


def list_page(principal: Principal, *, q: str, enterprise_id: str, page: int,
              page_size: int) -> tuple[list[dict], int, str | None]:
    """A page of the head's staff, and a notice when a search reached its bound."""
    owned = own_enterprises(principal)
    targets = head_targets(owned, enterprise_id)
    if not q.strip():
        total = sum(int(owned[e].staff_count or 0) for e in targets)
        keys, _ = newest_keys(Staff.by_enterprise, targets, page=page, page_size=page_size, total=total)
        return rows_for(keys, owned), total, None
    found = staff_search.head_page(principal.id, targets, q, page=page, page_size=max(1, min(page_size, MAX_PAGE_SIZE)))
    return list(with_health(found.people, owned, full=False)), found.total, found.notice


def get(principal: Principal, value: str, *, audited: bool = True) -> tuple[Staff, Enterprise]:
    owned = own_enterprises(principal)
    enterprise_id, key = split_id(value)
    if enterprise_id not in owned:
        raise NotFoundError(NOT_FOUND)
    person = load(enterprise_id, key)
    if audited:
        audit.record(principal, action="查看人员详情", target=person.name, scope=owned[enterprise_id].name, rows=1)
    return person, owned[enterprise_id]


def create(principal: Principal, data: dict) -> tuple[Staff, Enterprise]:
    owned = own_enterprises(principal)
    ent, values = _parse_for(owned, data)
    rekey.settle([values.id_number])  # a rotation runs: the person's earlier records move to the current key first
    current = now()
    person = Staff(ent.enterprise_id, person_key(values.id_number), created_at=current)
    assign(person, values, ent, stamp=current)
    try:
        person.save(condition=Staff.person_key.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            raise _duplicate(ent, load(ent.enterprise_id, person.person_key))
        raise
    adjust_count(ent.enterprise_id, +1)
    search_index.sync({(ent.enterprise_id, person.person_key): person}, heads={ent.enterprise_id: ent.head_phone})
    health.register([person.person_key])
    roster.mark([(ent.category, ent.town)])
    return person, ent


def update(principal: Principal, value: str, data: dict) -> tuple[Staff, Enterprise]:
    owned = own_enterprises(principal)
    enterprise_id, key = split_id(value)
    if enterprise_id not in owned:
        raise NotFoundError(NOT_FOUND)
    person = load(enterprise_id, key)
    expected = data.get("updated_at") if isinstance(data, dict) else None
    if expected and expected != person.updated_at.astimezone(SHANGHAI).isoformat():
        raise StaleError("该人员信息已被修改，请刷新后重试")
    ent, values = _parse_for(owned, data)
    if rekey.settle([person.id_number, values.id_number]):  # a rotation runs: both under the current key now
        key = person_key(person.id_number)
        person = load(enterprise_id, key)
    read_at = person.updated_at
    new_key = person_key(values.id_number)
    if (ent.enterprise_id, new_key) == (enterprise_id, key):
        assign(person, values, ent, stamp=now())
        try:
            person.save(condition=Staff.updated_at == read_at)
        except PutError as exc:
            if condition_failed(exc):
                raise StaleError("该人员信息已被修改，请刷新后重试")
            raise
        search_index.sync({(person.enterprise_id, person.person_key): person}, heads={ent.enterprise_id: ent.head_phone})
        roster.mark([(ent.category, ent.town)])  # 人员类别 may have changed
        return person, ent
    # A new ID number or another enterprise is another key: write the new record, then drop the old.
    moved = Staff(ent.enterprise_id, new_key, created_at=person.created_at)
    assign(moved, values, ent, stamp=now())
    try:
        moved.save(condition=Staff.person_key.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            raise _duplicate(ent, load(ent.enterprise_id, new_key))
        raise
    try:
        person.delete(condition=Staff.updated_at == read_at)
    except DeleteError:
        pass  # changed meanwhile: both records stay, nothing is lost; the head sees both in the list
    search_index.refresh([(enterprise_id, key), (ent.enterprise_id, new_key)])  # as the table holds them now
    if ent.enterprise_id != enterprise_id:
        adjust_count(ent.enterprise_id, +1)
        adjust_count(enterprise_id, -1)
    health.register([new_key])
    roster.mark([(ent.category, ent.town), (owned[enterprise_id].category, owned[enterprise_id].town)])
    return moved, ent


def batch_delete(principal: Principal, ids: Sequence[str]) -> int:
    owned = own_enterprises(principal)
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ValidationError("请选择要删除的人员", fields={"ids": "请选择要删除的人员"})
    if len(ids) > MAX_PAGE_SIZE:
        raise ValidationError(f"一次最多删除 {MAX_PAGE_SIZE} 人")
    keys = []
    for value in dict.fromkeys(ids):
        enterprise_id, key = split_id(value)
        if enterprise_id not in owned:
            raise NotFoundError(NOT_FOUND)
        keys.append((enterprise_id, key))
    existing = {(p.enterprise_id, p.person_key) for p in
                Staff.batch_get(keys, attributes_to_get=["enterprise_id", "person_key"])}
    with Staff.batch_write() as batch:
        for enterprise_id, key in keys:
            if (enterprise_id, key) in existing:
                batch.delete(Staff(enterprise_id, key))
    search_index.sync(dict.fromkeys(existing))
    for enterprise_id in {e for e, _ in existing}:
        adjust_count(enterprise_id, -sum(1 for e, _ in existing if e == enterprise_id))
    roster.mark({(owned[e].category, owned[e].town) for e, _ in existing})
    return len(existing)


def export_rows(principal: Principal, *, q: str, enterprise_id: str) -> Iterator[dict]:
    owned = own_enterprises(principal)
    if q.strip():
        staff_search.check_head_query(q)  # what the list refuses is not exported as an empty file
    wanted = staff_search.row_filter(q) if q.strip() else None
    for eid in head_targets(owned, enterprise_id):
        people = [p for p in Staff.query(eid) if wanted is None or wanted(p)]
        people.sort(key=lambda p: p.created_at, reverse=True)
        yield from with_health(people, owned, full=True)


def export_names(principal: Principal, enterprise_id: str) -> tuple[str, str]:
    """导出全部's file name (快递物流员工信息（南沙速递营业部，2026-12-08）.xlsx; a head of several categories
    who chose none: 员工信息（全部企业，…）) and its scope in words for the audit log."""
    owned = own_enterprises(principal)
    targets = [owned[e] for e in head_targets(owned, enterprise_id)]
    whose = targets[0].name if len(targets) == 1 else "全部企业"
    kinds = {t.category for t in targets}
    category = catalog.category(next(iter(kinds))) if len(kinds) == 1 else None
    return (filenames.dated(f"{category.name if category else ''}员工信息", whose),
            targets[0].name if enterprise_id else "本人负责的全部企业")


# ---------------------------------------------------------------------------------------------------
# Shared pieces (the import and the ledger use them too)


def assign(person: Staff, values: StaffIn, ent: Enterprise, *, stamp) -> None:
    person.name = values.name
    person.id_number = values.id_number
    person.phone = values.phone
    person.person_category = values.person_category
    person.residence_type = values.residence_type or None
    person.address = values.address
    person.extra = dict(values.extra)
    person.town = ent.town
    person.category = ent.category
    person.scope = scope_key(ent.category, ent.town)
    person.reach = geography.reach_of(ent.town, ent.category)
    person.updated_at = stamp


def newest_keys(index, partitions: Sequence[str], *, page: int, page_size: int,
                total: int | None = None) -> tuple[list[tuple[str, str]], int]:
    """A page without a search, newest first, from keys only (services/common/paging.py). The total is given
    (kept counters) or counted per partition."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    rows = paging.newest(index, partitions, key=lambda r: r.person_key, page=page, page_size=page_size,
                         attributes=["enterprise_id", "person_key", "created_at"])
    return [(r.enterprise_id, r.person_key) for r in rows], paging.count(index, partitions) if total is None else total


def fetch(keys: Sequence[tuple[str, str]]) -> list[Staff]:
    """Whole records for keys, in the order given (missing ones skipped)."""
    found = {(p.enterprise_id, p.person_key): p for p in Staff.batch_get(list(keys))} if keys else {}
    return [found[k] for k in keys if k in found]


def rows_for(keys: Sequence[tuple[str, str]], enterprises: dict[str, Enterprise], *, with_head: bool = False) -> list[dict]:
    people = fetch(keys)
    return list(with_health(people, enterprises, full=False, with_head=with_head))


def with_health(people: Sequence[Staff], enterprises: dict[str, Enterprise], *, full: bool,
                 with_head: bool = False) -> Iterator[dict]:
    for start in range(0, len(people), 100):
        chunk = people[start:start + 100]
        found = health.for_people(p.person_key for p in chunk)
        for person in chunk:
            yield public(person, enterprises.get(person.enterprise_id), full=full,
                         health_state=health.of(found, person.person_key), with_head=with_head)


def head_targets(owned: dict[str, Enterprise], enterprise_id: str) -> list[str]:
    if enterprise_id:
        if enterprise_id not in owned:
            raise NotFoundError("企业不存在或不在您的管理范围内")
        return [enterprise_id]
    return list(owned)


def _parse_for(owned: dict[str, Enterprise], data: dict) -> tuple[Enterprise, StaffIn]:
    if not isinstance(data, dict):
        raise ValidationError("请求内容格式不正确")
    chosen = str(data.get("enterprise_id") or "").strip()
    # like a workbook row: 主体名称 may be left blank by a head who manages one enterprise
    ent = owned.get(chosen) if chosen else (next(iter(owned.values())) if len(owned) == 1 else None)
    problems = {}
    if ent is None:
        problems["enterprise_id"] = (missing_enterprise([e.name for e in owned.values()], label="主体名称")
                                     if not chosen else "不是您负责的企业")
    else:
        data = {**data, "enterprise_id": ent.enterprise_id}
    values = parse_staff(data, category=ent.category if ent else None, problems=problems)
    return ent, values


def load(enterprise_id: str, key: str) -> Staff:
    try:
        return Staff.get(enterprise_id, key, consistent_read=True)
    except DoesNotExist:
        raise NotFoundError(NOT_FOUND)


def _duplicate(ent: Enterprise, existing: Staff) -> DuplicateError:
    return DuplicateError(
        f"{ent.name}已登记身份证号码为{mask_id_number(existing.id_number)}的人员“{existing.name}”，"
        "同一企业同一身份证号码只能登记一次，如需修改请编辑该人员",
        fields={"id_number": "该企业已登记此身份证号码"}, existing_id=staff_id(existing))
