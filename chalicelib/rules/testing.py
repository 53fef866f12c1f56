"""The sentinel categories' testing rules (§2.5: 一天一检 … 十四天一检) and who broke them (§2.6), pure.

A rule asks for at least `tests` samples (by sampling time) within the `days` whole Asia/Shanghai calendar
days before the run day: run on 12-02, 三天两检 looks at 11-29 00:00:00 up to 12-01 23:59:59. A sample at
00:00:00 of the run day belongs to the run day, so to tomorrow's window, not today's.

Choices the seed leaves open (README "告警"):
- Someone registered inside the window is judged from the day of registration: the samples of the whole
  window still count (the feeds knew them before anyone registered the person), but the number asked for
  is the rule's share of the days since registration, rounded up (七天三检, registered two days before the
  run day: one test). Registered on the run day itself: not judged yet. The list says so.
- Someone in two enterprises is on both enterprises' lists: each list is what its head must chase.
- The next test is due on the run day itself: the window is already missed, and a test today is what
  makes tomorrow's run find them compliant. The reason says how many are missing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np

from chalicelib.rules.clock import SHANGHAI
from chalicelib.rules.vectorized import SHANGHAI_OFFSET


@dataclass(frozen=True)
class TestingRule:
    code: str
    name: str
    days: int
    tests: int


RULES: tuple[TestingRule, ...] = (
    TestingRule("1d1", "一天一检", 1, 1),
    TestingRule("2d1", "两天一检", 2, 1),
    TestingRule("3d1", "三天一检", 3, 1),
    TestingRule("3d2", "三天两检", 3, 2),
    TestingRule("7d1", "七天一检", 7, 1),
    TestingRule("7d2", "七天两检", 7, 2),
    TestingRule("7d3", "七天三检", 7, 3),
    TestingRule("14d1", "十四天一检", 14, 1),
)
_BY_CODE = {r.code: r for r in RULES}
_BY_NAME = {r.name: r for r in RULES}
_CN = "零一两三四五六七八九十"


def rule(code_or_name: str) -> TestingRule | None:
    return _BY_CODE.get(code_or_name) or _BY_NAME.get(code_or_name)


def window(testing: TestingRule, run_day: date) -> tuple[datetime, datetime]:
    """[start, end) of the rule's window for a run on `run_day`: whole days before it, Asia/Shanghai."""
    end = datetime.combine(run_day, time.min, SHANGHAI)
    return end - timedelta(days=testing.days), end


def required(testing: TestingRule, run_day: date, registered_on: date | None) -> tuple[int, int]:
    """(tests asked for, days judged): the whole rule, or its share since a registration in the window."""
    if registered_on is None:
        return testing.tests, testing.days
    days = max(0, min(testing.days, (run_day - registered_on).days))
    return math.ceil(testing.tests * days / testing.days), days


@dataclass(frozen=True)
class Verdict:
    compliant: bool
    tests: int  # samples in the window
    required: int
    days: int  # days judged (the rule's, or fewer since registration)
    reason: str | None  # for a person: "近3天仅检测1次，要求2次"
    due: date | None  # the day the next test is due, for the non-compliant


def evaluate(testing: TestingRule, samples, run_day: date, *, registered_on: date | None = None) -> Verdict:
    """One person's samples (instants) against the rule on `run_day`."""
    start, end = window(testing, run_day)
    count = sum(1 for s in samples if start <= s < end)
    need, days = required(testing, run_day, registered_on)
    if count >= need:
        return Verdict(True, count, need, days, None, None)
    return Verdict(False, count, need, days, reason_text(testing, count, need, days), run_day)


def reason_text(testing: TestingRule, count: int, need: int, days: int) -> str:
    span = f"近{_days(days)}天" if days == testing.days else f"登记后{_days(days)}天"
    done = "未检测" if count == 0 else f"仅检测{count}次"
    return f"{span}{done}，要求{need}次（{testing.name}）"


def _days(n: int) -> str:
    return _CN[n] if n <= 10 else str(n)


@dataclass(frozen=True)
class Evaluated:
    """Per person of a partition: samples in the window, tests asked for, days judged, compliant."""
    tests: np.ndarray
    required: np.ndarray
    days: np.ndarray
    compliant: np.ndarray
    last_sampled: np.ndarray  # epoch s of the latest sample known (any time), 0 if none


def evaluate_many(testing: TestingRule, run_day: date, *, people: int, owner: np.ndarray, at: np.ndarray,
                  registered: np.ndarray) -> Evaluated:
    """The rule over a whole partition at once (the roster's arrays: each sample's owner and time, each
    person's registration instant, epoch seconds) — the same answers as `evaluate`, person by person."""
    start, end = (int(x.timestamp()) for x in window(testing, run_day))
    inside = (at >= start) & (at < end)
    tests = np.bincount(owner[inside], minlength=people)
    midnight = int(datetime.combine(run_day, time.min, SHANGHAI).timestamp())
    # the Asia/Shanghai midnight that began each registration's day, then whole days from it to the run day
    registered_on = (registered + SHANGHAI_OFFSET) // 86_400 * 86_400 - SHANGHAI_OFFSET
    days = np.clip((midnight - registered_on) // 86_400, 0, testing.days)
    need = np.ceil(testing.tests * days / testing.days).astype(np.int64)
    last = np.zeros(people, dtype=np.int64)
    np.maximum.at(last, owner, at)
    return Evaluated(tests, need, days, tests >= need, last)
