"""Pure rules: phones, masking, text keys, password policy."""
from __future__ import annotations

import pytest

from chalicelib.rules.masking import mask_id_number, mask_phone
from chalicelib.rules.passwords import password_problem
from chalicelib.rules.phone import normalize_mobile
from chalicelib.rules.text import clean, name_key


@pytest.mark.parametrize("raw,expected", [
    ("13800138000", "13800138000"), ("138 0013 8000", "13800138000"), ("138-0013-8000", "13800138000"),
    ("+8613800138000", "13800138000"), ("008613800138000", "13800138000"), ("１３８００１３８０００", "13800138000"),
    ("14012345678", "14012345678"),  # IoT/data ranges are still mobiles here (DOMAIN.md)
    ("12800138000", None), ("1380013800", None), ("138001380001", None), ("", None), (None, None),
    ("020-12345678", None),
])
def test_mobile(raw, expected):
    assert normalize_mobile(raw) == expected


def test_masks():
    assert mask_phone("13800138000") == "138****8000"
    assert mask_id_number("440305199001011234") == "440***********1234"
    assert mask_phone("") == "" and mask_id_number(None) == ""


def test_name_key_folds_width_space_and_case():
    assert name_key(" 南沙 速递（一部）") == name_key("南沙速递(一部)") == name_key("南沙速递（一部） ")
    assert name_key("ABC超市") == name_key("ａｂｃ超市")
    assert clean(" 陈志强（新）\u3000 ") == "陈志强（新）"


@pytest.mark.parametrize("password,ok", [("abcd1234", True), ("abcdefgh", False), ("12345678", False),
                                         ("ab12", False)])
def test_password_policy(password, ok):
    assert (password_problem(password) is None) is ok
