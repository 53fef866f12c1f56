"""The ID-number and time checks of `idnumber` and `feeds`, over a whole column at once (numpy).

A provincial NAT feed is a million rows, nearly all of them clean. These functions answer, per row,
"is this field already canonical and valid?" at C speed; a row they do not vouch for is not rejected
here but handed to the per-row rules, which correct what can be corrected and word the reason. So the
vectorized forms only ever need to be *stricter* than the per-row ones, never looser — the unit tests
hold them to agreeing with `normalize_id` and `parse_instant` on every row they accept.

Fields arrive as byte matrices: one row per line, one column per byte (ASCII; the feeds' encodings,
UTF-8 and GB18030, never put a byte below 0x40 inside a multi-byte character).
"""
from __future__ import annotations

from datetime import date

import numpy as np

from chalicelib.rules.idnumber import CHECK_CHARS, WEIGHTS

_CHECK = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_ZERO, _NINE, _X = ord("0"), ord("9"), ord("X")
SHANGHAI_OFFSET = 8 * 3600  # rules.clock.SHANGHAI is a fixed UTC+8 (no daylight saving since 1991)


def _decimal_columns(spans: list[tuple[int, int]], width: int, weights: tuple = ()) -> np.ndarray:
    """A (width, k) matrix: digits @ it reads each span [first, last) of digit columns as a decimal
    number, and a last column of `weights` (if given) as their weighted sum."""
    matrix = np.zeros((width, len(spans) + bool(weights)), dtype=np.float64)  # BLAS; exact below 2**53
    for out, (first, last) in enumerate(spans):
        for column in range(first, last):
            matrix[column, out] = 10 ** (last - 1 - column)
    for column, weight in enumerate(weights):
        matrix[column, -1] = weight
    return matrix


def _valid_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days = _MONTH_DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)
    return (month >= 1) & (month <= 12) & (day >= 1) & (day <= days)


_ID_NUMBERS = _decimal_columns([(6, 10), (10, 12), (12, 14)], 17, WEIGHTS)  # birth date, and the check sum


def clean_id_numbers(field: np.ndarray, today: date) -> np.ndarray:
    """field: (n, 18) uint8. True where the text is exactly what `normalize_id` returns for it: 17 digits
    and a digit or X, a non-zero address code, a real birth date from 1900 to `today`, the MOD 11-2
    check. Anything else (a lowercase x, a 15-digit number, a wrong checksum) goes to the per-row rules."""
    if not len(field):
        return np.zeros(0, dtype=bool)
    digits = field[:, :17] - np.uint8(_ZERO)  # wraps below "0": one comparison checks both ends
    last = field[:, 17]
    ok = (digits <= 9).all(axis=1)
    digits = digits.astype(np.float64)
    ok &= ((last >= _ZERO) & (last <= _NINE)) | (last == _X)
    ok &= field[:, 0] != _ZERO
    year, month, day, total = (digits @ _ID_NUMBERS).astype(np.int64).T
    ok &= _CHECK[total % 11] == last
    ok &= _valid_dates(year, month, day) & (year >= 1900)
    ok &= year * 10000 + month * 100 + day <= today.year * 10000 + today.month * 100 + today.day
    return ok


_TIME_DIGITS = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)
_TIME_PARTS = _decimal_columns([(0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14)], 14)


def wall_clock_seconds(field: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """field: (n, 19) uint8 of "YYYY-MM-DD HH:MM:SS" (or "/" between the date's parts, or "T" before the
    time), Asia/Shanghai wall-clock time.
    Returns (ok, seconds since the epoch in UTC). Years before 1992 are left to the per-row rules."""
    if not len(field):
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    digits = field[:, _TIME_DIGITS] - np.uint8(_ZERO)
    ok = (digits <= 9).all(axis=1)
    digits = digits.astype(np.float64)
    ok &= ((field[:, 4] == ord("-")) | (field[:, 4] == ord("/"))) & (field[:, 7] == field[:, 4])
    ok &= (field[:, 13] == ord(":")) & (field[:, 16] == ord(":"))
    ok &= (field[:, 10] == ord(" ")) | (field[:, 10] == ord("T"))
    year, month, day, hour, minute, second = (digits @ _TIME_PARTS).astype(np.int64).T
    ok &= _valid_dates(year, month, day) & (year >= 1992) & (hour <= 23) & (minute <= 59) & (second <= 59)
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - SHANGHAI_OFFSET
    return ok, seconds


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm), per row."""
    year = year - (month <= 2)
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468
