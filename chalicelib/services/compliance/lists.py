"""The rows of a run's lists and their workbooks: who (enterprise, name, phone, head), why, by when.

A part's rows are resolved once, when the part is evaluated, from the registry (BatchGetItem of the
non-compliant staff and their enterprises) and kept as JSON in S3 beside the run, one object per
generation (a re-run never overwrites what an earlier run's lists were built from); the push, the
console's drill-down and the downloads all read those rows, so every list of a day says the same thing."""
from __future__ import annotations

import json
from functools import lru_cache

from chalicelib.integrations import storage
from chalicelib.rules import catalog, geography
from chalicelib.services.compliance.evaluate import PartResult, last_sampled_text
from chalicelib.store.models import Enterprise, Staff
from chalicelib.workbooks.writer import write_table

LIST_HEADERS = ("企业名称", "姓名", "手机号码", "负责人姓名", "负责人电话", "最近一次核酸检测时间", "所属镇街",
                "未按规定检测原因", "应检测日期")
LIST_WIDTHS = (30, 10, 14, 10, 14, 20, 12, 36, 12)
SUMMARY_HEADERS = ("哨点人员类别", "主管部门", "检测规则", "总人数", "未按规定检测人数", "其中无接收人未推送人数")


def rows_key(day: str, generation: int, category: str, town: str) -> str:
    return f"runs/{day}/{generation}/{category}/{town}.json"


def resolve(result: PartResult) -> list[dict]:
    """The part's shortfalls with names and phones, ordered by enterprise then name."""
    keys = [(s.enterprise_id, s.person_key) for s in result.shortfalls]
    staff = {(p.enterprise_id, p.person_key): p for p in Staff.batch_get(
        keys, attributes_to_get=["enterprise_id", "person_key", "name", "phone"])} if keys else {}
    enterprise_ids = list({s.enterprise_id for s in result.shortfalls})
    enterprises = {e.enterprise_id: e for e in Enterprise.batch_get(enterprise_ids)} if enterprise_ids else {}
    rows = []
    for s in result.shortfalls:
        person, enterprise = staff.get((s.enterprise_id, s.person_key)), enterprises.get(s.enterprise_id)
        if person is None or enterprise is None:
            continue  # deleted since the roster was built: nobody to chase
        rows.append({"enterprise_id": s.enterprise_id, "enterprise": enterprise.name, "town": result.town,
                     "person_key": s.person_key, "name": person.name, "phone": person.phone,
                     "head_name": enterprise.head_name, "head_phone": enterprise.head_phone,
                     "last_sampled": s.last_sampled, "reason": s.reason, "due": s.due.isoformat(),
                     "tests": s.tests, "required": s.required})
    rows.sort(key=lambda r: (r["enterprise"], r["name"], r["person_key"]))
    return rows


def save_rows(day: str, generation: int, category: str, town: str, rows: list[dict]) -> str:
    key = rows_key(day, generation, category, town)
    storage.put(key, json.dumps(rows, ensure_ascii=False).encode(), content_type="application/json")
    return key


def part_rows(part) -> list[dict]:
    """A finished part's rows. Paging through 告警记录's lists reads the same files again and again: a
    warm function keeps the last few, keyed with the part's generation and the instant (to the
    microsecond) it finished — a re-run rewrites the same S3 key, so the key alone would serve old rows."""
    if not part.result_key:
        return []
    version = f"{int(part.generation or 0)}@{part.finished_at.isoformat() if part.finished_at else ''}"
    return list(_rows(part.result_key, version))


@lru_cache(maxsize=16)
def _rows(key: str, version: str) -> tuple[dict, ...]:
    return tuple(json.loads(storage.get(key)))


def list_book(category: str, day: str, where: str, rows: list[dict]) -> bytes:
    """The seed's list (§2.6): 企业名称、姓名、手机号码、负责人姓名、负责人电话、最近一次核酸检测时间 (the
    sampling time, as everywhere), then why. `where`: the towns the list covers, in words (a town, the
    reader's scope, or 全区)."""
    table = ((r["enterprise"], r["name"], r["phone"], r["head_name"], r["head_phone"],
              last_sampled_text(r["last_sampled"]), r["town"], r["reason"], r["due"]) for r in rows)
    return write_table(f"{category_name(category)}未按规定检测人员", LIST_HEADERS, table, widths=LIST_WIDTHS,
                       note=f"{day} 检查（{where or geography.current().area}），共 {len(rows)} 人")


def category_name(code: str | None) -> str:
    found = catalog.category(code) if code else None
    return found.name if found else (code or "")


def list_filename(category: str, day: str, where: str) -> str:
    return f"{category_name(category)}未按规定检测人员名单（{where + '，' if where and where not in ('全区', '全市') else ''}{day}）.xlsx"


def summary_book(day: str, lines: list[dict], *, note: str = "") -> bytes:
    """The 专班's daily summary (§2.6): per category 主管部门、总人数、未按规定检测人数 (numbers, so a
    spreadsheet can add them up), how many of those had nobody to receive their list, and the total."""
    table = [(x["category_name"], x["department"], x["rule_name"], x["people"], x["shortfalls"], x["unrouted"])
             for x in lines]
    table.append(("合计", "", "", *(sum(x[k] for x in lines) for k in ("people", "shortfalls", "unrouted"))))
    return write_table("哨点人员核酸检测统计", SUMMARY_HEADERS, table, widths=(18, 24, 12, 10, 16, 22),
                       note=note or f"{day} 凌晨检查结果")


def summary_filename(day: str) -> str:
    return f"哨点人员核酸检测统计（{day}）.xlsx"
