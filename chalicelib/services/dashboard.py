"""The head's home (§2.4.2): 企业总人数 and who was sampled within 24 / 48 / 72 / more than 72 hours, or
not at all in the last 14 days (未匹配), counted by sampling time."""
from __future__ import annotations

from chalicelib.errors import ValidationError
from chalicelib.rules import feeds as rules
from chalicelib.rules.clock import now
from chalicelib.services import health, staff
from chalicelib.services.auth import Principal
from chalicelib.store.models import Staff

UNMATCHED_NOTE = ("未匹配：近14天内在广州市核酸检测数据中没有该员工的采样记录，可能是未做核酸、"
                  "身份证号码登记有误，或在外地采样。核酸检测统计以核酸采样时间为准。")


def _people(principal: Principal, enterprise_id: str):
    owned = staff.own_enterprises(principal)
    targets = staff.head_targets(owned, enterprise_id)
    rows = [r for eid in targets for r in Staff.query(eid, attributes_to_get=["enterprise_id", "person_key", "created_at"])]
    states = health.states((r.person_key for r in rows), attributes=["person_key", "last_sampled_at"])
    current = now()
    return owned, rows, {r.person_key: rules.bucket(states[r.person_key].last_sampled_at if r.person_key in states else None,
                                             current) for r in rows}


def summary(principal: Principal, *, enterprise_id: str = "") -> dict:
    _, rows, buckets = _people(principal, enterprise_id)
    counts = {b: 0 for b in rules.BUCKETS}
    for row in rows:
        counts[buckets[row.person_key]] += 1
    return {"total": len(rows), "buckets": [{"key": b, "label": rules.BUCKET_LABELS[b], "count": counts[b]}
                                            for b in rules.BUCKETS], "note": UNMATCHED_NOTE}


def people(principal: Principal, *, bucket: str, enterprise_id: str, page: int, page_size: int) -> tuple[list[dict], int]:
    if bucket not in rules.BUCKETS:
        raise ValidationError("分组不正确", fields={"bucket": "应为 " + "/".join(rules.BUCKETS)})
    owned, rows, buckets = _people(principal, enterprise_id)
    chosen = sorted((r for r in rows if buckets[r.person_key] == bucket), key=lambda r: r.created_at, reverse=True)
    page_size = max(1, min(page_size, staff.MAX_PAGE_SIZE))
    start = (max(page, 1) - 1) * page_size
    keys = [(r.enterprise_id, r.person_key) for r in chosen[start:start + page_size]]
    return staff.rows_for(keys, owned), len(chosen)
