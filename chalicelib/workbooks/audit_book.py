"""操作日志.xlsx: the entries a filter selected, as text; 行数 as a number."""
from __future__ import annotations

from chalicelib.rules.clock import SHANGHAI
from chalicelib.workbooks.writer import write_table

HEADERS = ["时间", "操作人", "角色", "操作", "对象", "范围", "行数", "结果", "来源地址", "浏览器"]


def audit_book(rows: list[dict]) -> bytes:
    from datetime import datetime

    def line(row: dict) -> list:
        at = datetime.fromisoformat(row["at"]).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
        return [at, row["actor"], row["role_label"], row["action"], row["target"], row["scope"], int(row["rows"]),
                row["outcome"], row["source_ip"], row["user_agent"]]

    return write_table("操作日志", HEADERS, (line(r) for r in rows))
