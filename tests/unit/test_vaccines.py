"""The vaccine schedules as data (rules/vaccines.py): each product's gaps, the rule in force on the day."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from chalicelib.rules import vaccines
from chalicelib.rules.vaccines import NONE, day_number, eligibility

DAY = date(2026, 12, 1)


def _one(d1=None, d2=None, d3=None, product="北京科兴", born=1990, day=DAY):
    doses = np.array([[day_number(day - timedelta(days=d)) if d is not None else NONE] for d in (d1, d2, d3)],
                     dtype=np.int32)
    counts = eligibility(doses, np.array([0 if product else -1], np.int16), np.array([born], np.int16),
                         [product] if product else [], day)
    return [bool(counts.eligible[k][0]) for k in range(3)], [bool(counts.vaccinated[k][0]) for k in range(3)]


def test_products_are_found_by_the_names_feeds_use():
    assert vaccines.product("科兴").name == "北京科兴"
    assert vaccines.product("国药集团北京生物制品研究所有限责任公司").platform == "灭活疫苗"
    assert vaccines.product("ZF2001").name == "智飞龙科马"
    assert vaccines.product("某某生物") is None and not vaccines.known("")


def test_inactivated_course_then_booster_after_six_months():
    assert _one() == ([True, False, False], [False, False, False])
    assert _one(d1=20)[0] == [False, False, False]  # three weeks not yet
    assert _one(d1=21)[0] == [False, True, False]
    assert _one(d1=300, d2=179)[0] == [False, False, False]
    assert _one(d1=300, d2=180)[0] == [False, False, True]


def test_older_people_get_the_booster_after_three_months_from_2022_11_29():
    assert _one(d1=300, d2=100, born=1950)[0] == [False, False, True]
    old_rule = date(2022, 11, 1)
    assert _one(d1=300, d2=100, born=1950, day=old_rule)[0] == [False, False, False]


def test_cansino_is_one_dose_then_a_booster_and_never_a_third():
    assert _one(d1=100, product="康希诺")[0] == [False, False, False]
    assert _one(d1=200, product="康希诺")[0] == [False, True, False]
    assert _one(d1=400, d2=200, product="康希诺")[0] == [False, False, False]


def test_zf2001_three_doses_four_weeks_apart():
    assert _one(d1=27, product="智飞龙科马")[0] == [False, False, False]
    assert _one(d1=60, d2=28, product="智飞龙科马")[0] == [False, False, True]


def test_a_later_dose_implies_the_earlier_ones():
    eligible, had = _one(d3=10)
    assert had == [True, True, True] and eligible == [False, False, False]
    eligible, had = _one(d2=200)
    assert had == [True, True, False] and eligible == [False, False, True]


def test_an_unknown_product_uses_the_inactivated_gaps_and_no_product_too():
    assert _one(d1=21, product="某某生物")[0] == [False, True, False]
    assert _one(d1=21, product=None)[0] == [False, True, False]


def test_no_booster_rule_before_it_was_in_force():
    assert _one(d1=400, d2=300, day=date(2021, 9, 1))[0] == [False, False, False]
