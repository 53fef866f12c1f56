"""The enterprise registry (§2.1): add, edit, list, delete, and the reads the import and export share.

Identity: 主体名称 within 所属镇街, compared by `name_key`. The pair is claimed in the unique-keys table in
the same transaction that writes the enterprise, so two registrations of one name cannot both succeed.
Lists read one index partition per town or category in the caller's scope, never the whole table.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Iterable, Iterator

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.errors import ConflictError, ForbiddenError, HasStaffError, NotFoundError, StaleError, ValidationError
from chalicelib.rules import catalog, geography
from chalicelib.rules.clock import iso, now
from chalicelib.rules.masking import mask_phone
from chalicelib.rules.text import fold, name_key
from chalicelib.services.identity import audit
from chalicelib.services.common import paging
from chalicelib.services.health import roster
from chalicelib.services.identity.auth import Principal
from chalicelib.services.registry.enterprise_schema import EnterpriseIn, parse_enterprise
from chalicelib.services.search import index as search_index
from chalicelib.access.policy import READERS, WRITERS, require
from chalicelib.store.models import Enterprise, Staff, UniqueKey
from chalicelib.store.values import condition_failed, plain, scope_key
from chalicelib.workbooks import filenames

MAX_PAGE_SIZE = 500


@dataclass
class Filters:
    q: str = ""
    town: str = ""
    category: str = ""


def identity_key(town: str, name: str) -> str:
    return f"enterprise#{town}#{name_key(name)}"


def public(ent: Enterprise, *, full_phone: bool = False) -> dict:
    category = catalog.category(ent.category)
    return {
        "id": ent.enterprise_id,
        "category": ent.category,
        "category_name": category.name if category else ent.category,
        "name": ent.name,
        "town": ent.town,
        "grid": ent.grid or "",
        "head_name": ent.head_name,
        "head_phone": ent.head_phone if full_phone else mask_phone(ent.head_phone),
        "address": ent.address,
        "extra": plain(ent.extra),
        "staff_count": int(ent.staff_count or 0),
        "version": ent.version,
        "created_at": iso(ent.created_at),
        "updated_at": iso(ent.updated_at),
    }


def create(principal: Principal, data: dict) -> Enterprise:
    require(principal, WRITERS)
    values = parse_enterprise(data)
    _check_write_scope(principal, values)
    ent = build(principal, values)
    insert(ent)
    roster.mark([(ent.category, ent.town)])
    return ent


def build(principal: Principal, values: EnterpriseIn) -> Enterprise:
    current = now()
    ent = Enterprise(uuid.uuid4().hex, created_by=principal.id, created_at=current, updated_at=current)
    assign(ent, values)
    return ent


def insert(ent: Enterprise) -> None:
    """Claim the enterprise's identity, then write it (ConflictError if another enterprise holds it).

    Two single-item conditional writes rather than one transaction: an import writes thousands of
    these, and transactions cost twice the capacity (and copy whole tables on the embedded stack).
    If the process dies between the two writes, the claim is left without its enterprise; the next
    registration of that name finds the owner missing and takes the claim over, so nothing is stuck.
    """
    key = identity_key(ent.town, ent.name)
    try:
        UniqueKey(key, owner=ent.enterprise_id).save(condition=UniqueKey.key.does_not_exist())
    except PutError as exc:
        if not condition_failed(exc):
            raise
        _take_over_orphan(key, ent)
    ent.save(condition=Enterprise.enterprise_id.does_not_exist())


def _take_over_orphan(key: str, ent: Enterprise) -> None:
    try:
        holder = UniqueKey.get(key, consistent_read=True)
    except DoesNotExist:  # released meanwhile
        holder = None
    if holder is not None and _exists(holder.owner):
        raise ConflictError(f"{ent.town}已登记名为“{ent.name}”的企业，请勿重复新增",
                            fields={"name": "该镇街已有同名企业"})
    condition = (UniqueKey.owner == holder.owner) if holder is not None else UniqueKey.key.does_not_exist()
    try:
        UniqueKey(key, owner=ent.enterprise_id).save(condition=condition)
    except PutError as exc:
        if condition_failed(exc):
            raise ConflictError(f"{ent.town}已登记名为“{ent.name}”的企业，请勿重复新增",
                                fields={"name": "该镇街已有同名企业"})
        raise


def _exists(enterprise_id: str) -> bool:
    try:
        Enterprise.get(enterprise_id, consistent_read=True, attributes_to_get=["enterprise_id"])
        return True
    except DoesNotExist:
        return False


def get(principal: Principal, enterprise_id: str, *, audit_full_view: bool = True) -> Enterprise:
    require(principal, READERS)
    ent = _load(enterprise_id)
    if not principal.scope.reads(category=ent.category, town=ent.town, head_phone=ent.head_phone):
        raise NotFoundError("企业不存在或不在您的管理范围内")
    if audit_full_view and principal.role != "head":
        audit.record(principal, action="查看企业详情", target=ent.name, scope=ent.town, rows=1)
    return ent


def update(principal: Principal, enterprise_id: str, data: dict) -> Enterprise:
    require(principal, WRITERS)
    ent = get(principal, enterprise_id, audit_full_view=False)
    _check_write_scope(principal, EnterpriseIn.model_construct(category=ent.category, town=ent.town))
    values = parse_enterprise(data)
    _check_write_scope(principal, values)
    expected = data.get("version")
    if expected is not None and str(expected) != str(ent.version):
        raise StaleError("该企业信息已被他人修改，请刷新后重试")
    old_key = identity_key(ent.town, ent.name)
    old_scope, old_head = (ent.category, ent.town), ent.head_phone
    assign(ent, values)
    ent.updated_at = now()
    new_key = identity_key(ent.town, ent.name)
    try:
        with TransactWrite(connection=Connection()) as tx:
            if new_key != old_key:
                tx.delete(UniqueKey(old_key), condition=UniqueKey.owner == ent.enterprise_id)
                tx.save(UniqueKey(new_key, owner=ent.enterprise_id), condition=UniqueKey.key.does_not_exist())
            tx.save(ent)  # the version attribute adds the optimistic-lock condition
    except TransactWriteError as exc:
        if _condition_failed(exc):
            if new_key != old_key and _reasons(exc)[1] == "ConditionalCheckFailed":
                raise ConflictError(f"{ent.town}已登记名为“{ent.name}”的企业", fields={"name": "该镇街已有同名企业"})
            raise StaleError("该企业信息已被他人修改，请刷新后重试")
        raise
    moved(ent, old_scope, old_head)
    return ent


def moved(ent: Enterprise, old_scope: tuple[str, str], old_head: str) -> None:
    """Every write of an enterprise (form, import, any later path) ends here: if it moved to another
    town or category, its staff move with it in the ledger's by-scope index, so the old bureau or town
    no longer lists them and the new one does; and with its 负责人电话 they move in the search index,
    whose keys name the category, the town and the head."""
    if (ent.category, ent.town) == old_scope and ent.head_phone == old_head:
        return
    if (ent.category, ent.town) != old_scope:
        roster.mark([old_scope, (ent.category, ent.town)])
        target = scope_key(ent.category, ent.town)
        with Staff.batch_write() as batch:
            for person in Staff.query(ent.enterprise_id):
                if person.scope != target:
                    person.town, person.category, person.scope = ent.town, ent.category, target
                    person.reach = geography.reach_of(ent.town, ent.category)
                    batch.save(person)
    search_index.enterprise(ent)


def list_page(principal: Principal, filters: Filters, *, page: int, page_size: int) -> tuple[list[Enterprise], int]:
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(1, page)
    plan = _index_plan(principal, filters)
    if plan is not None:  # no search: page by the index, keys only (services/common/paging.py)
        index, partitions = plan
        rows = paging.newest(index, partitions, key=lambda r: r.enterprise_id, page=page, page_size=page_size,
                             attributes=["enterprise_id", "created_at"])
        found = {e.enterprise_id: e for e in Enterprise.batch_get([r.enterprise_id for r in rows])} if rows else {}
        return [found[r.enterprise_id] for r in rows if r.enterprise_id in found], paging.count(index, partitions)
    items = list_all(principal, filters)
    start = (page - 1) * page_size
    return items[start:start + page_size], len(items)


# the enterprise index behind each kind of Scope.enterprise_partitions
INDEXES = {"town": Enterprise.by_town, "category": Enterprise.by_category, "reach": Enterprise.by_reach}


def _index_plan(principal: Principal, filters: Filters):
    """(index, partitions) that hold exactly the caller's list when nothing but one key filters it."""
    require(principal, READERS)
    if filters.q:
        return None
    kind, keys = principal.scope.enterprise_partitions(category=filters.category, town=filters.town)
    if kind == "head" or (kind == "town" and filters.category) or (kind != "town" and filters.town):
        return None  # the index alone does not hold exactly the list: read the scope and filter
    return INDEXES[kind], keys


def list_all(principal: Principal, filters: Filters) -> list[Enterprise]:
    require(principal, READERS)
    items = [e for e in _scoped(principal, filters) if _matches(e, filters)]
    items.sort(key=lambda e: (e.created_at, e.enterprise_id), reverse=True)
    return items


def export_filename(principal: Principal, filters: Filters) -> str:
    """快递物流企业信息（南沙街，2026-12-08）.xlsx: the category chosen (or a bureau's one category), the town
    chosen or the caller's own, today."""
    category = catalog.category(filters.category) if filters.category else None
    if category is None and principal.role == "bureau" and len(principal.categories) == 1:
        category = catalog.category(principal.categories[0])
    return filenames.dated(f"{category.name if category else ''}企业信息", filenames.where(principal.town, filters.town, principal.scope.area))


def delete_preview(principal: Principal, ids: list[str]) -> dict:
    targets = _writable(principal, ids)
    return {"count": len(targets), "staff_count": sum(_count_staff(e.enterprise_id) for e in targets)}


def batch_delete(principal: Principal, ids: list[str], *, confirm_staff: bool) -> dict:
    targets = _writable(principal, ids)
    staff_counts = {e.enterprise_id: _count_staff(e.enterprise_id) for e in targets}
    total_staff = sum(staff_counts.values())
    if total_staff and not confirm_staff:
        raise HasStaffError(f"所选企业共有 {total_staff} 名员工记录，删除企业将一并删除这些员工记录，请确认",
                            staff_count=total_staff)
    staff_deleted = 0
    for ent in targets:
        # Staff first: if this stops halfway the enterprise is still listed and the delete can be retried.
        staff_deleted += _delete_staff(ent.enterprise_id)
        with TransactWrite(connection=Connection()) as tx:
            tx.delete(UniqueKey(identity_key(ent.town, ent.name)), condition=UniqueKey.owner == ent.enterprise_id)
            tx.delete(ent)
    roster.mark({(ent.category, ent.town) for ent in targets})
    return {"deleted": len(targets), "staff_deleted": staff_deleted}


def enterprises_of_head(phone: str) -> list[Enterprise]:
    keys = [e.enterprise_id for e in Enterprise.by_head.query(phone)]
    return sorted(Enterprise.batch_get(keys), key=lambda e: e.name_key) if keys else []


def find_by_identity(keys: Iterable[str]) -> dict[str, Enterprise]:
    """identity key → existing enterprise, for the import (batched reads, no scan)."""
    keys = list(dict.fromkeys(keys))
    owners = {u.key: u.owner for u in UniqueKey.batch_get(keys)} if keys else {}
    found = {e.enterprise_id: e for e in Enterprise.batch_get(list(set(owners.values())))} if owners else {}
    return {key: found[owner] for key, owner in owners.items() if owner in found}


def assign(ent: Enterprise, values: EnterpriseIn) -> None:
    ent.category = values.category
    ent.name = values.name
    ent.name_key = name_key(values.name)
    ent.town = values.town
    ent.reach = geography.reach_of(values.town, values.category)
    ent.grid = values.grid or None
    ent.head_name = values.head_name
    ent.head_phone = values.head_phone
    ent.address = values.address
    ent.extra = dict(values.extra)


def _check_write_scope(principal: Principal, values: EnterpriseIn) -> None:
    refusal = principal.scope.write_refusal(category=values.category, town=values.town)
    if refusal:
        raise ForbiddenError(refusal)


def _load(enterprise_id: str) -> Enterprise:
    try:
        return Enterprise.get(enterprise_id)
    except DoesNotExist:
        raise NotFoundError("企业不存在或不在您的管理范围内")


def _writable(principal: Principal, ids: list[str]) -> list[Enterprise]:
    require(principal, WRITERS)
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ValidationError("请选择要删除的企业", fields={"ids": "请选择要删除的企业"})
    if len(ids) > MAX_PAGE_SIZE:
        raise ValidationError(f"一次最多删除 {MAX_PAGE_SIZE} 家企业")
    targets = []
    for enterprise_id in dict.fromkeys(ids):
        ent = get(principal, enterprise_id, audit_full_view=False)
        _check_write_scope(principal, EnterpriseIn.model_construct(category=ent.category, town=ent.town))
        targets.append(ent)
    return targets


def _scoped(principal: Principal, filters: Filters) -> Iterator[Enterprise]:
    """Every enterprise of the caller's scope that the filters may keep (one query per partition)."""
    kind, keys = principal.scope.enterprise_partitions(category=filters.category, town=filters.town)
    if kind == "head":
        yield from enterprises_of_head(keys[0])
        return
    for key in keys:
        yield from INDEXES[kind].query(key)


def _matches(ent: Enterprise, filters: Filters) -> bool:
    if filters.town and ent.town != filters.town:
        return False
    if filters.category and ent.category != filters.category:
        return False
    if filters.q:
        needle = fold(filters.q).casefold()
        haystack = " ".join([ent.name, ent.head_name, ent.head_phone, ent.address, ent.grid or ""]).casefold()
        return needle in haystack
    return True


def _count_staff(enterprise_id: str) -> int:
    return Staff.count(enterprise_id)


def _delete_staff(enterprise_id: str) -> int:
    gone = []
    with Staff.batch_write() as batch:
        for person in Staff.query(enterprise_id, attributes_to_get=["enterprise_id", "person_key"]):
            batch.delete(person)
            gone.append((person.enterprise_id, person.person_key))
    search_index.sync(dict.fromkeys(gone))
    return len(gone)


def _reasons(exc: TransactWriteError) -> list[str]:
    """One code per item of the transaction ("None" for items that were not the cause)."""
    return [r.code if r else "None" for r in exc.cancellation_reasons]


def _condition_failed(exc: TransactWriteError) -> bool:
    return "ConditionalCheckFailed" in _reasons(exc)
