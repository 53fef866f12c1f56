"""Every ID-number case of DOMAIN.md "ID numbers"."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib.rules.idnumber import STORED_AS_NUMBER, check_character, normalize_id

TODAY = date(2026, 11, 26)


def valid(first17: str) -> str:
    return first17 + check_character(first17)


@pytest.mark.parametrize("raw,expected", [
    ("11010519491231002X", "11010519491231002X"),  # the standard's own example
    ("11010519491231002x", "11010519491231002X"),  # lowercase x
    ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),  # full-width
    (" 110105 19491231 002X ", "11010519491231002X"),  # spaces
    ("110105-19491231-002X", "11010519491231002X"),  # dashes
    ("610104620927690", "610104196209276908"),  # 15-digit legacy → 18
    ("932682198501010017", "932682198501010017"),  # foreigner's permanent residence ID (2023)
    (valid("81000019900101001"), valid("81000019900101001")),  # Hong Kong residence permit
    (valid("82000019900101001"), valid("82000019900101001")),  # Macau
    (valid("83000019900101001"), valid("83000019900101001")),  # Taiwan
    (valid("44011519000101001"), valid("44011519000101001")),  # born 1900-01-01
    (valid("44011520000229001"), valid("44011520000229001")),  # leap day
    (valid("44011520261126001"), valid("44011520261126001")),  # born today
])
def test_accepted(raw, expected):
    assert normalize_id(raw, today=TODAY).number == expected


@pytest.mark.parametrize("raw,reason", [
    ("110105194912310021", "校验位错误"),
    (valid("44011519010229001"), "出生日期19010229不存在"),  # 1901 is not a leap year
    (valid("44011519901301001"), "出生日期19901301不存在"),
    (valid("44011520261127001"), "晚于今天"),
    (valid("44011518991231001"), "早于1900年"),
    (valid("04011519900101001"), "地址码不正确"),
    ("4401151990010100", "应为18位，实际16位"),
    ("44011519900101001A", "只能包含数字和末位X"),
    ("567834444", "应为18位，实际9位"),  # the seed's failure example
    ("", "不能为空"),
])
def test_refused_with_reason(raw, reason):
    checked = normalize_id(raw, today=TODAY)
    assert not checked.ok and reason in checked.error


@pytest.mark.parametrize("raw", [4.403081999011015e+17, 440308199901101500, "4.40308E+17", "4.403081999011015e+17"])
def test_a_number_cell_is_explained_not_guessed(raw):
    assert normalize_id(raw, today=TODAY).error == STORED_AS_NUMBER


def test_x_only_as_the_check_character():
    assert not normalize_id("X10105194912310021", today=TODAY).ok
