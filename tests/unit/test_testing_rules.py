"""The eight testing rules at their window edges (rules/testing.py), person by person and vectorized."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from chalicelib.rules import testing
from chalicelib.rules.clock import SHANGHAI

RUN = date(2026, 12, 2)  # the run on the morning of 12-02 judges whole days up to 12-01 23:59:59


def at(day: date, clock: str = "12:00:00") -> datetime:
    return datetime.combine(day, datetime.strptime(clock, "%H:%M:%S").time(), SHANGHAI)


def back(days: int) -> date:
    return RUN - timedelta(days=days)


# (rule, samples, compliant): for each rule the window's first and last second, one before, the run day
CASES = [
    ("一天一检", [at(back(1), "00:00:00")], True),
    ("一天一检", [at(back(1), "23:59:59")], True),
    ("一天一检", [at(back(2), "23:59:59")], False),  # the day before the window
    ("一天一检", [at(RUN, "00:00:00")], False),  # the run day belongs to tomorrow's window
    ("一天一检", [], False),
    ("两天一检", [at(back(2), "00:00:00")], True),
    ("两天一检", [at(back(3), "23:59:59")], False),
    ("三天一检", [at(back(3), "00:00:00")], True),
    ("三天一检", [at(back(4), "23:59:59"), at(RUN, "00:00:00")], False),  # only outside the window
    ("三天两检", [at(back(1), "08:00:00"), at(back(1), "20:00:00")], True),  # two on one day count twice
    ("三天两检", [at(back(3), "00:00:00"), at(back(1), "23:59:59")], True),
    ("三天两检", [at(back(4), "23:59:59"), at(back(1))], False),
    ("七天一检", [at(back(7), "00:00:00")], True),
    ("七天一检", [at(back(8), "23:59:59")], False),
    ("七天两检", [at(back(7)), at(back(1))], True),
    ("七天两检", [at(back(7))], False),
    ("七天三检", [at(back(6)), at(back(4)), at(back(2))], True),
    ("七天三检", [at(back(6)), at(back(4)), at(back(8))], False),
    ("十四天一检", [at(back(14), "00:00:00")], True),
    ("十四天一检", [at(back(15), "23:59:59")], False),
]


@pytest.mark.parametrize("name, samples, compliant", CASES)
def test_each_rule_at_its_window_edges(name, samples, compliant):
    rule = testing.rule(name)
    verdict = testing.evaluate(rule, samples, RUN)
    assert verdict.compliant is compliant
    vector = _vector(rule, [samples], registered=[at(back(60))])
    assert bool(vector.compliant[0]) is compliant and int(vector.tests[0]) == verdict.tests


def test_the_eight_rules_are_the_seeds():
    assert [r.name for r in testing.RULES] == ["一天一检", "两天一检", "三天一检", "三天两检", "七天一检", "七天两检",
                                              "七天三检", "十四天一检"]
    assert testing.rule("3d2") is testing.rule("三天两检")


def test_a_reason_a_person_can_read_and_the_day_the_next_test_is_due():
    verdict = testing.evaluate(testing.rule("三天两检"), [at(back(2))], RUN)
    assert verdict.reason == "近三天仅检测1次，要求2次（三天两检）" and verdict.due == RUN
    assert testing.evaluate(testing.rule("十四天一检"), [], RUN).reason == "近14天未检测，要求1次（十四天一检）"


def test_someone_registered_inside_the_window_is_judged_from_the_day_of_registration():
    rule = testing.rule("七天三检")
    two_days = testing.evaluate(rule, [], RUN, registered_on=back(2))
    assert (two_days.required, two_days.days, two_days.compliant) == (1, 2, False)
    assert two_days.reason == "登记后两天未检测，要求1次（七天三检）"
    assert testing.evaluate(rule, [at(back(5))], RUN, registered_on=back(2)).compliant  # a sample from before counts
    assert testing.evaluate(rule, [], RUN, registered_on=RUN).compliant  # registered today: not judged yet
    vector = _vector(rule, [[], [], []], registered=[at(back(2), "23:30:00"), at(RUN, "00:10:00"), at(back(30))])
    assert vector.required.tolist() == [1, 0, 3] and vector.days.tolist() == [2, 0, 7]


def test_the_run_day_is_an_asia_shanghai_day_whatever_the_utc_time_of_the_run():
    # the run fires at 02:30 Asia/Shanghai = 18:30 UTC of the day before: the run day is still 12-02
    from chalicelib.rules.clock import local_day

    fired = datetime(2026, 12, 1, 18, 30, tzinfo=timezone.utc)
    assert local_day(fired) == RUN
    start, end = testing.window(testing.rule("一天一检"), local_day(fired))
    assert start.isoformat() == "2026-12-01T00:00:00+08:00" and end.isoformat() == "2026-12-02T00:00:00+08:00"


def _vector(rule, people_samples, *, registered):
    owner = np.array([i for i, samples in enumerate(people_samples) for _ in samples], dtype=np.int32)
    times = np.array([int(s.timestamp()) for samples in people_samples for s in samples], dtype=np.int64)
    return testing.evaluate_many(rule, RUN, people=len(people_samples), owner=owner, at=times,
                                 registered=np.array([int(r.timestamp()) for r in registered], dtype=np.int64))


def test_the_vectorized_form_agrees_with_the_per_person_one_on_random_people():
    rng = np.random.default_rng(3)
    for rule in testing.RULES:
        people = [[at(back(int(d)), f"{int(h):02d}:{int(m):02d}:00") for d, h, m in
                   zip(rng.integers(0, 17, k), rng.integers(0, 24, k), rng.integers(0, 60, k))]
                  for k in rng.integers(0, 5, 200)]
        registered = [at(back(int(d)), "09:00:00") for d in rng.integers(0, 20, 200)]
        vector = _vector(rule, people, registered=registered)
        for i, samples in enumerate(people):
            one = testing.evaluate(rule, samples, RUN, registered_on=registered[i].date())
            assert (bool(vector.compliant[i]), int(vector.required[i])) == (one.compliant, one.required), (rule, i)


@pytest.mark.parametrize("utc, day", [
    ("2026-12-01T18:00:00Z", date(2026, 12, 2)),  # the overnight schedule: 02:00 Asia/Shanghai, the next day
    ("2026-12-01T15:59:59Z", date(2026, 12, 1)),  # 23:59:59 in Shanghai: still the 1st
    ("2026-12-01T16:00:00Z", date(2026, 12, 2)),  # 00:00:00 in Shanghai
    ("2026-12-02T01:00:00Z", date(2026, 12, 2)),  # the 09:00 push
])
def test_a_scheduled_events_utc_time_is_its_asia_shanghai_run_day(utc, day):
    from chalicelib.events import scheduled_day

    assert scheduled_day({"time": utc}) == day


def test_sends_to_one_member_are_paced_to_thirty_a_minute():
    from chalicelib.integrations.wecom import Pacer

    clock = [0.0]
    pauses = []

    def sleep(seconds):
        pauses.append(seconds)
        clock[0] += seconds

    pacer = Pacer(sleep=sleep, clock=lambda: clock[0])
    for n in range(31):
        clock[0] += 0.5
        pacer.wait_for("zhuanban")
    pacer.wait_for("other")  # another member is not held back
    assert len(pauses) == 1 and 44 < pauses[0] < 46  # the 31st waits until the first is a minute old
