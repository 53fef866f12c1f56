"""The names downloads are saved under: what, whose, which day — 快递物流台账（南沙街，2026-12-08）.xlsx — so a
folder of exports tells one category, town or day from another (every ledger used to be 哨点人员台账.xlsx).
Pure: the callers say what and whose; the day is today in Asia/Shanghai unless given."""
from __future__ import annotations

import re
from datetime import date

from chalicelib.rules import geography
from chalicelib.rules.clock import local_day, now

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')  # what Windows and browsers refuse in a file name


def dated(title: str, *scope: str, day: date | None = None) -> str:
    """`title（scope，…，day）.xlsx`; empty scope parts are left out, and characters a file name may not
    hold (an enterprise named "A/B") become "-"."""
    parts = [p for p in scope if p] + [(day or local_day(now())).isoformat()]
    return _UNSAFE.sub("-", f"{title}（{'，'.join(parts)}）.xlsx")


def where(own_town: str | None, chosen_town: str = "", area: str | None = "") -> str:
    """The town a list covers: a town account's own, else the town chosen in the filter, else the caller's
    district (a 区 official), else everything the stage serves (全区, or 全市 for several districts)."""
    return own_town or chosen_town or area or geography.current().area
