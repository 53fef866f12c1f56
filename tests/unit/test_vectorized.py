"""The column-at-a-time checks never accept what the per-row rules would correct or refuse, and do
accept what is clean as written (else the feed's fast path would be a slow path in disguise)."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from chalicelib.rules import vectorized
from chalicelib.rules.feeds import RowError, parse_instant
from chalicelib.rules.idnumber import check_character, normalize_id

TODAY = date(2026, 11, 26)


def matrix(values: list[str], width: int) -> np.ndarray:
    return np.frombuffer("".join(values).encode("ascii"), dtype=np.uint8).reshape(len(values), width)


def valid(first17: str) -> str:
    return first17 + check_character(first17)


def id_cases() -> list[str]:
    rng = random.Random(7)
    cases = [
        "11010519491231002X", "11010519491231002x", "110105194912310021", valid("44011519010229001"),
        valid("44011520000229001"), valid("44011519901301001"), valid("44011520261126001"),
        valid("44011520261127001"), valid("44011518991231001"), valid("04011519900101001"),
        valid("44011519900100001"), valid("44011519900132001"), "4401151990010100AX",
        "4401151990010100 X", "44011519900101001+", "932682198501010017",
    ]
    for _ in range(3000):
        first17 = "".join(rng.choice("0123456789") for _ in range(17))
        if rng.random() < 0.7:  # a plausible birth date, so most reach the checksum
            born = date(1900, 1, 1) + timedelta(days=rng.randrange(50000))
            first17 = first17[:6] + born.strftime("%Y%m%d") + first17[14:]
        last = check_character(first17) if rng.random() < 0.8 else rng.choice("0123456789Xx")
        cases.append(first17 + last)
    return cases


def test_ids_are_accepted_column_wise_exactly_when_normalize_id_keeps_them():
    cases = id_cases()
    ok = vectorized.clean_id_numbers(matrix(cases, 18), TODAY)
    for value, accepted in zip(cases, ok.tolist()):
        # accepted exactly when the per-row rules would take it unchanged; the rest (refused, or valid
        # only after a correction such as the lowercase x) is theirs to handle
        assert accepted == (normalize_id(value, today=TODAY).number == value), value
    assert ok.sum() > 1000


def time_cases() -> list[str]:
    rng = random.Random(3)
    cases = ["2026-11-25 23:59:59", "2026-11-26T00:00:00", "2024-02-29 12:00:00", "2026-02-29 12:00:00",
             "2026-13-01 00:00:00", "2026-11-31 00:00:00", "2026-11-25 24:00:00", "2026-11-25 23:60:00",
             "2026-11-25 23:59:60", "2026/11/25 10:00:00", "2026/11-25 10:00:00", "2026-11-25 10:00:0 ", "1991-12-31 23:59:59",
             "1992-01-01 00:00:00", "2000-01-01 00:00:00", "2026-11-25 10:00:00"]
    start = datetime(1995, 1, 1)
    for _ in range(3000):
        moment = start + timedelta(seconds=rng.randrange(40 * 365 * 86400))
        text = moment.strftime("%Y-%m-%d %H:%M:%S")
        if rng.random() < 0.2:
            position = rng.randrange(19)
            text = text[:position] + rng.choice("0123456789-: T/") + text[position + 1:]
        cases.append(text)
    return cases


def test_times_parsed_column_wise_are_the_same_instants_as_parse_instant():
    cases = time_cases()
    ok, seconds = vectorized.wall_clock_seconds(matrix(cases, 19))
    for value, accepted, epoch in zip(cases, ok.tolist(), seconds.tolist()):
        try:
            expected = int(parse_instant(value, "采样时间").timestamp())
        except RowError:
            expected = None
        if accepted:
            assert epoch == expected, value
    assert ok.sum() > 2300
    assert ok[cases.index("2026-11-26T00:00:00")] and ok[cases.index("2026/11/25 10:00:00")]
    assert seconds[cases.index("2026-11-26T00:00:00")] == int(datetime.fromisoformat("2026-11-25T16:00:00+00:00").timestamp())


@pytest.mark.parametrize("text", ["2026-02-29 12:00:00", "2026-11-25 24:00:00", "2026/11-25 10:00:00", "1991-06-01 10:00:00"])
def test_times_the_columns_leave_to_the_per_row_rules(text):
    ok, _ = vectorized.wall_clock_seconds(matrix([text], 19))
    assert not ok[0]


def test_empty_columns():
    assert vectorized.clean_id_numbers(np.zeros((0, 18), dtype=np.uint8), TODAY).shape == (0,)
    assert vectorized.wall_clock_seconds(np.zeros((0, 19), dtype=np.uint8))[0].shape == (0,)
