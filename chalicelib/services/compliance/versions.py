"""What each of a day's messages should say now, and whether what was sent still says it.

A list's *version* is a digest of who is on it and why: each part of a run keeps the digest of its rows
(`part_digest`), and a list — one category, all towns or one town — is the digest of its non-empty parts'
digests. Two runs of the same day that judge the same people the same way give the same versions, so a
re-run that changes nothing asks for no correction; one that changes a category changes only the
versions of that category's lists.

`expected(day)` turns the day's run and the 告警设置 as they are now into one `Spec` per message chain
("<list>#<user>"): the planner (outbox.py) makes items from them, and 推送记录 / 告警记录 compare the
latest item of each chain with its spec to show 名单已变化.

Routing (who receives which part): a category's 高级推送人员 each take every town or one town. A part
with non-compliant people that no recipient takes is *unrouted*: recorded as 未推送（无接收人）, sent to
运维's own recipients (the `ops` setting), and counted in the 专班's summary.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from chalicelib.rules import catalog, geography
from chalicelib.services.compliance import settings as alert_settings
from chalicelib.store.compliance import HEADER, ComplianceRun
from chalicelib.store.models import AlertSetting

OPS = alert_settings.OPS  # 运维's own recipients: lists that no 高级推送人员 takes go to them


def part_digest(rows: list[dict]) -> str:
    """Who is on a part's list and why: the same people with the same reasons give the same digest."""
    lines = sorted(f"{r['enterprise_id']}|{r['person_key']}|{r['reason']}" for r in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def list_version(parts: list[ComplianceRun]) -> str:
    """A list's version from its parts: parts with nobody on them add nothing (a partition that appears
    with no one to chase changes no list)."""
    chosen = sorted(f"{p.town}:{p.digest or ''}" for p in parts if int(p.shortfalls or 0))
    return hashlib.sha256("\n".join(chosen).encode()).hexdigest()[:16]


@dataclass
class Spec:
    """One message chain's content as the run and settings say now."""
    chain: str  # "<category>#<user>", "summary#<user>", "unrouted#<category>", "ops#<category>#<user>"
    kind: str  # list | summary | unrouted
    category: str | None
    recipient: object | None  # store.models.Recipient; None for an unrouted record
    parts: list[ComplianceRun] = field(default_factory=list)
    towns: list[str] = field(default_factory=list)  # unrouted / ops: the towns nobody receives
    version: str = ""
    people: int = 0
    shortfalls: int = 0
    lines: list[dict] = field(default_factory=list)  # summary: one line per category

    @property
    def where(self) -> str:
        """The towns the list covers, in words: the unrouted towns, the recipient's town, or 全区 (全市
        when the stage serves several districts)."""
        if self.towns:
            return "、".join(self.towns)
        return getattr(self.recipient, "town", "") or geography.current().area


def run_parts(day: str, run: ComplianceRun | None) -> list[ComplianceRun]:
    if run is None or run.status != "done" or run.stale:
        return []
    return [p for p in ComplianceRun.query(day) if p.part != HEADER and p.generation == run.generation]


def configured() -> dict[str, AlertSetting]:
    codes = [c.code for c in catalog.CATEGORIES] + [alert_settings.TASKFORCE, OPS]
    return {s.category: s for s in AlertSetting.batch_get(codes)}


def recipients_of(settings_by_code: dict, code: str) -> list:
    setting = settings_by_code.get(code)
    return list(setting.recipients) if setting else []


def expected(parts: list[ComplianceRun], settings_by_code: dict) -> dict[str, Spec]:
    """Every chain the day's push should have, with what it should say now (a finished, fresh run)."""
    specs: dict[str, Spec] = {}
    unrouted_by_category: dict[str, int] = {}
    ops = recipients_of(settings_by_code, OPS)
    for category in catalog.CATEGORIES:
        mine = [p for p in parts if p.category == category.code]
        recipients = recipients_of(settings_by_code, category.code)
        for r in recipients:
            chosen = [p for p in mine if not r.town or p.town == r.town]
            specs[f"{category.code}#{r.user_id}"] = _spec(f"{category.code}#{r.user_id}", "list", category.code, r, chosen)
        covered_all = any(not r.town for r in recipients)
        covered = {r.town for r in recipients}
        lost = [p for p in mine if int(p.shortfalls or 0) and not covered_all and p.town not in covered]
        if not lost:
            continue
        towns = sorted({p.town for p in lost}, key=town_order)
        unrouted_by_category[category.code] = sum(int(p.shortfalls or 0) for p in lost)
        chain = f"unrouted#{category.code}"
        specs[chain] = _spec(chain, "unrouted", category.code, None, lost, towns)
        for r in ops:
            chain = f"ops#{category.code}#{r.user_id}"
            specs[chain] = _spec(chain, "list", category.code, r, lost, towns)
    lines = summary_lines(parts, settings_by_code, unrouted_by_category)
    version = hashlib.sha256(json.dumps(lines, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]
    for r in recipients_of(settings_by_code, alert_settings.TASKFORCE):
        specs[f"summary#{r.user_id}"] = Spec(f"summary#{r.user_id}", "summary", None, r, version=version,
                                             people=sum(x["people"] for x in lines),
                                             shortfalls=sum(x["shortfalls"] for x in lines), lines=lines)
    return specs


def _spec(chain: str, kind: str, category: str, recipient, parts: list, towns: list[str] | None = None) -> Spec:
    return Spec(chain, kind, category, recipient, parts, towns or [], list_version(parts),
                sum(int(p.people or 0) for p in parts), sum(int(p.shortfalls or 0) for p in parts))


def summary_lines(parts: list[ComplianceRun], settings_by_code: dict, unrouted: dict[str, int]) -> list[dict]:
    lines = []
    for category in catalog.CATEGORIES:
        mine = [p for p in parts if p.category == category.code]
        lines.append({"category": category.code, "category_name": category.name, "department": category.department,
                      "rule_name": alert_settings.rule_of(category.code, settings_by_code.get(category.code)).name,
                      "people": sum(int(p.people or 0) for p in mine),
                      "shortfalls": sum(int(p.shortfalls or 0) for p in mine),
                      "unrouted": unrouted.get(category.code, 0)})
    return lines


def town_order(town: str) -> int:
    return geography.order(town)


def latest_by_chain(items) -> dict[str, object]:
    """The newest item of each chain: a correction (higher generation) over what it corrects."""
    latest: dict[str, object] = {}
    for item in items:
        chain = item.chain or _legacy_chain(item)
        if chain is None:
            continue
        known = latest.get(chain)
        if known is None or _age(item) > _age(known):
            latest[chain] = item
    return latest


def _age(item) -> tuple[int, float]:
    return int(item.generation or 0), item.created_at.timestamp() if item.created_at else 0.0


def _legacy_chain(item) -> str | None:
    """Items planned before chains were recorded: their key is the chain."""
    return None if item.kind in ("notice", "pass") else item.item


def outdated(item, specs: dict[str, Spec]) -> bool:
    """名单已变化: the item was (or may have been) delivered, and its list no longer says what the run
    says now."""
    spec = specs.get(item.chain or item.item)
    return (spec is not None and item.status in ("sent", "unknown", "unrouted") and item.version is not None
            and item.version != spec.version)
