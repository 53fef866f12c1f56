"""What a search by name or phone finds (rules/search.py): the terms a person has, what a search box's
text asks for, and that a record test and the index's terms never disagree."""
from __future__ import annotations

import random

import pytest

from chalicelib.rules import search
from chalicelib.rules.idnumber import compose

ID = compose("19900101", 123, "440115")


def test_every_part_of_two_to_four_characters_and_the_whole_name_are_terms():
    assert search.name_terms("陈志强") == {"n:陈志", "n:志强", "n:陈志强"}
    assert search.name_terms("欧阳建国") == {"n:欧阳", "n:阳建", "n:建国", "n:欧阳建", "n:阳建国", "n:欧阳建国"}
    assert search.name_terms("王五") == {"n:王五"}
    # a long transliterated name: its 2–4 character parts and the whole, separators and width folded
    terms = search.name_terms("买买提·艾力 Ｋ")
    assert "n:买买提艾力k" in terms and "n:提艾力" in terms and "n:买买提艾" in terms
    assert all(2 <= len(t.removeprefix("n:")) <= 4 for t in terms - {"n:买买提艾力k"})
    assert search.name_terms("") == set()


def test_a_persons_terms_add_the_phone_its_last_four_and_the_ids_last_four_and_six():
    terms = search.person_terms("陈志强", "13712340001", ID)
    assert {"d:13712340001", "d:0001", f"d:{ID[-4:]}", f"d:{ID[-6:]}"} <= terms
    assert len(terms) == 3 + 4


@pytest.mark.parametrize("q,term", [
    ("志强", "n:志强"), (" 陈 志强 ", "n:陈志强"), ("ＪＯＨＮ", "n:john"), ("买买提·艾力", "n:买买提艾力"),
    ("13712340001", "d:13712340001"), ("０００１", "d:0001"), ("123x", "d:123X"), ("12345X", "d:12345X"),
])
def test_what_a_search_box_asks_for(q, term):
    needle = search.parse(q)
    assert (needle.term, needle.id_number, needle.refusal) == (term, None, None)


def test_a_whole_id_number_is_looked_up_by_its_key_not_a_term():
    needle = search.parse(ID.lower())
    assert (needle.id_number, needle.term) == (ID, None)


@pytest.mark.parametrize("q,refusal", [
    ("陈", search.NAME_TOO_SHORT), ("·", search.NAME_TOO_SHORT), ("123", search.DIGITS_UNSEARCHABLE),
    ("1371234", search.DIGITS_UNSEARCHABLE), ("4401151990010112", search.DIGITS_UNSEARCHABLE),
])
def test_text_that_is_no_term_says_what_can_be_searched(q, refusal):
    needle = search.parse(q)
    assert needle.term is None and needle.refusal == refusal and needle.text  # enterprise names may still match


def test_the_record_test_agrees_with_plain_substring_search_on_names_of_two_to_four_characters():
    rng = random.Random(7)
    letters = "陈李黄张梁志强伟明丽华海燕建国"
    for _ in range(2000):
        name = "".join(rng.choice(letters) for _ in range(rng.randint(2, 4)))
        q = "".join(rng.choice(letters) for _ in range(rng.randint(2, 4)))
        found = search.matches(search.parse(q), name=name, phone="13712340001", id_number=ID)
        assert found == (q in name), (name, q)


def test_the_record_test_finds_phones_and_id_endings_and_nothing_else():
    needle = lambda q: search.parse(q)  # noqa: E731
    person = dict(name="陈志强", phone="13712340001", id_number=ID)
    assert search.matches(needle("13712340001"), **person) and search.matches(needle("0001"), **person)
    assert search.matches(needle(ID[-4:]), **person) and search.matches(needle(ID[-6:]), **person)
    assert not search.matches(needle("2340"), **person)  # inside the phone, not its end
    assert not search.matches(needle("13712340002"), **person)
    assert not search.matches(needle("陈"), **person)  # no term at all
