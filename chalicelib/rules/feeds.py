"""The provincial feeds' row rules (docs/feeds.md): header variants, times, results, doses.

Pure functions: the ingestion service streams rows through these and never imports them twice.
Naive times are Asia/Shanghai wall-clock times (how the provinces' systems write them).
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from chalicelib.rules.clock import SHANGHAI, local_day
from chalicelib.rules.text import fold

# NAT data: the KEEP_DAYS whole Asia/Shanghai days before today, and today (seed: 近14天的核酸检测数据).
# Older samples are neither kept nor counted. Whole days, because the testing rules judge whole days:
# 十四天一检 run on D needs D−14 00:00:00, whatever hour the night runs or a file arrives.
KEEP_DAYS = 14

NAT_ALIASES: dict[str, tuple[str, ...]] = {
    "id_number": ("身份证号码", "身份证号", "证件号码", "公民身份号码", "id_number", "idcard"),
    "name": ("姓名", "name"),
    "sampled_at": ("采样时间", "采集时间", "sampled_at", "sample_time"),
    "tested_at": ("检测时间", "报告时间", "结果时间", "tested_at", "test_time"),
    "result": ("检测结果", "结果", "核酸结果", "result"),
    "site": ("采样点", "采样点名称", "采样地点", "采样机构", "site"),
}
VACCINE_ALIASES: dict[str, tuple[str, ...]] = {
    "id_number": NAT_ALIASES["id_number"],
    "name": ("姓名", "name"),
    "dose": ("剂次", "针次", "接种剂次", "dose"),
    "vaccinated_on": ("接种日期", "接种时间", "vaccinated_on", "date"),
    "product": ("疫苗产品", "疫苗厂家", "生产厂家", "疫苗名称", "疫苗产品/厂家", "product"),
    "unit": ("接种单位", "接种点", "unit"),
}
NAT_REQUIRED = ("id_number", "sampled_at", "result")
VACCINE_REQUIRED = ("id_number", "dose", "vaccinated_on")

NEGATIVE, POSITIVE, PENDING = "阴性", "阳性", "未出结果"
# One sample reported twice (a repeated row, or a later file) keeps its final result: a result over
# 未出结果, and 阳性 over 阴性, so a stale or conflicting copy never clears a positive.
RESULT_RANK = {POSITIVE: 2, NEGATIVE: 1, PENDING: 0}
_RESULTS = {
    "阴性": NEGATIVE, "negative": NEGATIVE, "neg": NEGATIVE, "-": NEGATIVE,
    "阳性": POSITIVE, "positive": POSITIVE, "pos": POSITIVE, "+": POSITIVE,
    "未出结果": PENDING, "待出结果": PENDING, "检测中": PENDING, "pending": PENDING, "": PENDING,
}
_DOSES = {"1": 1, "第一针": 1, "第1针": 1, "一": 1, "2": 2, "第二针": 2, "第2针": 2, "二": 2,
          "3": 3, "第三针": 3, "第3针": 3, "三": 3, "加强针": 3, "加强": 3, "booster": 3}
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                 "%Y%m%d%H%M%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")
_ZONED = re.compile(r"[+-]\d{2}:?\d{2}$|Z$")
_COMMON = re.compile(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


class RowError(ValueError):
    """A row the feed cannot use; the message names the column."""


def parse_instant(value: object, column: str) -> datetime:
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, str) and len(value) == 19 and value.isascii():
        try:  # "YYYY-MM-DD HH:MM:SS", what nearly every row looks like: the C parser, no folding
            instant = datetime.fromisoformat(value)
        except ValueError:
            instant = _parse_text(value, column)
    else:
        instant = _parse_text(value, column)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=SHANGHAI)
    return instant


def _parse_text(value: object, column: str) -> datetime:
    text = fold(value)
    if not text:
        raise RowError(f"{column}为空")
    common = _COMMON.fullmatch(text)
    if common:  # what spreadsheets write, padded or not (2022/6/7 8:30): no strptime attempts in turn
        year, _, month, day, hour, minute, second = common.groups()
        try:
            return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        except ValueError:
            raise RowError(f"{column}“{text[:30]}”不是有效的时间") from None
    if "T" in text and _ZONED.search(text):
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise RowError(f"{column}“{text[:30]}”不是有效的时间")


def parse_day(value: object, column: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_instant(value, column).astimezone(SHANGHAI).date()


def parse_result(value: object) -> str:
    found = _RESULTS.get(value) if isinstance(value, str) else None
    if found:
        return found
    text = fold(value).casefold()
    if text not in _RESULTS:
        raise RowError(f"检测结果“{fold(value)[:20]}”无法识别（应为阴性/阳性/未出结果）")
    return _RESULTS[text]


def parse_dose(value: object) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = fold(value).casefold()
    if text not in _DOSES:
        raise RowError(f"剂次“{fold(value)[:20]}”无法识别（应为1、2、3或加强针）")
    return _DOSES[text]


def kept_since(instant: datetime) -> datetime:
    """The oldest sampling time kept and counted at `instant`: the Asia/Shanghai midnight that begins the
    day KEEP_DAYS days before the instant's own day (not the instant minus 14 × 24 hours)."""
    return datetime.combine(local_day(instant) - timedelta(days=KEEP_DAYS), time.min, SHANGHAI)


def kept_until(sampled_at: datetime) -> datetime:
    """When a sample is no longer needed (its record's expiry): the midnight that ends the last day whose
    kept window still begins on or before the sample's day. kept_since(t) <= sampled_at exactly while
    t < kept_until(sampled_at)."""
    return datetime.combine(local_day(sampled_at) + timedelta(days=KEEP_DAYS + 1), time.min, SHANGHAI)


def sample_window(now: datetime) -> tuple[datetime, datetime]:
    """(oldest kept, latest accepted) sampling time at `now`."""
    return kept_since(now), now + timedelta(hours=1)


def check_sample_window(sampled_at: datetime, now: datetime, window: tuple[datetime, datetime] | None = None) -> bool:
    """True if the sample is within the kept window; raises for a sample in the future."""
    oldest, latest = window or sample_window(now)
    if sampled_at > latest:
        raise RowError("采样时间晚于当前时间")
    return sampled_at >= oldest


BUCKETS = ("h24", "h48", "h72", "over72", "unmatched")
BUCKET_LABELS = {"h24": "24小时", "h48": "48小时", "h72": "72小时", "over72": "大于72小时", "unmatched": "未匹配"}


def bucket(last_sampled_at: datetime | None, now: datetime) -> str:
    """The head's home (§2.4.2), by the latest sampling time n hours ago: n ≤ 24; 24 < n ≤ 48;
    48 < n ≤ 72; n > 72; 未匹配 when there is no sample in the kept days (kept_since: what the ledger
    shows as the latest sample, the home counts)."""
    if last_sampled_at is None or last_sampled_at < kept_since(now):
        return "unmatched"
    age = now - last_sampled_at
    if age <= timedelta(hours=24):
        return "h24"
    if age <= timedelta(hours=48):
        return "h48"
    if age <= timedelta(hours=72):
        return "h72"
    return "over72"
