"""Who broke their category's testing rule on a run day, over the health roster (the statistics' read
model): per partition, the people whose samples in the rule's window fall short, with the reason a
person can read, the day the next test is due and their latest sample. The overnight run (next) stores
these per category and town and the 09:00 push sends them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

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
    """The part as it stood on `run_day`: people registered after that day ended are not judged nor
    counted (a re-run of a past day judges that day's register), and no sample after it is shown as the
    latest (a list never says a test happened after its own day)."""
    end = int(datetime.combine(run_day + timedelta(days=1), time.min, SHANGHAI).timestamp())
    judged = np.flatnonzero(part.created < end)
    position = np.full(part.size, -1, np.int64)
    position[judged] = np.arange(len(judged))
    kept = (part.at < end) & (position[part.owner] >= 0) if part.size else np.zeros(0, bool)
    found = testing.evaluate_many(rule, run_day, people=len(judged), owner=position[part.owner[kept]],
                                  at=part.at[kept], registered=part.created[judged])
    out = []
    for n in np.flatnonzero(~found.compliant):
        i = judged[n]
        out.append(Shortfall(part.enterprises[part.ent[i]], part.key[i].decode(), int(found.tests[n]),
                             int(found.required[n]),
                             testing.reason_text(rule, int(found.tests[n]), int(found.required[n]), int(found.days[n])),
                             run_day, int(found.last_sampled[n])))
    return PartResult(part.category, part.town, len(judged), out)


def last_sampled_text(epoch: int) -> str:
    """最近一次核酸检测时间 as the lists print it."""
    return datetime.fromtimestamp(epoch, SHANGHAI).strftime("%Y-%m-%d %H:%M") if epoch else "近14天无记录"
