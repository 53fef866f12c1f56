"""Reading feeds in blocks: the offset-split fast path must give exactly what the row-at-a-time path
(the csv module, which a quoted file takes) gives, whatever the rows, encodings and block boundaries."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.rules.clock import SHANGHAI
from chalicelib.rules.idnumber import compose
from chalicelib.services.feeds import rows as feed_rows
from chalicelib.services.feeds import apply as feeds
from chalicelib.services.feeds.parts import KINDS
from chalicelib.services.feeds.reader import BadFeedError, csv_blocks
from chalicelib.services.common.security import keyed_hash

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai
HEADER = "身份证号码,姓名,采样时间,检测时间,检测结果,采样点"


def number(n: int) -> str:
    return compose(f"{19900101 + n % 28:08d}", n)


def at(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def messy_lines() -> list[str]:
    lines = []
    for n in range(400):
        lines.append(f"{number(n + 2000)},某人,{at(n % 90)},{at(n % 90 - 0.5) if n % 3 else ''},阴性,南沙区第{n % 7}采样点")
    lines += [
        f"{number(1).lower().replace('X', 'x')},小写,{at(2)},,阴性,甲点",
        f"{number(2)[:6]}{number(2)[8:17]},十五位,{at(2)},,阳性,甲点",  # 15 digits: corrected to 18
        "440115199001011234,校验错,2026-11-20 10:00:00,,阴性,乙点",
        f" {number(3)} ,带空格,{at(3)},,阴性,乙点",
        f"{number(4)},斜杠时间,{at(3).replace('-', '/')},,未出结果,丙点",
        f"{number(5)},坏时间,不是时间,,阴性,丙点",
        f"{number(6)},将来,{at(-5)},,阴性,丙点",
        f"{number(7)},太早,{at(24 * 15)},,阴性,丙点",
        f"{number(8)},英文结果,{at(4)},,Negative,丙点",
        f"{number(9)},空结果,{at(4)},,,丙点",
        f"{number(10)},弱阳,{at(4)},,弱阳,丙点",
        f"{number(11)},少列,{at(4)}",
        f"{number(12)},多列,{at(4)},,阴性,丁点,多余,更多",
        "",
        ",,,,,",
        f"{number(13)},长采样点,{at(5)},,阴性,{'很长的采样点名称' * 10}",
        f"{number(14)},空格采样点,{at(5)},,阴性,  戊点  ",
        f"{number(15)},坏检测时间,{at(5)},2026-13-01 00:00:00,阴性,戊点",
        f"{number(16)},零时,{(NOW - timedelta(hours=1)).astimezone(SHANGHAI).strftime('%Y-%m-%dT%H:%M:%S')},,阴性,戊点",
        f"4.40115E+17,科学计数,{at(5)},,阴性,戊点",
    ]
    return lines


def run(data: bytes, monkeypatch, *, block_bytes: int = 1 << 20):
    """ingest without writes; returns the report and every accepted row as plain values."""
    seen = []

    def capture(source_id, rows, report, lookup, write, strangers):
        lookup(set(rows.keys))
        for i, key in enumerate(rows.keys):
            seen.append((key, int(rows.sampled[i]), int(rows.tested[i]), feed_rows.RESULTS[rows.result[i]],
                         rows.sites[rows.site[i]]))
        report.matched += len(rows.keys)

    monkeypatch.setattr(feeds, "_apply_nat", capture)
    blocks = csv_blocks(io.BytesIO(data), *KINDS["nat"], block_bytes=block_bytes)
    report = feeds.ingest("nat", "test", blocks, NOW, registered=lambda keys: set(), write=False)
    return report, sorted(seen)


def reference(lines: list[str]) -> list[str]:
    """The same rows with the first name quoted: the whole file then goes through the csv module."""
    first = lines[0].split(",")
    first[1] = f'"{first[1]}"'
    return [",".join(first)] + lines[1:]


@pytest.mark.parametrize("encoding,newline,block_bytes", [
    ("utf-8", "\n", 1 << 20), ("gbk", "\n", 1 << 20), ("utf-8", "\r\n", 997), ("gbk", "\r\n", 300),
    ("utf-8-sig", "\n", 4096),
])
def test_fast_path_equals_the_row_at_a_time_path(monkeypatch, encoding, newline, block_bytes):
    lines = messy_lines()
    fast = (HEADER + newline + newline.join(lines) + newline).encode(encoding)
    slow = (HEADER + newline + newline.join(reference(lines)) + newline).encode(encoding)
    got, got_rows = run(fast, monkeypatch, block_bytes=block_bytes)
    want, want_rows = run(slow, monkeypatch)
    assert got_rows == want_rows
    assert (got.rows_read, got.matched, got.rejected, got.too_old, got.newest) == \
        (want.rows_read, want.matched, want.rejected, want.too_old, want.newest)
    assert got.problems == want.problems
    # and what that is, in the file's own line numbers (the header is line 1)
    assert (got.rows_read, got.rejected, got.too_old) == (418, 6, 1)
    reasons = {p["line"]: p["reason"] for p in got.problems}
    assert "校验位错误" in reasons[404] and "不是有效的时间" in reasons[407] and "晚于当前时间" in reasons[408]
    assert "无法识别" in reasons[412] and "不是有效的时间" in reasons[419] and "被存为数字" in reasons[421]
    rows = {key: row for key, *row in got_rows}
    assert rows[keyed_hash("person", number(1))][3] == "甲点"  # lowercase x corrected, then matched
    assert rows[keyed_hash("person", number(14))][3] == "戊点"  # the site is folded
    assert rows[keyed_hash("person", number(13))][3] == "很长的采样点名称" * 10
    assert rows[keyed_hash("person", number(9))][2] == "未出结果"


def test_undecodable_text_is_rejected_naming_the_column(monkeypatch):
    good = f"{number(1)},甲,{at(1)},,阴性,甲点\n".encode("gbk")
    broken = f"{number(2)},乙,{at(1)},,阴性,".encode("gbk") + b"\x81\x20\n"
    report, rows = run(HEADER.encode("gbk") + b"\n" + good + broken + good, monkeypatch)
    assert (report.rows_read, len(rows), report.rejected, report.repeated) == (3, 1, 1, 1)  # the good row twice
    assert report.problems == [{"line": 3, "reason": "采样点的文字编码无法识别（文件应为 UTF-8 或 GBK 编码）"}]


def test_quoted_cells_keep_their_commas_and_newlines_and_the_line_numbers(monkeypatch):
    text = (HEADER + "\n" + f"{number(1)},甲,{at(1)},,阴性,甲点\n" + f'{number(2)},"乙,\n丙",{at(1)},,阴性,"A,B"\n'
            + f"{number(3)},丁,坏,,阴性,甲点\n")
    report, rows = run(text.encode(), monkeypatch, block_bytes=64)
    assert (report.rows_read, len(rows)) == (3, 2)
    assert report.problems[0]["line"] == 5
    assert {site for *_, site in rows} == {"甲点", "A,B"}


@pytest.mark.parametrize("data,reason", [
    (b"", "文件为空"), (b"\n\n  \n", "文件为空"), ("姓名,采样时间\n".encode(), "表头缺少列：身份证号码、检测结果"),
    (b"PK\x03\x04rest", "Excel 工作簿"), (b"\xff\xfe\x81\x30\x89\x38\n", "编码无法识别"),
])
def test_files_that_cannot_be_read(monkeypatch, data, reason):
    with pytest.raises(BadFeedError, match=reason):
        run(data, monkeypatch)


def test_header_after_blank_lines_and_columns_in_any_order(monkeypatch):
    text = f"\n\n检测结果,采样点,采集时间,证件号码\n阴性,甲点,{at(1)},{number(1)}\n"
    report, rows = run(text.encode(), monkeypatch)
    assert report.rows_read == 1 and rows[0][0] == keyed_hash("person", number(1)) and rows[0][4] == "甲点"


def test_rows_with_the_headers_extra_columns_still_take_the_column_wise_path():
    text = HEADER + ",备注,证件类型\n" + "".join(f"{number(n)},某人,{at(1)},,阴性,甲点,,身份证\n" for n in range(50))
    blocks = list(csv_blocks(io.BytesIO(text.encode()), *KINDS["nat"]))
    assert sum(len(b.lines) for b in blocks) == 50 and not any(b.rows for b in blocks)
