"""Property-based tests (hypothesis) of the rules every input passes through: ID numbers, phones, text."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

from hypothesis import given, settings, strategies as st

from chalicelib.rules.idnumber import check_character, compose, normalize_id
from chalicelib.rules.phone import normalize_mobile
from chalicelib.rules.text import TextError, clean, fold, name_key

TODAY = date(2026, 12, 1)
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u202e\u202d\x00\x07"
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
areas = st.sampled_from(["440115", "110105", "810000", "820000", "830000", "932682"])


@st.composite
def id_numbers(draw):
    return compose(draw(births), draw(st.integers(0, 999)), draw(areas))


@settings(max_examples=300)
@given(id_numbers(), st.sampled_from(["", " ", "  "]), st.booleans(), st.booleans())
def test_a_valid_id_survives_how_people_type_it(number, pad, lower, wide):
    typed = number.lower() if lower else number
    if wide:
        typed = typed.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})  # full-width
    checked = normalize_id(f"{pad}{typed[:6]}{pad}{typed[6:]}{pad}", today=TODAY)
    assert checked.ok and checked.number == number


@settings(max_examples=300)
@given(id_numbers(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_one_changed_character_never_passes_as_another_valid_id(number, position, char):
    changed = number[:position] + char + number[position + 1:]
    checked = normalize_id(changed, today=TODAY)
    assert changed == number or not checked.ok or checked.number != number


@given(births.filter(lambda d: d.year < 2000), st.integers(0, 999))
def test_fifteen_digits_become_their_eighteen(born, seq):
    fifteen = f"440115{born:%y%m%d}{seq:03d}"
    checked = normalize_id(fifteen, today=TODAY)
    assert checked.ok and checked.number[:17] == f"440115{born:%Y%m%d}{seq:03d}"


@given(st.dates(min_value=TODAY + timedelta(days=1), max_value=date(2099, 12, 31)), st.integers(0, 999))
def test_a_future_birth_date_is_refused(born, seq):
    first = f"440115{born:%Y%m%d}{seq:03d}"
    assert not normalize_id(first + check_character(first), today=TODAY).ok


@settings(max_examples=500)
@given(st.one_of(st.text(), st.integers(), st.floats(allow_nan=True), st.none(), st.booleans()))
def test_any_input_gets_an_answer_in_chinese_never_an_exception(value):
    checked = normalize_id(value, today=TODAY)
    assert checked.ok or (checked.error and re.search(r"[\u4e00-\u9fff]", checked.error))
    mobile = normalize_mobile(value) if not isinstance(value, bool) else None
    assert mobile is None or re.fullmatch(r"1[3-9]\d{9}", mobile)


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", "+86", "0086", "+86 ", "+86-", "0086 "]),
       st.sampled_from(["", " ", "-"]))
def test_a_mobile_number_survives_prefixes_and_separators(phone, prefix, sep):
    typed = prefix + phone[:3] + sep + phone[3:7] + sep + phone[7:]
    assert normalize_mobile(typed) == phone


text_with_invisibles = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=400)
@given(text_with_invisibles)
def test_cleaned_text_has_no_invisible_or_control_characters_and_is_stable(value):
    for normal in (clean(value), fold(value)):
        assert not any(unicodedata.category(c) == "Cf" or (unicodedata.category(c) == "Cc") for c in normal)
        assert normal == normal.strip()
    assert clean(clean(value)) == clean(value) and fold(fold(value)) == fold(value)


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(whitelist_categories=("Lo", "Lu", "Ll", "Nd")), min_size=1, max_size=20),
       st.lists(st.tuples(st.integers(0, 20), st.sampled_from(INVISIBLE)), max_size=5))
def test_invisible_characters_never_make_a_different_name(name, insertions):
    typed = name
    for position, char in insertions:
        typed = typed[:position] + char + typed[position:]
    assert name_key(typed) == name_key(name)


@given(st.text(min_size=1).map(lambda t: t + "\ud800"), st.lists(st.text(), min_size=1), st.dictionaries(st.text(), st.text()))
def test_what_is_not_text_is_refused_as_such(surrogate, listed, mapping):
    for value in (surrogate, listed, mapping, True):
        try:
            clean(value)
        except TextError as exc:
            assert re.search(r"[\u4e00-\u9fff]", str(exc))
        else:
            raise AssertionError(f"{value!r} was taken as text")
