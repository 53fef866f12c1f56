"""What a search by name or phone finds (the ledger, the head's staff list): the terms a person is found
by, and how a search box's text becomes one of them.

The search index (services/search/index.py) stores each person's terms as keyed hashes and answers a
search with one lookup of one term; exports and anything else that reads records whole test them with
`matches`, which asks the same question of the same terms, so a list and its export never disagree.

A person is found by
- any 2 to 4 consecutive characters of their name, or their whole name. Chinese names are 2–4
  characters, so every part of them is a term; a longer name (a transliterated one) is found by its
  2–4 character parts or whole, which keeps a person's terms few (a 3-character name has 3, a
  4-character one 6). Spaces and separators such as "·" are dropped, width and case folded, so
  "买买提·艾力" and "买买提艾力" are the same name. One character alone is no term: a surname would name
  a tenth of the city;
- their whole mobile number, or its last 4 digits;
- the last 4 or 6 characters of their ID number (a whole ID number is looked up by its person key,
  services/common/keyring.py, and is not a term).
Names cannot contain digits (registry/staff_schema.py), so digits are always a phone or an ID number.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.rules.idnumber import normalize_id
from chalicelib.rules.text import fold, name_key

NAME_PARTS = (2, 4)  # lengths of the name parts that are terms (and the whole name, whatever its length)
NAME_TAG, DIGITS_TAG = "n:", "d:"
_PHONE = re.compile(r"\d{11}")
_TAIL = re.compile(r"\d{3}[\dX]|\d{5}[\dX]")  # the last 4 or 6 characters of a phone or an ID number
_DIGITS = re.compile(r"\d+X?")

NAME_TOO_SHORT = "请至少输入姓名中连续的两个字（或完整姓名）"
DIGITS_UNSEARCHABLE = "请输入完整的手机号码或其后4位，或身份证号码（完整的，或后4位、后6位）"


def name_letters(value: object) -> str:
    """A name as it is searched: folded and case-folded, letters only (spaces and separators dropped)."""
    return "".join(ch for ch in name_key(value) if ch.isalpha())


def name_terms(name: object) -> set[str]:
    letters = name_letters(name)
    low, high = NAME_PARTS
    parts = {letters[i:i + size] for size in range(low, high + 1) for i in range(len(letters) - size + 1)}
    if letters:
        parts.add(letters)
    return {NAME_TAG + part for part in parts}


def person_terms(name: object, phone: str | None, id_number: str | None) -> set[str]:
    """Every term a staff record is found by (tagged: a name part never equals a digit string)."""
    terms = name_terms(name)
    phone = phone or ""
    if phone:
        terms |= {DIGITS_TAG + phone, DIGITS_TAG + phone[-4:]}
    id_number = (id_number or "").upper()
    if len(id_number) >= 6:
        terms |= {DIGITS_TAG + id_number[-4:], DIGITS_TAG + id_number[-6:]}
    return terms


@dataclass(frozen=True)
class Needle:
    """What a search box's text asks for."""

    text: str  # folded, without spaces or case: enterprise names are matched by it (the ledger)
    term: str | None = None  # the term looked up in the index
    id_number: str | None = None  # a whole valid ID number: looked up by its person key instead
    refusal: str | None = None  # why this text finds no person (too short, digits of no searchable length)


def parse(q: str) -> Needle:
    text = fold(q).replace(" ", "").upper()
    if len(text) in (15, 18):
        checked = normalize_id(text)
        if checked.ok:
            return Needle(text.casefold(), id_number=checked.number)
    if _PHONE.fullmatch(text) or _TAIL.fullmatch(text):
        return Needle(text.casefold(), term=DIGITS_TAG + text)
    if _DIGITS.fullmatch(text):
        return Needle(text.casefold(), refusal=DIGITS_UNSEARCHABLE)
    letters = name_letters(text)
    if len(letters) < NAME_PARTS[0]:
        return Needle(text.casefold(), refusal=NAME_TOO_SHORT)
    return Needle(text.casefold(), term=NAME_TAG + letters)


def matches(needle: Needle, *, name: object, phone: str | None, id_number: str | None) -> bool:
    """Whether a record with these values is found by the needle's term, exactly as the index finds it."""
    return needle.term is not None and needle.term in person_terms(name, phone, id_number)
