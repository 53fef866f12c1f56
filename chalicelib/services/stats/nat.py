"""核酸数据统计 (§2.4.1 item 2): for a period, by 所属镇街 and 人员类别, who of the registered people had a
sample (DOMAIN.md "NAT statistics"), and the people behind each number.

By sampling time, inside [start, end] to the second; only registered people count (the roster holds no
one else); a person with two samples is one 检测人数 and two 人次. Of the tested, 阳性人数 had a positive
sample in the period, 未出结果人数 a sample still without result and no positive, 阴性人数 the rest — so
the three add up to 核酸检测人数.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np

from chalicelib.errors import ValidationError
from chalicelib.rules import catalog
from chalicelib.rules.clock import SHANGHAI, iso, now
from chalicelib.services.health import roster
from chalicelib.services.identity.auth import Principal
from chalicelib.services.stats import common

MEASURES = ("people", "untested", "samples", "tested", "positive", "pending", "negative")
MEASURE_LABELS = {"people": "人员数量", "untested": "未核酸检测人数", "samples": "核酸检测人次", "tested": "核酸检测人数",
                  "positive": "阳性人数", "pending": "未出结果人数", "negative": "阴性人数"}
DEFINITIONS = [
    "核酸检测：系统根据广东省新冠病毒检测信息系统下发的核酸检测数据（只含广州数据）通过人员身份证号码按照核酸采样时间进行匹配。"
    "若在查询的时间内查询到人员核酸采样记录，则认为已检测。",
    "人员数量：已登记的哨点人员数；未核酸检测人数：查询时间段内没有核酸采样记录的人数；核酸检测人次：查询时间段内的核酸采样记录数；"
    "核酸检测人数：查询时间段内有核酸采样记录的人数（同一人多次采样计 1 人）；覆盖率 = 核酸检测人数 ÷ 人员数量。",
    "阳性人数：查询时间段内有阳性结果的人数；未出结果人数：有尚未出结果的样本且无阳性结果的人数；阴性人数：样本结果均为阴性的人数。"
    "三者之和等于核酸检测人数。",
]


class _Counts:
    """Per person of one partition, over one period: samples, and whether positive / pending."""

    def __init__(self, part: roster.Part, low: int, high: int):
        inside = (part.at >= low) & (part.at <= high)
        owners = part.owner[inside]
        results = part.result[inside]
        n = part.size
        self.samples = np.bincount(owners, minlength=n)
        self.tested = self.samples > 0
        self.positive = np.bincount(owners, weights=results == 1, minlength=n) > 0
        self.pending = (np.bincount(owners, weights=results == 2, minlength=n) > 0) & ~self.positive
        self.negative = self.tested & ~self.positive & ~self.pending

    def mask(self, measure: str) -> np.ndarray:
        if measure == "people":
            return np.ones(len(self.tested), dtype=bool)
        if measure == "untested":
            return ~self.tested
        if measure in ("samples", "tested"):
            return self.tested
        return getattr(self, measure)


def _row(town: str | None, person_category: str | None, people: int, samples: int, tested: int, positive: int,
         pending: int, negative: int) -> dict:
    coverage, value = common.rate(tested, people)
    return {"town": town, "person_category": person_category, "people": people, "untested": people - tested,
            "samples": samples, "tested": tested, "coverage": coverage, "coverage_value": value,
            "positive": positive, "pending": pending, "negative": negative}


def _sums(counts: _Counts, select: np.ndarray) -> tuple[int, ...]:
    return (int(select.sum()), int(counts.samples[select].sum()), int(counts.tested[select].sum()),
            int(counts.positive[select].sum()), int(counts.pending[select].sum()), int(counts.negative[select].sum()))


def table(principal: Principal, *, category: str, start: str = "", end: str = "", current: datetime | None = None) -> dict:
    current = current or now()
    span = common.period(start, end, current=current)
    return {"category": category, "category_name": common.category_name(category),
            **compute(common.parts_for(principal, category), span, current), "definitions": DEFINITIONS}


def compute(parts: list[roster.Part], span: common.Period, current: datetime) -> dict:
    """The table over the partitions' arrays: no I/O (bench/stats.py times it alone at 1,000,000)."""
    low, high = span.bounds
    by_town: dict[str, dict[str | None, list[int]]] = {}
    for part in parts:
        counts = _Counts(part, low, high)
        town = by_town.setdefault(part.town, {})
        for code, name in enumerate(part.person_categories):
            sums = _sums(counts, part.pcat == code)
            town[name] = [a + b for a, b in zip(town.get(name, [0] * 6), sums)]
    rows, total = [], [0] * 6
    for town in common.towns_of(parts):
        groups = by_town.get(town, {})
        sums = [sum(values[k] for values in groups.values()) for k in range(6)]
        total = [a + b for a, b in zip(total, sums)]
        children = [_row(town, name, *groups[name]) for name in _category_order(groups)]
        rows.append({**_row(town, None, *sums), "children": children})
    return {"start": iso(span.start), "end": iso(span.end), "as_of": common.as_of(parts, current),
            "rows": rows, "total": _row("合计", None, *total), "daily": daily(parts, current)}


def _category_order(groups: dict) -> list[str]:
    known = {name: i for i, name in enumerate(catalog.PERSON_CATEGORIES)}
    return sorted(groups, key=lambda name: (known.get(name, len(known)), name))


def daily(parts: list[roster.Part], current: datetime, days: int = 14) -> list[dict]:
    """Coverage of each of the last `days` calendar days (today included) among today's registered: one
    pass per partition over its samples, counting each person once per day."""
    first = common.days_back(current, days)[0]
    start = int(datetime.combine(first, datetime.min.time(), SHANGHAI).timestamp())
    tested = np.zeros(days, dtype=np.int64)
    for part in parts:
        day = (part.at - start) // 86_400
        inside = (day >= 0) & (day < days)
        pairs = np.unique(day[inside] * part.size + part.owner[inside])  # (day, person) once each
        tested += np.bincount(pairs // max(part.size, 1), minlength=days)[:days]
    people = sum(p.size for p in parts)
    out = []
    for k, day in enumerate(common.days_back(current, days)):
        coverage, value = common.rate(int(tested[k]), people)
        out.append({"day": day.isoformat(), "people": people, "tested": int(tested[k]), "coverage": coverage,
                    "coverage_value": value})
    return out


def selection(principal: Principal, *, category: str, start: str, end: str, town: str, person_category: str,
              measure: str):
    """The people one number of the table counts: (per partition, a mask), and their sample counts."""
    if measure not in MEASURES:
        raise ValidationError("统计项不正确", fields={"measure": "统计项不正确"})
    span = common.period(start, end)
    parts = common.parts_for(principal, category, town)
    low, high = span.bounds
    selected, counted = [], {}
    for part in parts:
        counts = counted[id(part)] = _Counts(part, low, high)
        mask = counts.mask(measure)
        if person_category:
            codes = [i for i, name in enumerate(part.person_categories) if name == person_category]
            mask = mask & (np.isin(part.pcat, codes))
        selected.append((part, mask))
    return selected, lambda part, i: {"samples": int(counted[id(part)].samples[i])}


def people(principal: Principal, *, category: str, start: str, end: str, town: str, person_category: str,
           measure: str, page: int, page_size: int) -> dict:
    selected, extra = selection(principal, category=category, start=start, end=end, town=town,
                                person_category=person_category, measure=measure)
    items, total = common.page_of(selected, page=page, page_size=page_size, extra=extra)
    title = " ".join(x for x in (town or "全部镇街", person_category, MEASURE_LABELS[measure]) if x)
    return {"items": items, "total": total, "page": page, "page_size": page_size, "title": title}

