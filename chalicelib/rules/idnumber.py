"""Resident ID numbers (GB 11643-1999) and the permits built on them (DOMAIN.md "ID numbers").

`normalize_id` turns whatever a person or a spreadsheet produced into the canonical 18-character number,
or explains in Chinese why it cannot. The checks, in order:

- a cell Excel stored as a number (a float, or text such as "4.40308E+17") has already lost digits:
  say so, never guess;
- full-width characters are folded, spaces and dashes dropped, a trailing x uppercased;
- 15-digit legacy numbers get "19" before the year and a computed check character;
- 18 characters: 17 digits and a digit or X; the ISO 7064 MOD 11-2 check must hold;
- the birth date (characters 7–14) must be a real date, not in the future, not before 1900.

Hong Kong / Macau / Taiwan residence permits (810000 / 820000 / 830000) and foreigners' permanent
residence IDs (starting with 9) have the same structure and check, so they pass the same gate. The
address code is only checked to be non-zero: county codes change and a real ID may carry one that no
longer (or not yet) exists.
"""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from datetime import date

from chalicelib.rules.text import fold

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_NOISE = re.compile(r"[\s\-]")
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?e\+?\d+$", re.IGNORECASE)
_EIGHTEEN = re.compile(r"^\d{17}[\dX]$")
_FIFTEEN = re.compile(r"^\d{15}$")

STORED_AS_NUMBER = "身份证号码被存为数字，请将该列设为文本后重新填写"
BAD_FORMAT = "数据格式不正确"


@dataclass(frozen=True)
class IdCheck:
    number: str | None  # the canonical 18 characters when valid
    error: str | None  # why not, in Chinese, without the trailing "！"

    @property
    def ok(self) -> bool:
        return self.number is not None


def check_character(first17: str) -> str:
    return CHECK_CHARS[sum(map(operator.mul, map(int, first17), WEIGHTS)) % 11]


def compose(born: date | str, seq: int, area: str = "440115") -> str:
    """A valid 18-character ID number from its parts — address code, birth date (a date or YYYYMMDD),
    3-digit sequence — with its check character: what demo data, tests and benchmarks generate."""
    first = f"{area}{born if isinstance(born, str) else format(born, '%Y%m%d')}{seq % 1000:03d}"
    return first + check_character(first)


def normalize_id(value: object, *, today: date | None = None) -> IdCheck:
    if isinstance(value, bool) or value is None:
        return IdCheck(None, "身份证号码不能为空" if value is None else BAD_FORMAT)
    if isinstance(value, (int, float)):
        # calamine hands numeric cells over as floats; an 18-digit integer cannot survive that
        return IdCheck(None, STORED_AS_NUMBER)
    if isinstance(value, str) and len(value) == 18 and value.isascii() and value[:17].isdigit():
        text = value.upper()  # the usual case, already clean: skip folding
    else:
        text = _NOISE.sub("", fold(value)).upper()
    if not text:
        return IdCheck(None, "身份证号码不能为空")
    if _SCIENTIFIC.match(text):
        return IdCheck(None, STORED_AS_NUMBER)
    if _FIFTEEN.match(text):
        first17 = text[:6] + "19" + text[6:15]
        text = first17 + check_character(first17)
    if not _EIGHTEEN.match(text):
        if text.isdigit() or (text[:-1].isdigit() and text.endswith("X")):
            return IdCheck(None, f"{BAD_FORMAT}（应为18位，实际{len(text)}位）")
        return IdCheck(None, f"{BAD_FORMAT}（只能包含数字和末位X）")
    if text[0] == "0":
        return IdCheck(None, f"{BAD_FORMAT}（地址码不正确）")
    born = _birth_date(text)
    if born is None:
        return IdCheck(None, f"{BAD_FORMAT}（出生日期{text[6:14]}不存在）")
    if born > (today or date.today()):
        return IdCheck(None, f"{BAD_FORMAT}（出生日期{text[6:14]}晚于今天）")
    if born.year < 1900:
        return IdCheck(None, f"{BAD_FORMAT}（出生日期{text[6:14]}早于1900年）")
    if check_character(text[:17]) != text[17]:
        return IdCheck(None, f"{BAD_FORMAT}（校验位错误，请核对号码）")
    return IdCheck(text, None)


def _birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
