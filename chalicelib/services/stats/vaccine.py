"""疫苗数据统计 (§2.4.1 item 3): by 所属镇街, 主体数量, 工作人员数量 and for each dose 可接种人数, 接种人数,
完成率 (= 接种人数 ÷ 工作人员数量), as the schedules in force on the statistics day say (rules/vaccines.py).
A later dose implies the earlier ones; a product the schedules do not know is counted by its dose
numbers and named under the table."""
from __future__ import annotations

from datetime import datetime

import numpy as np

from chalicelib.errors import ValidationError
from chalicelib.rules import vaccines
from chalicelib.rules.clock import local_day, now
from chalicelib.services.health import roster
from chalicelib.services.identity.auth import Principal
from chalicelib.services.stats import common

DOSE_NAMES = {1: "第一针", 2: "第二针", 3: "第三针"}
MEASURES = ("enterprises", "staff", *(f"dose{d}_{k}" for d in (1, 2, 3) for k in ("eligible", "vaccinated")))
MEASURE_LABELS = {"enterprises": "主体数量", "staff": "工作人员数量",
                  **{f"dose{d}_eligible": f"{n}可接种人数" for d, n in DOSE_NAMES.items()},
                  **{f"dose{d}_vaccinated": f"{n}接种人数" for d, n in DOSE_NAMES.items()}}
DEFINITIONS = [
    "疫苗接种：系统根据广东省疫苗流通与接种管理信息系统下发的疫苗接种数据（只含在南沙区接种的疫苗）通过人员身份证号码进行匹配。",
    "第一针可接种人数：指没有疫苗接种记录的人员数。",
    "第二针可接种人数：指已经接种第一针且已到第二针接种时间的人员数。",
    "第三针可接种人数：指已经接种第二针，按疫苗类型是需要接种第三针且已到第三针接种时间的人员数。",
    "若系统匹配到人员已接种第三针次，则默认第二针和第一针已接种；若匹配到已接种第二针次，则默认第一针已接种。",
    "完成率 = 接种人数 ÷ 工作人员数量。接种间隔按统计当日适用的接种程序计算（灭活疫苗第二针间隔 3 周、加强针间隔 6 个月，"
    "2022-11-29 起 60 岁及以上人员加强针间隔 3 个月；重组蛋白疫苗相邻两针间隔 4 周；腺病毒载体疫苗 1 针完成基础免疫）。",
]


def _doses(part: roster.Part, day) -> vaccines.DoseCounts:
    return vaccines.eligibility(part.doses, part.course, part.born, part.products, day)


def _row(town: str, enterprises: int, staff: int, eligible: list[int], vaccinated: list[int]) -> dict:
    doses = []
    for d in (1, 2, 3):
        text, value = common.rate(vaccinated[d - 1], staff)
        doses.append({"dose": d, "eligible": eligible[d - 1], "vaccinated": vaccinated[d - 1], "rate": text,
                      "rate_value": value})
    return {"town": town, "enterprises": enterprises, "staff": staff, "doses": doses}


def table(principal: Principal, *, category: str, current: datetime | None = None) -> dict:
    current = current or now()
    return {"category": category, "category_name": common.category_name(category),
            **compute(common.parts_for(principal, category), current), "definitions": DEFINITIONS}


def compute(parts: list[roster.Part], current: datetime) -> dict:
    """The table over the partitions' arrays, as the schedules stand on `current`'s day: no I/O."""
    day = local_day(current)
    sums: dict[str, list] = {}
    unknown: dict[str, int] = {}
    for part in parts:
        counts = _doses(part, day)
        town = sums.setdefault(part.town, [0, 0, [0, 0, 0], [0, 0, 0]])
        town[0] += len(part.enterprises)
        town[1] += part.size
        for d in range(3):
            town[2][d] += int(counts.eligible[d].sum())
            town[3][d] += int(counts.vaccinated[d].sum())
        for index, name in enumerate(part.products):
            if not vaccines.known(name):
                unknown[name] = unknown.get(name, 0) + int((part.course == index).sum())
    rows = [_row(town, *sums.get(town, [0, 0, [0, 0, 0], [0, 0, 0]])) for town in common.towns_of(parts)]
    total = _row("合计", sum(r["enterprises"] for r in rows), sum(r["staff"] for r in rows),
                 [sum(r["doses"][d]["eligible"] for r in rows) for d in range(3)],
                 [sum(r["doses"][d]["vaccinated"] for r in rows) for d in range(3)])
    return {"as_of": common.as_of(parts, current), "rows": rows, "total": total,
            "unknown_products": [{"product": name, "people": n} for name, n in sorted(unknown.items())]}


def selection(principal: Principal, *, category: str, town: str, measure: str, current: datetime | None = None):
    if measure not in MEASURES or measure == "enterprises":
        raise ValidationError("统计项不正确", fields={"measure": "统计项不正确"})
    parts = common.parts_for(principal, category, town)
    day = local_day(current or now())
    selected = []
    for part in parts:
        if measure == "staff":
            selected.append((part, np.ones(part.size, dtype=bool)))
            continue
        counts = _doses(part, day)
        dose, kind = int(measure[4]), measure.split("_", 1)[1]
        selected.append((part, (counts.eligible if kind == "eligible" else counts.vaccinated)[dose - 1]))
    return selected


def people(principal: Principal, *, category: str, town: str, measure: str, page: int, page_size: int) -> dict:
    title = " ".join((town or "全部镇街", MEASURE_LABELS.get(measure, "")))
    if measure == "enterprises":
        items, total = common.enterprise_page(common.parts_for(principal, category, town), town, page=page,
                                              page_size=page_size)
    else:
        items, total = common.page_of(selection(principal, category=category, town=town, measure=measure),
                                      page=page, page_size=page_size)
    return {"items": items, "total": total, "page": page, "page_size": page_size, "title": title}
