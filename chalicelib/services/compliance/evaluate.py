"""Who broke their category's testing rule on a run day, over the health roster (the statistics' read
model): per partition, the people whose samples in the rule's window fall short, with the reason a
person can read, the day the next test is due and their latest sample. The overnight run (next) stores
these per category and town and the 09:00 push sends them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from chalicelib.rules import testing
from chalicelib.rules.clock import SHANGHAI
from chalicelib.services.health import roster


@dataclass(frozen=True)
class Shortfall:
    enterprise_id: str
    person_key: str
    tests: int
    required: int
    reason: str
    due: date
    last_sampled: int  # epoch s, 0 if none known


@dataclass(frozen=True)
class PartResult:
    category: str
    town: str
    people: int
    shortfalls: list[Shortfall]


def evaluate(part: roster.Part, rule: testing.TestingRule, run_day: date) -> PartResult:
    found = testing.evaluate_many(rule, run_day, people=part.size, owner=part.owner, at=part.at,
                                  registered=part.created)
    out = []
    for i in np.flatnonzero(~found.compliant):
        out.append(Shortfall(part.enterprises[part.ent[i]], part.key[i].decode(), int(found.tests[i]),
                             int(found.required[i]),
                             testing.reason_text(rule, int(found.tests[i]), int(found.required[i]), int(found.days[i])),
                             run_day, int(found.last_sampled[i])))
    return PartResult(part.category, part.town, part.size, out)


def last_sampled_text(epoch: int) -> str:
    """最近一次核酸检测时间 as the lists print it."""
    return datetime.fromtimestamp(epoch, SHANGHAI).strftime("%Y-%m-%d %H:%M") if epoch else "近14天无记录"
