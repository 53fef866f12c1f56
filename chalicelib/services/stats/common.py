"""What both statistics share: the caller's partitions, the period, town order, rates, and the page of
people a number counts (with the ledger's columns, masked as there)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from chalicelib.access.policy import OFFICIALS, require
from chalicelib.access.scope import ALL_CATEGORIES
from chalicelib.errors import NotFoundError, ValidationError
from chalicelib.rules import catalog, geography
from chalicelib.rules.clock import SHANGHAI, iso, local_day, now
from chalicelib.rules.feeds import KEEP_DAYS
from chalicelib.services.health import roster
from chalicelib.services.identity.auth import Principal
from chalicelib.services.registry import enterprises, staff
from chalicelib.store.models import Enterprise

ROLES = OFFICIALS
MINUTE = "%Y-%m-%dT%H:%M"


def parts_for(principal: Principal, category: str, town: str = "") -> list[roster.Part]:
    require(principal, ROLES)
    pairs = principal.scope.stats_partitions(category or "", town)
    if pairs is None:
        raise NotFoundError("该哨点类别不存在或不在您的管理范围内")
    if town and not pairs:
        raise NotFoundError("该镇街不在您的管理范围内")
    return roster.load(pairs)


def category_name(category: str) -> str:
    if category == ALL_CATEGORIES:
        return "全部类别"
    found = catalog.category(category)
    return found.name if found else category


def as_of(parts: list[roster.Part], current: datetime) -> str:
    """统计时间 / 数据截至: when the newest data the table shows was read — the latest roster build among its
    partitions. Every write marks its partition for a rebuild (services/health/roster.py), so a file built
    earlier had no write since and is as current as the newest one; the oldest build (which this used to
    show) stayed put while a registration changed the table, because only its own town's file is rebuilt."""
    return iso(max((p.built_at for p in parts), default=current))


def towns_of(parts: list[roster.Part]) -> list[str]:
    return sorted({p.town for p in parts}, key=geography.order)


def rate(part: int, whole: int) -> tuple[str, float]:
    """A percentage with two decimals, as the seed prints it (4005 / 4479 → "89.42%")."""
    value = round(part * 100 / whole, 2) if whole else 0.0
    return f"{value:.2f}%", value


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive
    end: datetime  # inclusive, to the second: …23:59 means up to 23:59:59

    @property
    def bounds(self) -> tuple[int, int]:
        return int(self.start.timestamp()), int(self.end.timestamp())


def period(start: str, end: str, *, current: datetime | None = None) -> Period:
    """The period asked for, to the minute in Asia/Shanghai (default today 00:00–23:59); it must lie
    inside the last 14 days, for the feeds keep no more."""
    today = local_day(current or now())
    earliest = datetime.combine(today - timedelta(days=KEEP_DAYS - 1), datetime.min.time(), SHANGHAI)
    latest = datetime.combine(today, datetime.min.time(), SHANGHAI) + timedelta(days=1, seconds=-1)
    midnight = datetime.combine(today, datetime.min.time(), SHANGHAI)
    begin = _minute(start, "start", "开始时间") if start else midnight
    finish = _minute(end, "end", "结束时间") + timedelta(seconds=59) if end else latest
    if begin > finish:
        raise ValidationError("开始时间不能晚于结束时间", fields={"start": "开始时间不能晚于结束时间"})
    if begin < earliest or finish > latest:
        raise ValidationError(f"查询时间段须在近{KEEP_DAYS}天内（{earliest:%Y-%m-%d} 00:00 至 {today:%Y-%m-%d} 23:59）",
                              fields={"start" if begin < earliest else "end": f"须在近{KEEP_DAYS}天内"})
    return Period(begin, finish)


def _minute(text: str, field: str, label: str) -> datetime:
    try:
        return datetime.strptime(text.strip()[:16], MINUTE).replace(tzinfo=SHANGHAI)
    except ValueError:
        raise ValidationError(f"{label}格式应为 2022-06-07T08:30", fields={field: "格式应为 YYYY-MM-DDTHH:MM"})


def days_back(current: datetime, count: int) -> list[date]:
    today = local_day(current)
    return [today - timedelta(days=k) for k in range(count - 1, -1, -1)]


def page_of(selected: list[tuple[roster.Part, np.ndarray]], *, page: int, page_size: int,
            extra=None, full: bool = False) -> tuple[list[dict], int]:
    """One page of the people `selected` (per partition, a boolean mask over its people), town by town
    in the district's order, newest registered first; rows as the ledger shows them (masked).
    `extra(part, index) -> dict` adds columns (the samples a person had in the period)."""
    order = sorted(selected, key=lambda s: (geography.order(s[0].town), s[0].category))
    total = int(sum(int(mask.sum()) for _, mask in order))
    skip, wanted, chosen = (page - 1) * page_size, page_size, []
    for part, mask in order:
        count = int(mask.sum())
        if skip >= count:
            skip -= count
            continue
        indices = np.flatnonzero(mask)
        indices = indices[np.argsort(-part.created[indices], kind="stable")][skip:skip + wanted]
        skip = 0
        chosen += [(part, int(i)) for i in indices]
        wanted -= len(indices)
        if wanted <= 0:
            break
    keys = [(part.enterprises[part.ent[i]], part.key[i].decode()) for part, i in chosen]
    enterprises = {e.enterprise_id: e for e in Enterprise.batch_get(list({k[0] for k in keys}))} if keys else {}
    found = staff.with_health(staff.fetch(keys), enterprises, full=full, with_head=True)
    rows = {(r["enterprise_id"], r["id"].split(".", 1)[1]): r for r in found}
    out = []
    for (part, i), key in zip(chosen, keys):
        if key in rows:
            out.append({**rows[key], **(extra(part, i) if extra else {})})
    return out, total


def enterprise_page(parts: list[roster.Part], town: str, *, page: int, page_size: int) -> tuple[list[dict], int]:
    """主体数量's list: the enterprises of the partitions (a town's, or all), by town, as 企业信息 shows them."""
    ids = [e for part in sorted(parts, key=lambda p: (geography.order(p.town), p.category))
           if not town or part.town == town for e in part.enterprises]
    chosen = ids[(page - 1) * page_size: page * page_size]
    found = {e.enterprise_id: e for e in Enterprise.batch_get(chosen)} if chosen else {}
    return [enterprises.public(e) for e in (found.get(i) for i in chosen) if e is not None], len(ids)
