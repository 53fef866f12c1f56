"""The head's home (§2.4.2): 企业总人数 and who was sampled within 24 / 48 / 72 / more than 72 hours, or
not at all in the last 14 days (未匹配), counted by sampling time."""
from __future__ import annotations

from datetime import datetime, timezone

from chalicelib.errors import ValidationError
from chalicelib.rules import feeds as rules
from chalicelib.rules.clock import now
from chalicelib.services.health import state as health
from chalicelib.services.registry import staff
from chalicelib.services.identity.auth import Principal
from chalicelib.store.models import Staff

_NEVER = datetime.min.replace(tzinfo=timezone.utc)
UNMATCHED_NOTE = ("未匹配：近14天内在广州市核酸检测数据中没有该员工的采样记录，可能是未做核酸、"
                  "身份证号码登记有误，或在外地采样。核酸检测统计以核酸采样时间为准。")


def _people(principal: Principal, enterprise_id: str):
    """The head's people (in the chosen enterprise or all), each with their latest sampling time and bucket."""
    owned = staff.own_enterprises(principal)
    targets = staff.head_targets(owned, enterprise_id)
    rows = [r for eid in targets for r in Staff.query(eid, attributes_to_get=["enterprise_id", "person_key", "created_at"])]
    states = health.states((r.person_key for r in rows), attributes=["person_key", "last_sampled_at"])
    sampled = {key: state.last_sampled_at for key, state in states.items()}
    current = now()
    return owned, rows, sampled, {r.person_key: rules.bucket(sampled.get(r.person_key), current) for r in rows}


def summary(principal: Principal, *, enterprise_id: str = "") -> dict:
    _, rows, _, buckets = _people(principal, enterprise_id)
    counts = {b: 0 for b in rules.BUCKETS}
    for row in rows:
        counts[buckets[row.person_key]] += 1
    return {"total": len(rows), "buckets": [{"key": b, "label": rules.BUCKET_LABELS[b], "count": counts[b]}
                                            for b in rules.BUCKETS], "note": UNMATCHED_NOTE}


def people(principal: Principal, *, bucket: str, enterprise_id: str, page: int, page_size: int) -> tuple[list[dict], int]:
    """One bucket's people, newest sampling time first (未匹配 has none: newest registered first)."""
    if bucket not in rules.BUCKETS:
        raise ValidationError("分组不正确", fields={"bucket": "应为 " + "/".join(rules.BUCKETS)})
    owned, rows, sampled, buckets = _people(principal, enterprise_id)
    chosen = [r for r in rows if buckets[r.person_key] == bucket]

    def order(r: Staff):
        # 未匹配 may hold samples older than 14 days: never shown, so they do not order the list either
        when = sampled.get(r.person_key) if bucket != "unmatched" else None
        return when or _NEVER, r.created_at, r.enterprise_id, r.person_key

    chosen.sort(key=order, reverse=True)
    page_size = max(1, min(page_size, staff.MAX_PAGE_SIZE))
    start = (max(page, 1) - 1) * page_size
    keys = [(r.enterprise_id, r.person_key) for r in chosen[start:start + page_size]]
    return staff.rows_for(keys, owned), len(chosen)
