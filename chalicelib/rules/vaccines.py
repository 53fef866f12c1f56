"""COVID-19 vaccine schedules as data, and who may take which dose on a given day (疫苗数据统计, §2.4.1.3).

Sources (DOMAIN.md "Vaccines"): NHC 新冠病毒疫苗接种技术指南 第一版 (2021-03-29) for the primary courses;
the booster notices (6 months after the course, from 2021-10-27 for the inactivated and adenovirus
courses; a heterologous booster allowed from 2022-02-19, which changes the product, not the count); the
2022-11-29 plan for older people (60 and over: the booster 3 months after the course).

Each gap says how many days after dose n-1 dose n may be given, and from which day that rule is in force;
the rule a statistics day uses is the latest one in force on it. A product the schedules do not know is
counted by its dose numbers with the inactivated vaccines' gaps (the most common course) and reported by
name, never dropped (`known`).

The seed's definitions: 第一针可接种 = no vaccination record; 第二针可接种 = dose 1 given, dose 2 not, and
its gap passed; 第三针可接种 = dose 2 given, dose 3 not, the course needs a third dose (booster or third
course dose) and its gap passed. A later dose implies the earlier ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

EPOCH = date(1970, 1, 1).toordinal()
NONE, IMPLIED = 0, -1  # a dose's day column: not given / given on a day nobody reported (implied by a later dose)
OLDER_AGE = 60


@dataclass(frozen=True)
class Gap:
    days: int
    since: date
    older_days: int | None = None  # for people of OLDER_AGE and over, when the rule says so


@dataclass(frozen=True)
class Product:
    name: str
    aliases: tuple[str, ...]
    platform: str  # 灭活疫苗 / 腺病毒载体疫苗 / 重组蛋白疫苗
    gaps: dict[int, tuple[Gap, ...]]  # dose n → its gaps after dose n-1, oldest rule first; absent: not given


_COURSE_START = date(2021, 3, 29)
_BOOSTER_START = date(2021, 10, 27)
_OLDER_BOOSTER = date(2022, 11, 29)
_INACTIVATED_GAPS = {2: (Gap(21, _COURSE_START),),
                     3: (Gap(180, _BOOSTER_START), Gap(180, _OLDER_BOOSTER, older_days=90))}

PRODUCTS: tuple[Product, ...] = (
    Product("北京生物", ("国药北京", "国药集团北京生物", "北京生物制品研究所", "BBIBP", "国药中生北京"), "灭活疫苗",
            _INACTIVATED_GAPS),
    Product("武汉生物", ("国药武汉", "国药集团武汉生物", "武汉生物制品研究所", "国药中生武汉"), "灭活疫苗", _INACTIVATED_GAPS),
    Product("北京科兴", ("科兴", "科兴中维", "CoronaVac", "北京科兴中维"), "灭活疫苗", _INACTIVATED_GAPS),
    Product("深圳康泰", ("康泰", "民海", "北京民海", "康泰生物"), "灭活疫苗", _INACTIVATED_GAPS),
    Product("康希诺", ("康希诺生物", "CanSino", "腺病毒载体疫苗", "天津康希诺"), "腺病毒载体疫苗",
            {2: (Gap(180, _BOOSTER_START), Gap(180, _OLDER_BOOSTER, older_days=90))}),
    Product("智飞龙科马", ("智飞", "安徽智飞龙科马", "ZF2001", "重组蛋白疫苗"), "重组蛋白疫苗",
            {2: (Gap(28, _COURSE_START),), 3: (Gap(28, _COURSE_START),)}),
)
FALLBACK = PRODUCTS[0]  # the gaps used for a product nobody listed
_BY_NAME = {alias.casefold(): p for p in PRODUCTS for alias in (p.name, *p.aliases)}


def product(name: str | None) -> Product | None:
    """The schedule of a product as a feed names it (a few spellings each), or None."""
    if not name:
        return None
    text = name.strip().casefold()
    found = _BY_NAME.get(text)
    if found is None:
        found = next((p for alias, p in _BY_NAME.items() if len(alias) >= 2 and alias in text), None)
    return found


def known(name: str | None) -> bool:
    return product(name) is not None


def gap_on(prod: Product, dose: int, day: date) -> tuple[int, int] | None:
    """(days, days for older people) before `dose` under the rule in force on `day`; None: the course
    never asks for that dose, or no rule for it was in force yet."""
    rules = [g for g in prod.gaps.get(dose, ()) if g.since <= day]
    if not rules:
        return None
    rule = rules[-1]
    return rule.days, rule.older_days if rule.older_days is not None else rule.days


def day_number(day: date) -> int:
    return day.toordinal() - EPOCH


@dataclass(frozen=True)
class DoseCounts:
    eligible: np.ndarray  # bool per person, per dose 1..3 (shape 3 × n)
    vaccinated: np.ndarray


def eligibility(doses: np.ndarray, course: np.ndarray, born: np.ndarray, products: list[str], day: date) -> DoseCounts:
    """Per person and dose: may take it on `day` (可接种) and has it (接种, a later dose implying it).

    doses: int32 (3, n) — day numbers of doses 1..3, NONE or IMPLIED; course: int16 (n) — index into
    `products` of the course's product (dose 1's, else the first one named), -1 if none was named;
    born: int16 (n) — year of birth (0 unknown)."""
    given = doses != NONE
    had = np.zeros_like(given)
    had[2] = given[2]
    had[1] = given[1] | had[2]
    had[0] = given[0] | had[1]
    n = doses.shape[1]
    older = (born > 0) & (day.year - born.astype(np.int32) >= OLDER_AGE)
    today = day_number(day)
    schedules = [product(name) or FALLBACK for name in products]
    eligible = np.zeros((3, n), dtype=bool)
    eligible[0] = ~had[0]
    for dose in (2, 3):
        gaps = np.full((len(products) + 1, 2), -1, dtype=np.int32)  # last row: no product named
        for index, prod in enumerate([*schedules, FALLBACK]):
            found = gap_on(prod, dose, day)
            if found is not None:
                gaps[index] = found
        row = gaps[np.where(course >= 0, course, len(products))]
        gap = np.where(older, row[:, 1], row[:, 0])
        previous = doses[dose - 2]
        # the gap runs from the previous dose's day; a previous dose implied (no day) counts as long past
        passed = (gap >= 0) & ((previous == IMPLIED) | (previous + gap <= today))
        eligible[dose - 1] = had[dose - 2] & ~had[dose - 1] & passed
    return DoseCounts(eligible=eligible, vaccinated=had)
