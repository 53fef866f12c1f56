"""A search of the ledger (§2.3) or of a head's staff list (§2.2): a page of the people the search box's text
finds in the caller's scope, newest first, with a total — in a number of requests that does not grow
with the scope.

What the text finds is rules/search.py's: a whole valid ID number its person's records (the staff
table's by-person index); otherwise the term it names, looked up in the search index
(services/search/index.py: one Query, two while a person-key rotation runs) and, in the ledger, also the
people of the scope's enterprises whose name contains the text (one Query of the category's
enterprises, then one small Query per matching enterprise, at most ENTERPRISES of them). Text that is
no term (one character, digits of no searchable length) and names no enterprise is refused with what
can be searched. The page's rows are then fetched whole (one BatchGetItem) and each is tested again
against the scope and the search, so a stale index item never shows anyone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from chalicelib.errors import ValidationError
from chalicelib.rules import geography
from chalicelib.rules import search as rules
from chalicelib.services.common import keyring, paging
from chalicelib.services.search import index
from chalicelib.store.models import Enterprise, Staff

ENTERPRISES = 10  # enterprises whose people a ledger search by enterprise name lists, at most
LIMITED = "符合条件的人员超过{n}人，仅列出最新登记的{n}人，请输入更完整的姓名或手机号码"

Key = tuple[str, str]


@dataclass
class Page:
    people: list[Staff] = field(default_factory=list)  # the page's records, whole, newest first
    total: int = 0
    notice: str | None = None  # said above the list (the search reached its bound)


def ledger_page(parts: Sequence[str], q: str, *, page: int, page_size: int) -> Page:
    """A page of the ledger's search over its partitions ("category#town", all of one category)."""
    if not parts:
        return Page()
    needle = rules.parse(q)
    in_scope = set(parts)
    if needle.id_number:
        return _by_id(needle.id_number, lambda r: r.scope in in_scope, page=page, page_size=page_size)
    category, towns = _category_and_towns(parts)
    ents = enterprise_hits(category, towns, needle.text)
    _refuse_unless_searchable(needle, ents)
    hits = (index.in_category(needle.term, category, towns, every_town=set(towns) >= set(geography.towns()))
            if needle.term else index.Hits([], False))
    found = [(at, key) for at, key in hits.found if key[0] not in ents]
    total = len(found) + sum(ents.values())
    need = max(page, 1) * page_size
    if ents:  # the matching enterprises' newest people, as many as the page needs from each
        rows = paging.newest(Staff.by_enterprise, list(ents), key=lambda r: r.person_key, page=1, page_size=need,
                             attributes=["enterprise_id", "person_key", "created_at"])
        found += [(index.at_of(r.created_at, r.enterprise_id, r.person_key), (r.enterprise_id, r.person_key))
                  for r in rows]
        found.sort(reverse=True)
    keep = lambda r: r.scope in in_scope and (r.enterprise_id in ents or _matches(needle, r))  # noqa: E731
    return _page(found, total, keep, page=page, page_size=page_size, limited=hits.limited)


def head_page(head_phone: str, targets: Sequence[str], q: str, *, page: int, page_size: int) -> Page:
    """A page of a head's search over their enterprises `targets` (all of theirs, or the one chosen)."""
    needle = rules.parse(q)
    mine = set(targets)
    if needle.id_number:
        return _by_id(needle.id_number, lambda r: r.enterprise_id in mine, page=page, page_size=page_size)
    if needle.term is None:
        raise ValidationError(needle.refusal, fields={"q": needle.refusal})
    hits = index.of_head(needle.term, head_phone)
    found = [(at, key) for at, key in hits.found if key[0] in mine]
    keep = lambda r: r.enterprise_id in mine and _matches(needle, r)  # noqa: E731
    return _page(found, len(found), keep, page=page, page_size=page_size, limited=hits.limited)


def check_head_query(q: str) -> None:
    """Refuse, before an export is built, a search the head's list would refuse."""
    needle = rules.parse(q)
    if not needle.id_number and needle.term is None:
        raise ValidationError(needle.refusal, fields={"q": needle.refusal})


def check_ledger_query(parts: Sequence[str], q: str) -> None:
    """Refuse, before an export is queued, a search the ledger's page would refuse."""
    needle = rules.parse(q)
    if parts and not needle.id_number and needle.term is None:
        category, towns = _category_and_towns(parts)
        _refuse_unless_searchable(needle, enterprise_hits(category, towns, needle.text))


def row_filter(q: str, ents: set[str] | frozenset[str] = frozenset()) -> Callable[[Staff], bool]:
    """The same search as a test of whole records, for exports (which read their scope whole anyway)."""
    needle = rules.parse(q)
    if needle.id_number:
        keys = set(keyring.lookup_keys(needle.id_number))
        return lambda r: r.person_key in keys
    return lambda r: r.enterprise_id in ents or _matches(needle, r)


def enterprises_named(parts: Sequence[str], q: str) -> set[str]:
    """The ledger partitions' enterprises whose 企业名称 contains the search (an export's filter)."""
    if not parts:
        return set()
    category, towns = _category_and_towns(parts)
    return set(enterprise_hits(category, towns, rules.parse(q).text))


def enterprise_hits(category: str, towns: Sequence[str], text: str) -> dict[str, int]:
    """Enterprises of the category in these towns whose name contains the text → their kept staff
    counts: one Query of the category's enterprises, filtered by DynamoDB (a category has at most a few
    thousand: one or two requests; the towns never multiply them)."""
    if not text:
        return {}
    condition = Enterprise.name_key.contains(text)
    if not set(towns) >= set(geography.towns()):
        condition &= Enterprise.town.is_in(*towns)
    return {e.enterprise_id: int(e.staff_count or 0) for e in Enterprise.by_category.query(
        category, filter_condition=condition, attributes_to_get=["enterprise_id", "staff_count"])}


def _refuse_unless_searchable(needle: rules.Needle, ents: dict[str, int]) -> None:
    if needle.term is None and not ents:
        raise ValidationError(needle.refusal, fields={"q": needle.refusal})
    if len(ents) > ENTERPRISES:
        message = f"名称含“{needle.text}”的企业超过{ENTERPRISES}家，请输入更完整的企业名称，或按姓名、手机号码搜索"
        raise ValidationError(message, fields={"q": message})


def _category_and_towns(parts: Sequence[str]) -> tuple[str, list[str]]:
    pairs = [part.split("#", 1) for part in parts]
    return pairs[0][0], [town for _, town in pairs]


def _matches(needle: rules.Needle, row: Staff) -> bool:
    return rules.matches(needle, name=row.name, phone=row.phone, id_number=row.id_number)


def _by_id(id_number: str, in_scope: Callable[[Staff], bool], *, page: int, page_size: int) -> Page:
    keys = [(r.enterprise_id, r.person_key) for key in keyring.lookup_keys(id_number) for r in Staff.by_person.query(key)]
    rows = sorted((r for r in _fetch(keys) if in_scope(r)), key=lambda r: (r.created_at, r.person_key), reverse=True)
    start = (max(page, 1) - 1) * page_size
    return Page(rows[start:start + page_size], len(rows))


def _page(found: list[tuple[str, Key]], total: int, keep: Callable[[Staff], bool], *, page: int, page_size: int,
          limited: bool) -> Page:
    start = (max(page, 1) - 1) * page_size
    people = [r for r in _fetch([key for _, key in found[start:start + page_size]]) if keep(r)]
    return Page(people, total, LIMITED.format(n=index.LIMIT) if limited else None)


def _fetch(keys: list[Key]) -> list[Staff]:
    found = {(p.enterprise_id, p.person_key): p for p in Staff.batch_get(keys)} if keys else {}
    return [found[k] for k in keys if k in found]
