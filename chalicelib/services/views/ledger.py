"""The staff ledger for bureaus and towns (§2.3: 哨点人员 - xx哨点人员), one per sentinel category.

Scope: a bureau reads the categories it supervises (every town of its district), a town its own town
(every category), admin and task force everything (a 区专班 its district). A page without a search reads
one index partition per district the caller covers — the staff `by-reach` index (district#category, keys
only), or the `by-scope` partition (category#town) of the one town chosen — so its requests do not grow
as towns are added (access/scope.py `ledger_reads`). A search reads the search index instead, in the
same number of requests for a town as for the whole district (registry/staff_search.py).
"""
from __future__ import annotations

from typing import Iterator

from chalicelib.errors import NotFoundError
from chalicelib.rules import catalog, geography
from chalicelib.services.identity import audit
from chalicelib.services.registry import staff, staff_search
from chalicelib.services.identity.auth import Principal
from chalicelib.services.jobs import exports
from chalicelib.access.policy import OFFICIALS, require
from chalicelib.store.models import Enterprise, Staff
from chalicelib.store.values import scope_key
from chalicelib.workbooks import filenames, staff_book

ROLES = OFFICIALS


def categories(principal: Principal) -> list[dict]:
    require(principal, ROLES)
    return [{"code": c.code, "name": c.name, "department": c.department} for c in principal.scope.visible_categories()]


def partitions(principal: Principal, category: str, town: str = "") -> list[str]:
    require(principal, ROLES)
    pairs = principal.scope.ledger_partitions(category, town)
    if pairs is None:
        raise NotFoundError("该哨点类别不存在或不在您的管理范围内")
    return [scope_key(c, t) for c, t in pairs]


def reads(principal: Principal, category: str, town: str) -> tuple[object, list[str]]:
    """The staff index and its partitions a page without a search reads (Scope.ledger_reads)."""
    kind, names = principal.scope.ledger_reads(category, town)
    if kind == "town":
        return Staff.by_scope, [scope_key(category, t) for t in names]
    return Staff.by_reach, [geography.reach_key(d, category) for d in names]


def list_page(principal: Principal, *, category: str, q: str, town: str, page: int,
              page_size: int) -> tuple[list[dict], int, str | None]:
    """A page of the ledger, and a notice when a search reached its bound."""
    parts = partitions(principal, category, town)
    notice = None
    if q.strip():
        found = staff_search.ledger_page(parts, q, page=page, page_size=max(1, min(page_size, staff.MAX_PAGE_SIZE)))
        people, total, notice = found.people, found.total, found.notice
    else:
        index, keys_of = reads(principal, category, town)
        keys, total = staff.newest_keys(index, keys_of, page=page, page_size=page_size,
                                        total=_counted(index, keys_of, category))
        people = staff.fetch(keys)
    enterprises = _enterprises({p.enterprise_id for p in people})
    return list(staff.with_health(people, enterprises, full=False, with_head=True)), total, notice


def get(principal: Principal, value: str, *, audited: bool = True) -> dict:
    """One person with full values (查看详情, audited); `audited=False` for a caller that audits its own
    action (查看核酸 / 疫苗接种), so one action is one entry."""
    require(principal, ROLES)
    enterprise_id, key = staff.split_id(value)
    enterprises = _enterprises({enterprise_id})
    ent = enterprises.get(enterprise_id)
    if ent is None or not principal.scope.reads(category=ent.category, town=ent.town, head_phone=ent.head_phone):
        raise NotFoundError(staff.NOT_FOUND)
    person = staff.load(enterprise_id, key)
    if audited:
        audit.record(principal, action="查看人员详情", target=person.name, scope=f"{ent.town} {ent.name}", rows=1)
    return next(staff.with_health([person], enterprises, full=True, with_head=True))


def export_rows(principal: Principal, *, category: str, q: str, town: str) -> Iterator[dict]:
    """Every row of the scope, full values, newest first within each town. The caller audits."""
    parts = partitions(principal, category, town)
    wanted = staff_search.row_filter(q, staff_search.enterprises_named(parts, q)) if q.strip() else None
    for part in parts:
        people = [p for p in Staff.by_scope.query(part, scan_index_forward=False) if wanted is None or wanted(p)]
        yield from staff.with_health(people, _enterprises({p.enterprise_id for p in people}),
                                      full=True, with_head=True)


def start_export(principal: Principal, *, category: str, q: str, town: str):
    """导出 of the ledger as it is filtered on screen: checked in scope now (and the search as the page
    checks it), built in the background."""
    parts = partitions(principal, category, town)
    if q.strip():
        staff_search.check_ledger_query(parts, q)
    return exports.start(principal, EXPORT, {"category": category, "q": q, "town": town})


def _build_export(principal: Principal, params: dict) -> tuple[bytes, int]:
    rows = list(export_rows(principal, category=params.get("category", ""), q=params.get("q", ""),
                            town=params.get("town", "")))
    return staff_book.ledger_export(rows), len(rows)


EXPORT = exports.Export(
    "ledger",
    filename=lambda principal, params: filenames.dated(f"{category_name(params.get('category', ''))}台账",
                                                      filenames.where(principal.town, params.get("town", ""), principal.scope.area)),
    action="导出哨点人员台账", build=_build_export,
    scope=lambda principal, params: scope_label(principal, params.get("category", ""), params.get("town", "")))


def category_name(category: str) -> str:
    found = catalog.category(category)
    return found.name if found else category


def scope_label(principal: Principal, category: str, town: str) -> str:
    return f"{category_name(category)}哨点人员 {filenames.where(principal.town, town, principal.scope.area)}"


def _enterprises(ids: set[str]) -> dict[str, Enterprise]:
    return {e.enterprise_id: e for e in Enterprise.batch_get(list(ids))} if ids else {}


def _scope_enterprises(parts: list[str], attributes: list[str]):
    """The enterprises behind the ledger partitions (category#town): one small query per town."""
    for part in parts:
        category, town = part.split("#", 1)
        yield from Enterprise.by_town.query(town, filter_condition=Enterprise.category == category,
                                            attributes_to_get=["enterprise_id", *attributes])


def _counted(index, partitions: list[str], category: str) -> int:
    """The ledger's total from the enterprises' kept staff counts rather than counting staff rows on
    every page: the same partitions of the enterprise table (one small Query each)."""
    if index is Staff.by_reach:
        found = (e for part in partitions for e in Enterprise.by_reach.query(
            part, attributes_to_get=["enterprise_id", "staff_count"]))
    else:
        found = _scope_enterprises(partitions, ["staff_count"])
    return sum(int(e.staff_count or 0) for e in found)
