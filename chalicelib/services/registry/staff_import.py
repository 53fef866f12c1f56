"""导入 of staff by an enterprise head (§2.2.3): validate every row, save the valid ones, return the
others in a failure workbook with every reason of the row.

- 企业名称 must be one of the head's enterprises (compared like enterprise names: no spaces,
  full/half width, case); it may be blank when the head has exactly one enterprise.
- The same ID number in the same enterprise is one person: a later row overwrites an earlier one (and
  an existing record) and counts as updated (seed: "系统只会保留最后一个").
- Writes are batched upserts by key, so a retried job ends with the same data. The enterprise's staff
  count grows by the rows that were new when the job read them, so a retry does not count them twice.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from pynamodb.exceptions import PynamoDBException

from chalicelib.config import settings
from chalicelib.errors import ValidationError
from chalicelib.rules.clock import now
from chalicelib.rules.text import name_key
from chalicelib.services.health import roster
from chalicelib.services.health import state as health
from chalicelib.services.jobs import imports
from chalicelib.services.health import rekey
from chalicelib.services.registry import staff
from chalicelib.services.identity.auth import Principal
from chalicelib.services.common import keyring
from chalicelib.services.search import index as search_index
from chalicelib.services.registry.staff_schema import StaffIn, missing_enterprise, parse_staff, staff_extra_fields
from chalicelib.store.models import Enterprise, Staff
from chalicelib.workbooks.columns import FAILURE_COLUMN, ROW_COLUMN
from chalicelib.workbooks.formulas import formula_cells
from chalicelib.workbooks.reader import is_blank, open_sheet

log = logging.getLogger(__name__)
KIND = "staff"
BATCH = 25 * 20  # rows per writer task (20 BatchWriteItem calls)
# Rows one workbook may have: the import of this many fits one worker invocation (2,048 MB, 15 minutes)
# with room to spare, whatever the workbook's bytes (docs/performance.md, "Uploads past 6 MB": 200,000
# took 2.2 GB and 15.5 minutes on the embedded stack). Larger lists are split.
MAX_ROWS = 100_000

# Header variants seen in enterprises' own spreadsheets; the first is the template's.
STAFF_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "员工姓名", "人员姓名"),
    "id_number": ("身份证号码", "身份证号", "身份证", "证件号码", "公民身份号码"),
    "phone": ("手机号码", "手机号", "手机", "联系电话", "联系方式", "电话"),
    "enterprise": ("企业名称", "主体名称", "单位名称", "公司名称"),
    "person_category": ("人员类别", "人员类型", "岗位类别"),
    "residence_type": ("居住类型", "住宿类型"),
    "address": ("居住地址", "现居住地址", "住址", "现住址"),
}
REQUIRED = ("name", "id_number", "phone")
LABELS = {"name": "姓名", "id_number": "身份证号码", "phone": "手机号码", "enterprise": "企业名称",
          "enterprise_id": "企业名称", "person_category": "人员类别", "residence_type": "居住类型",
          "address": "居住地址"}


def aliases() -> dict[str, tuple[str, ...]]:
    return {**STAFF_HEADER_ALIASES, **{f"extra.{k}": (v,) for k, v in staff_extra_fields().items()}}


@dataclass
class Checked:
    """A workbook read and validated, nothing written yet."""

    outcome: imports.Outcome
    # person → its last valid row (enterprise, values, cells, row number); earlier rows were overwritten
    latest: dict[tuple[str, str], tuple[Enterprise, StaffIn, list, int]] = field(default_factory=dict)
    overwritten: int = 0


def check_workbook(data: bytes, owned: dict[str, Enterprise]) -> Checked:
    """Read and validate every row against the head's enterprises. No database access (the bench
    times exactly this against pandas)."""
    # plain tuples: pynamodb attribute access costs microseconds, and this loop runs per row
    by_name = {name_key(e.name): (e, e.enterprise_id, e.category) for e in owned.values()}
    only = next(iter(by_name.values())) if len(owned) == 1 else None
    blank_reason = missing_enterprise([e.name for e in owned.values()])
    person_key = keyring.hasher()
    sheet = open_sheet(data, aliases(), required=REQUIRED, max_rows=MAX_ROWS)
    formula_columns: dict[int, dict[int, str]] = {}
    for (r, c), text in formula_cells(data).items():
        formula_columns.setdefault(r, {})[c] = text
    labels = {**LABELS, **{f"extra.{k}": v for k, v in staff_extra_fields().items()}}
    field_of_column = {col: name for name, col in sheet.columns.items()}
    checked = Checked(imports.Outcome(failure_headers=[*sheet.headers, FAILURE_COLUMN, ROW_COLUMN]))
    outcome, latest = checked.outcome, checked.latest
    for row_number, cells in sheet.rows:
        if is_blank(cells):
            continue
        outcome.total += 1
        problems: dict[str, str] = {}
        formulas = formula_columns.get(row_number - 1, {})
        for col in formulas:
            if col in field_of_column:
                problems[field_of_column[col]] = "单元格是公式，请复制后“选择性粘贴—数值”再导入"
        if formulas:  # the failure workbook shows what was typed, so the person sees what to fix
            cells = [formulas.get(i, cell) for i, cell in enumerate(cells)]
        raw = {name: (cells[col] if col < len(cells) else None) for name, col in sheet.columns.items()}
        ent_name = raw.pop("enterprise", None)
        found = by_name.get(name_key(ent_name)) if ent_name not in (None, "") else only
        ent, enterprise_id, category = found if found else (None, "-", None)
        if ent is None and "enterprise" not in problems:
            problems["enterprise"] = (blank_reason if ent_name in (None, "") else "不是您负责的企业，请核对企业名称")
        record = {f: v for f, v in raw.items() if not f.startswith("extra.")}
        record["extra"] = {f[6:]: v for f, v in raw.items() if f.startswith("extra.")}
        record["enterprise_id"] = enterprise_id
        try:
            values = parse_staff(record, category=category, problems=problems)
        except ValidationError as exc:
            reasons = " ".join(f"列为“{labels.get(f, f)}”，{m}！" for f, m in exc.fields.items())
            outcome.failures.append((list(cells), reasons, row_number))
            continue
        key = (enterprise_id, person_key(values.id_number))
        if key in latest:
            checked.overwritten += 1
        latest[key] = (ent, values, cells, row_number)
    return checked


def process(principal: Principal, data: bytes, progress: Callable[[int, int], None] | None = None) -> imports.Outcome:
    checked = check_workbook(data, staff.own_enterprises(principal))
    outcome, latest, overwritten = checked.outcome, checked.latest, checked.overwritten
    if progress:
        progress(outcome.total, 0)

    # a rotation runs: the people of the file who are still under the replaced key move first, so they
    # are updated (their health kept), not registered a second time
    rekey.settle(values.id_number for _, values, _, _ in latest.values())
    existing = _existing(latest)
    stamp = now()
    items = []
    for key, (ent, values, _, _) in latest.items():
        person = Staff(key[0], key[1], created_at=existing.get(key, stamp))
        staff.assign(person, values, ent, stamp=stamp)
        items.append(person)
    written = [0]

    def write(chunk: list[Staff]) -> list[Staff]:
        failed = _write_with_retry(chunk)
        written[0] += len(chunk)
        if progress:
            progress(outcome.total, min(outcome.total, written[0] + len(outcome.failures) + overwritten))
        return failed

    chunks = [items[i:i + BATCH] for i in range(0, len(items), BATCH)]
    with ThreadPoolExecutor(settings().import_writers) as pool:
        unsaved = [p for failed in pool.map(write, chunks) for p in failed]
    unsaved_keys = {(p.enterprise_id, p.person_key) for p in unsaved}
    for key, (_, _, cells, row_number) in latest.items():
        if key in unsaved_keys:
            outcome.failures.append((list(cells), "系统繁忙，该行未能保存，请稍后重新导入该行！", row_number))
    saved = [k for k in latest if k not in unsaved_keys]
    outcome.created = sum(1 for k in saved if k not in existing)
    outcome.updated = sum(1 for k in saved if k in existing) + overwritten
    created_by_enterprise: dict[str, int] = {}
    for key in saved:
        if key not in existing:
            created_by_enterprise[key[0]] = created_by_enterprise.get(key[0], 0) + 1
    for enterprise_id, created in created_by_enterprise.items():
        staff.adjust_count(enterprise_id, created)
    # searchable by name and phone: each person's terms as the manifest says they were (a retried job
    # removes what an earlier attempt wrote for a name the file has since changed)
    search_index.sync({(p.enterprise_id, p.person_key): p for p in items if (p.enterprise_id, p.person_key) not in
                       unsaved_keys}, heads={e.enterprise_id: e.head_phone for e, _, _, _ in latest.values()})
    health.register(k[1] for k in saved if k not in existing)  # late registration: match the last 14 days now
    roster.mark({(latest[k][0].category, latest[k][0].town) for k in saved})
    return outcome


def _existing(latest: dict) -> dict[tuple[str, str], object]:
    """Keys of the workbook already registered → their created_at (kept on overwrite): batched key
    reads of just the workbook's people, not a read of the enterprise."""
    keys = list(latest)
    found = {}
    for start in range(0, len(keys), 100):
        for row in Staff.batch_get(keys[start:start + 100], attributes_to_get=["enterprise_id", "person_key", "created_at"]):
            found[(row.enterprise_id, row.person_key)] = row.created_at
    return found


def _write_with_retry(chunk: list[Staff], attempts: int = 3) -> list[Staff]:
    """Batch upserts; pynamodb resends unprocessed items. After repeated errors the chunk's rows go to
    the failure workbook (the rest of the import stands, and the rows can be imported again)."""
    for attempt in range(attempts):
        try:
            with Staff.batch_write() as batch:
                for person in chunk:
                    batch.save(person)
            return []
        except PynamoDBException:
            log.warning("staff batch write failed (attempt %d)", attempt + 1, exc_info=True)
            time.sleep(0.5 * (attempt + 1))
    return chunk


